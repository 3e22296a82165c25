import Dispatch
import Foundation
import MinimaCore
import Synchronization
import Testing

@Suite("Spherical spin glass")
struct SpinGlassTests {
    static func description(order: Int = 3, spins: Int = 30, index: UInt64 = 0, steps: Int = 300, noise: Double = 0, computeIndex: Bool = false) -> SpinGlassDescription {
        SpinGlassDescription(seed: 9, trialIndex: index, order: order, spins: spins, realization: index, optimizer: SphereDescent(learningRate: 0.05, noise: noise),
                             stopping: StoppingRule(maxEpochs: steps), computeIndex: computeIndex)
    }

    @Test func theEnergyOfASmallInstanceIsTheSumWrittenOut() {
        // H = 3, Λ = 2: the 4 non-decreasing tuples (0,0,0), (0,0,1), (0,1,1), (1,1,1).
        let couplings = SpinGlassCouplings(order: 3, spins: 2, packed: [1, 2, -3, 0.5])
        let w: [Double] = [0.6, -1.3]
        var gradient = [0.0, 0.0]
        let energy = w.withUnsafeBufferPointer { wp in gradient.withUnsafeMutableBufferPointer { couplings.energy(wp.baseAddress!, gradient: $0.baseAddress!) } }
        // Λ^{−(H−1)/2} = 1/2.
        let byHand = 0.5 * (1 * 0.6 * 0.6 * 0.6 + 2 * 0.6 * 0.6 * -1.3 + -3 * 0.6 * -1.3 * -1.3 + 0.5 * -1.3 * -1.3 * -1.3)
        #expect(abs(energy - byHand) < 1e-12)
        let dw0 = 0.5 * (3 * 0.6 * 0.6 + 2 * 2 * 0.6 * -1.3 + -3 * -1.3 * -1.3)
        let dw1 = 0.5 * (2 * 0.6 * 0.6 + -3 * 2 * 0.6 * -1.3 + 0.5 * 3 * -1.3 * -1.3)
        #expect(abs(gradient[0] - dw0) < 1e-12 && abs(gradient[1] - dw1) < 1e-12)
    }

    @Test(arguments: [2, 3, 4])
    func theGradientAndHessianMatchFiniteDifferences(order: Int) {
        let n = order == 4 ? 9 : 17
        let couplings = SpinGlassCouplings(order: order, spins: n, seed: 3, realization: 1)
        var stream = RandomStream(seed: 5, trial: 0, purpose: .testing)
        let w = (0..<n).map { _ in stream.nextGaussian() }
        func energy(_ x: [Double]) -> (Double, [Double]) {
            var g = [Double](repeating: 0, count: n)
            let e = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { couplings.energy(xp.baseAddress!, gradient: $0.baseAddress!) } }
            return (e, g)
        }
        let (_, gradient) = energy(w)
        let hessian = w.withUnsafeBufferPointer { couplings.hessian($0.baseAddress!) }
        let h = 1e-5
        for i in 0..<n {
            var up = w, down = w
            up[i] += h
            down[i] -= h
            let (eUp, gUp) = energy(up), (eDown, gDown) = energy(down)
            #expect(abs((eUp - eDown) / (2 * h) - gradient[i]) <= 1e-6 * max(1, abs(gradient[i])), "∂H/∂w\(i)")
            for j in 0..<n {
                #expect(abs((gUp[j] - gDown[j]) / (2 * h) - hessian[j * n + i]) <= 1e-5 * max(1, abs(hessian[j * n + i])), "∂²H/∂w\(j)∂w\(i)")
            }
        }
    }

    @Test func theSphereConstraintHoldsAndTheEnergyFalls() throws {
        let result = try SpinGlassRunner.run(Self.description(steps: 400, noise: 0.05))
        #expect(result.status == .completed && result.steps == 400)
        #expect(result.sphereDeviation <= 1e-6, "max |‖w‖²/Λ − 1| = \(result.sphereDeviation)")
        #expect(result.energy < -1.3, "descent from a random start (energy ≈ 0) reaches the low band; got \(result.energy)")
    }

    @Test func descentToACriticalPointFindsAnIndexZeroMinimum() throws {
        var description = Self.description(spins: 40, steps: 20_000, computeIndex: true)
        description.stopping.gradientTolerance = 1e-6
        let result = try SpinGlassRunner.run(description)
        #expect(result.stopReason == .gradientTolerance, "‖P∇H‖ = \(result.gradientNorm) after \(result.steps) steps")
        #expect(result.index == 0 && (result.hessianMinimum ?? -1) > 0, "gradient descent ends in a minimum: index \(result.index ?? .nan), λmin \(result.hessianMinimum ?? .nan)")
    }

    @Test func trialsAreBitIdenticalAcrossRunsAndThreads() throws {
        let descriptions: [SpinGlassDescription] = (0..<6).map { (k: Int) -> SpinGlassDescription in
            Self.description(order: k % 2 == 0 ? 3 : 2, index: UInt64(k), steps: 100, noise: 0.1, computeIndex: k == 1)
        }
        let sequential = try descriptions.map { try SpinGlassRunner.run($0).deterministicFingerprint }
        let concurrent = Mutex([SpinGlassResult?](repeating: nil, count: descriptions.count))
        DispatchQueue.concurrentPerform(iterations: descriptions.count) { i in
            let k = descriptions.count - 1 - i
            let result = try! SpinGlassRunner.run(descriptions[k])
            concurrent.withLock { $0[k] = result.deterministicFingerprint }
        }
        #expect(sequential == concurrent.withLock { $0.map { $0! } })
        #expect(Set(sequential.map { (result: SpinGlassResult) in result.pointSHA256 }).count == 6)
    }

    @Test func impossibleSettingsNameTheirField() {
        #expect(throws: TrialDescriptionError(field: "order", problem: "must be 2, 3 or 4, got 5")) { try Self.description(order: 5).validate() }
        #expect(throws: TrialDescriptionError(field: "spins", problem: "H = 4 with Λ = 400 has 1082740100 distinct couplings; at most 134217728 (512 MB)")) {
            try Self.description(order: 4, spins: 400).validate()
        }
        #expect(throws: TrialDescriptionError(field: "computeIndex", problem: "the index needs a dense Λ × Λ Hessian; Λ = 2000 is more than 1000")) {
            try Self.description(order: 2, spins: 2000, computeIndex: true).validate()
        }
        var hostile = Self.description()
        hostile.optimizer.learningRate = .nan
        #expect { try hostile.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "optimizer.learningRate" }
        hostile = Self.description(noise: -.infinity)
        #expect { try hostile.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "optimizer.noise" }
        hostile = Self.description(spins: Int.max)
        #expect { try hostile.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "spins" }
        hostile = Self.description(steps: -5)
        #expect { try hostile.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "stopping.maxEpochs" }
    }
}
