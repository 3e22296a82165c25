import Foundation
@testable import MinimaCore
import Testing

@Suite("Curves between end points (Garipov et al. 2018)")
struct ConnectivityTests {
    /// f(x, y) = (y − (1 − x²))²: a valley along the parabola y = 1 − x², zero everywhere on it.
    /// Its ends (−1, 0) and (1, 0) are joined by the quadratic Bézier curve with bend (0, 2) —
    /// exactly the parabola — while the straight line between them crosses a ridge of height 1.
    static func valley(_ p: [Double]) -> Double { let r = p[1] - (1 - p[0] * p[0]); return r * r }
    static func valleyGradient(_ p: [Double]) -> [Double] { let r = p[1] - (1 - p[0] * p[0]); return [4 * p[0] * r, 2 * r] }

    @Test func aBezierFitFindsTheValleyThatTheStraightLineCrosses() {
        var curve = BentCurve(shape: .bezier, start: [-1, 0], end: [1, 0])
        #expect(curve.bend == [0, 0])   // it starts as the straight line
        let line = (0...60).map { Self.valley(curve.point(at: Double($0) / 60)) }
        #expect(LossProfile(losses: line).barrier == 1)

        var stream = RandomStream(seed: 1, trial: 0, purpose: .testing)
        let end = curve.fit(steps: 4000, rate: { 0.05 * BentCurve.garipovFactor(progress: Double($0) / 4000) }, momentum: 0.9, stream: &stream) { point, _ in
            Self.valleyGradient(point)
        }
        #expect(end == .completed)
        #expect(abs(curve.bend[0]) < 1e-3 && abs(curve.bend[1] - 2) < 1e-3)
        let along = (0...60).map { Self.valley(curve.point(at: Double($0) / 60)) }
        #expect(LossProfile(losses: along).barrier < 1e-5)
        // The ends never move: t = 0 and t = 1 are the end points bit for bit.
        #expect(curve.point(at: 0) == [-1, 0] && curve.point(at: 1) == [1, 0])
        // The parabola's length, ∫₀¹ ‖θ′(t)‖ dt = √5 + asinh(2)/2 ≈ 2.958, as the polyline samples it.
        #expect(abs(curve.length(points: 1001) - (5.0.squareRoot() + asinh(2) / 2)) < 1e-5)
    }

    @Test func aPolygonalChainBendsTowardTheValleyAndLowersTheBarrier() {
        var curve = BentCurve(shape: .polychain, start: [-1, 0], end: [1, 0])
        var stream = RandomStream(seed: 1, trial: 0, purpose: .testing)
        _ = curve.fit(steps: 4000, rate: { _ in 0.01 }, momentum: 0.9, stream: &stream) { point, _ in Self.valleyGradient(point) }
        let along = (0...60).map { Self.valley(curve.point(at: Double($0) / 60)) }
        // Two segments cannot follow a parabola, but the bend rises into the valley's side.
        #expect(curve.bend[1] > 0.5 && LossProfile(losses: along).barrier < 0.5)
        #expect(CurveShape.polychain.weights(at: 0.5) == (0, 1, 0) && CurveShape.bezier.weights(at: 0.5) == (0.25, 0.5, 0.25))
    }

    @Test func aFitThatDivergesKeepsTheLastFiniteBendAndOneThatIsCancelledSaysSo() {
        var curve = BentCurve(shape: .bezier, start: [-1, 0], end: [1, 0])
        var stream = RandomStream(seed: 1, trial: 0, purpose: .testing)
        let diverged = curve.fit(steps: 100, rate: { _ in 1e300 }, momentum: 0, stream: &stream) { point, _ in Self.valleyGradient(point).map { $0 + 1 } }
        #expect(diverged == .diverged && curve.bend.allSatisfy(\.isFinite))
        let cancelled = curve.fit(steps: 100, rate: { _ in 0.01 }, momentum: 0, stream: &stream) { _, step in step < 3 ? [0, 0] : nil }
        #expect(cancelled == .cancelled)
    }

    static func description(epochs: Int = 2, shapes: [CurveShape] = [.bezier, .polychain], weightDecay: Double = 0) -> ConnectivityDescription {
        ConnectivityDescription(trialIndex: 5, ends: trial(index: 10, hidden: [8], batch: 20, lr: 0.05, weightDecay: weightDecay, epochs: 3), partner: 11,
                                shapes: shapes, fit: CurveFitSettings(epochs: epochs, batchSize: 25, learningRate: 0.05, momentum: 0.9), points: 21, samples: 150)
    }

    @Test func theEndsAreTheirNetworkTrialsAndTheLineIsThePathProbes() throws {
        let data = syntheticData(features: 20)
        let description = Self.description(weightDecay: 1e-3)
        let result = try ConnectivityRunner.run(description, data: data)
        #expect(result.status == .completed && result.ends.map(\.trialIndex) == [10, 11])

        // Each end is the network trial of that index, bit for bit.
        for (which, end) in result.ends.enumerated() {
            let network = try Trainer.run(description.end(which), data: data)
            #expect(end.parametersSHA256 == network.parametersSHA256 && end.train == network.train && end.test == network.test)
        }
        // The straight line is the path probe's line from end 0 to its partner, on the same
        // samples, with weight decay in the objective: the same numbers.
        var probed = description.end(0)
        probed.probes = ProbeRequest(samples: 150, paths: PathProbe(points: 21, initToEnd: false, partner: 11))
        let path = try #require(try Trainer.run(probed, data: data).probes?.paths?.toPartner)
        #expect(path.partnerParametersSHA256 == result.ends[1].parametersSHA256)
        #expect(result.line?.trainLoss == path.profile)

        // Every curve starts and ends at the ends' values, and bends below the line's ridge.
        let line = try #require(result.line)
        #expect(result.curves.map(\.shape) == [.bezier, .polychain])
        for curve in result.curves {
            #expect(curve.fit == .completed && curve.profiles.trainLoss.losses.count == 21)
            #expect(curve.profiles.trainLoss.losses.first == line.trainLoss.losses.first && curve.profiles.trainLoss.losses.last == line.trainLoss.losses.last)
            #expect(curve.profiles.testError.losses.first == line.testError.losses.first)
            #expect(curve.profiles.trainLoss.barrier < line.trainLoss.barrier && curve.profiles.length > line.length)
        }
    }

    @Test func theSameDescriptionGivesTheSameBitsAndEachShapeItsOwnDraws() throws {
        let data = syntheticData(features: 20)
        let first = try ConnectivityRunner.run(Self.description(), data: data)
        let again = try ConnectivityRunner.run(Self.description(), data: data)
        #expect(first.deterministicFingerprint == again.deterministicFingerprint)
        // Fitting one shape alone draws what it drew beside the other.
        let alone = try ConnectivityRunner.run(Self.description(shapes: [.polychain]), data: data)
        #expect(alone.curves == [first.curves[1]])
        // Zero fit epochs leave the straight line: the Bézier curve's profile is the line's
        // (up to the float32 rounding of the two formulas).
        let straight = try ConnectivityRunner.run(Self.description(epochs: 0, shapes: [.bezier]), data: data)
        let line = try #require(straight.line)
        for (a, b) in zip(straight.curves[0].profiles.trainLoss.losses, line.trainLoss.losses) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b))) }
    }

    @Test func thePlaneThroughTheEndsAndTheBendHoldsThemAndTheCurve() throws {
        let data = syntheticData(features: 20)
        var description = Self.description(shapes: [.bezier])
        description.plane = PlaneSettings(points: 9, margin: 0)
        let result = try ConnectivityRunner.run(description, data: data)
        let plane = try #require(result.plane), line = try #require(result.line)
        #expect(plane.shape == .bezier && plane.values.count == 81 && plane.start == [0, 0] && plane.end[1] == 0)
        // With no margin the grid's first row runs from end 0 (exactly: the origin plus nothing)
        // to end 1 (up to rounding), when the bend lies between them along the ends' axis.
        if plane.bend[0] >= 0 && plane.bend[0] <= plane.end[0] {
            #expect(plane.values[0] == line.trainLoss.losses.first)
            #expect(abs(plane.values[8] - line.trainLoss.losses.last!) <= 1e-4 * line.trainLoss.losses.last!)
        }
        #expect(plane.x.lowerBound <= 0 && plane.x.upperBound >= plane.end[0] && plane.y.upperBound >= plane.bend[1] && plane.bend[1] > 0)
        // The same bits again; without a plane the result has none (and no "plane" key).
        #expect(try ConnectivityRunner.run(description, data: data).plane == plane)
        description.plane = nil
        let without = try ConnectivityRunner.run(description, data: data)
        #expect(without.plane == nil && without.curves == result.curves)
        #expect(!String(decoding: try JSONEncoder().encode(without), as: UTF8.self).contains("plane"))
        description.plane = PlaneSettings(points: 1000, margin: .nan)
        #expect(throws: TrialDescriptionError(field: "plane.points", problem: "must be in 2...201, got 1000")) { try description.validate() }
    }

    @Test func impossibleDescriptionsNameTheirField() {
        func problem(_ change: (inout ConnectivityDescription) -> Void) -> String? {
            var description = Self.description()
            change(&description)
            do { try description.validate(); return nil } catch { return error.description }
        }
        #expect(problem { $0.partner = 10 } == "partner: a curve needs two different restarts, got 10 twice")
        #expect(problem { $0.shapes = [] } == "shapes: at least one curve shape (bezier, polychain)")
        #expect(problem { $0.shapes = [.bezier, .bezier] } == "shapes: each shape at most once, got [\"bezier\", \"bezier\"]")
        #expect(problem { $0.points = 1 } == "points: must be in 2...10001, got 1")
        #expect(problem { $0.points = .max } == "points: must be in 2...10001, got \(Int.max)")
        #expect(problem { $0.samples = 0 } == "samples: must be ≥ 1, got 0")
        #expect(problem { $0.fit.learningRate = .nan } == "fit.learningRate: must be > 0 and ≤ 1000, got nan")
        #expect(problem { $0.fit.learningRate = .infinity } == "fit.learningRate: must be > 0 and ≤ 1000, got inf")
        #expect(problem { $0.fit.momentum = 1 } == "fit.momentum: must be in [0, 1), got 1.0")
        #expect(problem { $0.fit.batchSize = 0 } == "fit.batchSize: must be in 1...1000000, got 0")
        #expect(problem { $0.fit.epochs = -1 } == "fit.epochs: must be in 0...100000, got -1")
        #expect(problem { $0.ends.optimizer.batchSize = 0 }?.hasPrefix("ends.optimizer.batchSize") == true)
        #expect(problem { $0.ends.probes = ProbeRequest(samples: 10) } == "ends.probes: the ends of a curve are trained without probes")
    }

    @Test func aCancelledTrialStopsAndSaysSo() throws {
        let data = syntheticData(features: 20)
        let calls = Counter()
        let result = try ConnectivityRunner.run(Self.description(epochs: 50), data: data, control: TrialControl(isCancelled: { calls.next() > 200 }))
        #expect(result.status == .cancelled)
    }
}

/// A thread-safe call counter for cancellation hooks.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
}
