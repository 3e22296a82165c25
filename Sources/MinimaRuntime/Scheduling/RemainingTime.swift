/// How long the rest of a sweep will take, when its points differ in cost.
///
/// Counting trials as equal says "2 minutes left" for ten minutes when the later points are
/// wider. This estimate weighs each point's remaining trials by a cost per trial: measured
/// (the mean reported time of the point's finished trials) where there is a measurement, and
/// otherwise the point's prior cost (e.g. its FLOP estimate) converted to seconds at the rate
/// measured on the points that have finished trials. The wall-clock time is that work divided
/// by the trials running at once. Pure arithmetic: no clock, no I/O.
public struct RemainingTime: Sendable {
    /// A trial's relative cost at each sweep point, in any unit (GFLOP, milliseconds, …).
    public var priorCost: [Double]
    public var restarts: Int

    public init(priorCost: [Double], restarts: Int) {
        self.priorCost = priorCost
        self.restarts = restarts
    }

    public struct Estimate: Sendable, Equatable {
        /// Wall-clock seconds until every point is final.
        public var seconds: Double
        /// Seconds of trial work left at each point (0 when it is final).
        public var workPerPoint: [Double]
    }

    /// `points`: the progress of each point; `running`: trials running now (the parallelism).
    /// Nil until some trial has reported its time.
    public func estimate(points: [PointProgress], running: Int) -> Estimate? {
        let count = min(points.count, priorCost.count)
        var measuredSeconds = 0.0, measuredPrior = 0.0
        for p in 0..<count where points[p].timedTrials > 0 {
            measuredSeconds += points[p].timedSeconds
            measuredPrior += Double(points[p].timedTrials) * priorCost[p]
        }
        guard measuredSeconds > 0 || measuredPrior > 0 else { return nil }
        let secondsPerUnit = measuredPrior > 0 ? measuredSeconds / measuredPrior : 0
        var work = [Double](repeating: 0, count: count)
        for p in 0..<count {
            let left = max(0, restarts - points[p].done - points[p].failed)
            guard left > 0 else { continue }
            let perTrial = points[p].timedTrials > 0 ? points[p].timedSeconds / Double(points[p].timedTrials) : priorCost[p] * secondsPerUnit
            work[p] = Double(left) * perTrial
        }
        return Estimate(seconds: work.reduce(0, +) / Double(max(1, running)), workPerPoint: work)
    }
}

extension RemainingTime {
    /// The time left of a running coordinator: the weighed estimate over the trials running at
    /// once (running leases include prefetched ones; the workers' threads bound what runs), or,
    /// before any trial has reported its time, the trials left at the rate so far (∞: unknown).
    public func timeLeft(_ progress: CoordinatorProgress) -> (seconds: Double, estimate: Estimate?) {
        let parallel = min(progress.counts.running, progress.threads ?? progress.counts.running)
        let estimate = estimate(points: progress.points, running: parallel)
        let rate = progress.seconds > 0 ? Double(progress.statistics.resultsStored) / progress.seconds : 0
        return (estimate?.seconds ?? (rate > 0 ? Double(progress.counts.pending + progress.counts.running) / rate : .infinity), estimate)
    }
}
