import Foundation
import Testing
@testable import MinimaCore

/// Counts the questions a computation asks its ``TrialControl`` and answers "cancelled" from a
/// chosen question on: where and how often a long computation looks at the clock, without a clock.
final class CancellationScript: @unchecked Sendable {
    private let lock = NSLock()
    private var asked = 0
    private let cancelFrom: Int

    init(cancelFrom: Int = .max) { self.cancelFrom = cancelFrom }

    var questions: Int { lock.withLock { asked } }
    var control: TrialControl {
        TrialControl(isCancelled: { [self] in lock.withLock { asked += 1; return asked >= cancelFrom } })
    }
}

// Issue 18, item 7: an exact spectrum under a 5 s lease ran for 75 s and was reported completed.
// A long computation asks whether it is cancelled at its natural steps; these tests cancel it
// right after everything before the exact stage has asked, which the exact stage used to ignore.
@Suite("Cancellation at natural steps")
struct CancellationTests {
    @Test func anExactHessianSpectrumStopsWithinOneProductOfBeingCancelled() throws {
        let data = syntheticData(features: 20)
        var withoutExact = ProbeTests.description(.tanh, hessian: HessianProbe(extremes: 2, exactBelow: 0))
        let before = CancellationScript()
        _ = try Trainer.run(withoutExact, data: data, control: before.control)
        withoutExact.probes?.hessian?.exactBelow = 3000
        let exact = withoutExact

        // Everything up to the exact stage asked `before.questions` times; it asks again before
        // each of its 1,004 Hessian-vector products and every 16 steps of the reduction.
        let counting = CancellationScript()
        let finished = try Trainer.run(exact, data: data, control: counting.control)
        #expect(finished.status == .completed && finished.probes?.hessian?.exact != nil)
        #expect(counting.questions >= before.questions + 1004 + 1004 / 16, "\(counting.questions) questions, \(before.questions) before the exact stage")

        let cancelled = CancellationScript(cancelFrom: before.questions + 2)
        let result = try Trainer.run(exact, data: data, control: cancelled.control)
        #expect(result.status == .cancelled)
        #expect(cancelled.questions == before.questions + 2, "it went on asking after it was cancelled")
    }

    @Test func aSpinGlassIndexStopsWhenCancelled() throws {
        let description = SpinGlassTests.description(spins: 120, steps: 300, computeIndex: true)
        let before = CancellationScript()
        var plain = description
        plain.computeIndex = false
        _ = try SpinGlassRunner.run(plain, control: before.control)
        let counting = CancellationScript()
        #expect(try SpinGlassRunner.run(description, control: counting.control).index != nil)
        #expect(counting.questions >= before.questions + 120 / 16)

        let cancelled = CancellationScript(cancelFrom: before.questions + 2)
        #expect(try SpinGlassRunner.run(description, control: cancelled.control).status == .cancelled)
    }
}

// Issue 18, item 6: memory was limited per trial, not per worker. A worker admits trials by
// these estimates; they must be near the truth for the large buffers and never trap on a
// description that has not been validated yet.
@Suite("Memory estimates")
struct MemoryEstimateTests {
    @Test func aMaximalSpinGlassIsEstimatedAtItsCouplings() {
        // H = 4, Λ = 236: C(239, 4) = 131,115,985 float couplings, 524 MB.
        let bytes = SpinGlassTests.description(order: 4, spins: 236).estimatedMemoryBytes
        #expect(bytes >= 524_463_940 && bytes < 540_000_000, "\(bytes)")
        let withIndex = SpinGlassTests.description(order: 3, spins: 1000, computeIndex: true).estimatedMemoryBytes
        #expect(withIndex >= 3 * 1000 * 1000 * 8, "the dense Hessian and its reduction: \(withIndex)")
    }

    @Test func anExactHessianIsCountedOnlyWhenItIsExactAndAtItsLargestWhenTheDataIsUnknown() {
        let shape = DatasetShape(inputs: 20, outputs: 4)
        let exact = ProbeTests.description(.tanh, hessian: HessianProbe(extremes: 2, exactBelow: 3000))   // 1,004 parameters
        let lanczosOnly = ProbeTests.description(.tanh, hessian: HessianProbe(extremes: 2, exactBelow: 1000))
        #expect(exact.estimatedMemoryBytes(dataset: shape) - lanczosOnly.estimatedMemoryBytes(dataset: shape) == 1004 * 1004 * 16)
        // Not loaded yet: 1,024 features are assumed, and the dense matrix counted at exactBelow².
        #expect(lanczosOnly.estimatedMemoryBytes(dataset: nil) >= 1000 * 1000 * 16)
    }

    @Test func aCriticalPointSearchCountsItsKrylovSpaceAndAtSixtyFourBitsItsCopyOfTheData() {
        let shape = DatasetShape(inputs: 20, outputs: 4)
        var sgd = ProbeTests.description(.tanh)                  // 1,004 parameters
        sgd.probes = nil
        sgd.data.trainingSubset = .first(1000)
        var damped = sgd
        damped.optimizer.kind = .newtonMRLM
        damped.optimizer.settings = ["maxit": 100]
        let k = 100.0, p = 1004.0
        let extra = damped.estimatedMemoryBytes(dataset: shape) - sgd.estimatedMemoryBytes(dataset: shape)
        #expect(Double(extra) >= (k + 1) * p * 8 + 2 * (2 * k + 1) * k * 8, "the Lanczos basis and the damped least-squares problem: \(extra)")
        var wide = damped
        wide.optimizer.settings = ["maxit": 100, "precision": 64]
        let data = wide.estimatedMemoryBytes(dataset: shape) - damped.estimatedMemoryBytes(dataset: shape)
        #expect(data >= 1000 * 24 * 8, "the samples as doubles: \(data)")
        var hostile = damped
        hostile.optimizer.settings = ["maxit": .nan]
        #expect(hostile.estimatedMemoryBytes(dataset: shape) == 1 << 62)
    }

    @Test func hostileDescriptionsSaturateInsteadOfTrapping() {
        var network = ProbeTests.description(.relu)
        network.model.hidden = [Int.max, Int.max, 5]
        network.optimizer.batchSize = Int.max
        network.optimizer.krylov = KrylovSettings(dimension: Int.max)
        #expect(network.estimatedMemoryBytes(dataset: DatasetShape(inputs: Int.max, outputs: Int.max)) == 1 << 62)
        var glass = SpinGlassTests.description()
        glass.spins = Int.max
        glass.order = Int.max
        #expect(glass.estimatedMemoryBytes == 1 << 62)
    }
}
