import MinimaRuntime
import Testing

@Suite("Remaining time of a sweep whose points differ in cost")
struct RemainingTimeTests {
    /// Trials of known cost (as sleep trials are) dispatched in index order to the first free of
    /// `slots` workers; returns, at the moment 20% of the work is done, the progress per point,
    /// the trials running, the trials final, the time elapsed and the time actually remaining.
    static func simulate(costs: [Double], restarts: Int, slots: Int) -> (points: [PointProgress], running: Int, final: Int, elapsed: Double, remaining: Double) {
        let trials = costs.flatMap { cost in Array(repeating: cost, count: restarts) }
        var free = [Double](repeating: 0, count: slots)
        var finishes: [(time: Double, trial: Int)] = []
        for (trial, cost) in trials.enumerated() {
            let slot = free.indices.min { free[$0] < free[$1] }!
            free[slot] += cost
            finishes.append((free[slot], trial))
        }
        let makespan = free.max()!
        let total = trials.reduce(0, +)
        finishes.sort { $0.time < $1.time }
        var done = 0.0, points = [PointProgress](repeating: PointProgress(), count: costs.count), now = 0.0, final = 0
        for (time, trial) in finishes {
            now = time
            let point = trial / restarts
            points[point].done += 1
            points[point].timedTrials += 1
            points[point].timedSeconds += trials[trial]
            done += trials[trial]
            final += 1
            if done >= 0.2 * total { break }
        }
        let running = finishes.filter { $0.time > now }.count >= slots ? slots : finishes.filter { $0.time > now }.count
        return (points, running, final, now, makespan - now)
    }

    @Test(arguments: [[1.0, 1, 10, 10], [1.0, 1, 8, 8], [0.5, 1, 2, 5]])
    func afterAFifthOfTheWorkTheEstimateIsWithin30PercentOfTheTimeLeft(priors: [Double]) throws {
        // Points differ 10× in cost: 0.1 s and 1 s per trial, 20 restarts each, 2 workers. The
        // prior costs may be off (a FLOP estimate is not a measurement).
        let costs = [0.1, 0.1, 1.0, 1.0]
        let (points, running, final, elapsed, remaining) = Self.simulate(costs: costs, restarts: 20, slots: 2)
        let estimate = try #require(RemainingTime(priorCost: priors, restarts: 20).estimate(points: points, running: running))
        #expect(abs(estimate.seconds - remaining) <= 0.3 * remaining, "estimated \(estimate.seconds) s, actually \(remaining) s")
        // Counting trials as equal is far off.
        let naive = Double(80 - final) / (Double(final) / elapsed)
        #expect(abs(naive - remaining) > 0.3 * remaining, "the equal-trials estimate \(naive) s")
        #expect(estimate.workPerPoint[0] == 0 && estimate.workPerPoint[1] == 0, "finished points have no work left")
    }

    @Test func thereIsNoEstimateBeforeAnyTrialReportedItsTime() {
        #expect(RemainingTime(priorCost: [1, 2], restarts: 3).estimate(points: [PointProgress(), PointProgress()], running: 2) == nil)
    }
}
