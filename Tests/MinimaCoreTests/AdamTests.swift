import Dispatch
import Foundation
import MinimaCore
import Synchronization
import Testing

@Suite("Adam")
struct AdamTests {
    static func adam(index: UInt64 = 0, hidden: [Int] = [12], batch: Int = 10, lr: Double = 0.01, weightDecay: Double = 0,
                     epochs: Int = 4, settings: [String: Double] = [:], subset: TrainingSubset = .all) -> TrialDescription {
        var description = trial(index: index, hidden: hidden, activation: .tanh, batch: batch, lr: lr, weightDecay: weightDecay, epochs: epochs, subset: subset)
        description.optimizer.kind = .adam
        description.optimizer.settings = settings
        return description
    }

    /// The scalar twin of the SIMD rule: PyTorch's Adam written out per parameter, in the same
    /// operations (the fused multiply-adds where the rule fuses), on gradients from the production
    /// kernels. One training sample, so each epoch is exactly one step on that sample's gradient.
    @Test func stepsEqualAScalarTwinBitForBit() throws {
        let data = syntheticData(features: 20)
        let (beta1, beta2, epsilon, rate, decay) = (0.8, 0.99, 1e-6, 0.01, 1e-3)
        let description = Self.adam(hidden: [12], batch: 1, lr: rate, weightDecay: decay, epochs: 6,
                                    settings: ["beta1": beta1, "beta2": beta2, "epsilon": epsilon], subset: .first(1))
        let (result, kept) = try Trainer.run(description, data: data, keepingParameters: true)
        let parameters = try #require(kept)
        #expect(result.status == .completed && result.epochs == 6)

        let network = Network(inputs: 20, hidden: [12], classes: 4, activation: .tanh)
        network.initialize(description.initialization, seed: description.seed, trialIndex: description.trialIndex)
        var w = network.canonicalParameters()
        #expect(w == Self.canonical(parameters.initial))
        // Which canonical entries are weights (decayed) and which biases.
        let isWeight = network.layers.flatMap { [Bool](repeating: true, count: $0.outputs * $0.inputs) + [Bool](repeating: false, count: $0.outputs) }
        var m = [Float](repeating: 0, count: w.count), v = m
        for t in 1...6 {
            network.setCanonicalParameters(w)
            let gradient = network.meanLossAndGradient(on: data.train, samples: [0], loss: .softmaxCrossEntropy).gradient
            let negativeStep = Float(-rate / (1 - DeterministicMath.power(beta1, t)))
            let inverseRoot = Float(1 / (1 - DeterministicMath.power(beta2, t)).squareRoot())
            for j in w.indices {
                let g = isWeight[j] ? gradient[j].addingProduct(Float(decay), w[j]) : gradient[j]
                m[j] = (Float(1 - beta1) * g).addingProduct(Float(beta1), m[j])
                v[j] = (Float(1 - beta2) * g * g).addingProduct(Float(beta2), v[j])
                let denominator = Float(epsilon).addingProduct(v[j].squareRoot(), inverseRoot)
                w[j] = w[j].addingProduct(negativeStep, m[j] / denominator)
            }
        }
        #expect(Self.canonical(parameters.final) == w)
    }

    /// Kingma & Ba's first step by hand: with bias correction m̂₁ = g and v̂₁ = g², so every
    /// parameter moves by −lr·g/(|g| + ε) — by the learning rate itself, against its gradient's
    /// sign, whatever the gradient's size — and a parameter with zero gradient does not move.
    @Test func theFirstStepMovesEveryParameterByTheLearningRateAgainstItsGradient() throws {
        let data = syntheticData(features: 20)
        let rate = 0.01
        let description = Self.adam(hidden: [12], batch: 1, lr: rate, epochs: 1, subset: .first(1))
        let (_, kept) = try Trainer.run(description, data: data, keepingParameters: true)
        let parameters = try #require(kept)
        let before = Self.canonical(parameters.initial), after = Self.canonical(parameters.final)
        let network = Network(inputs: 20, hidden: [12], classes: 4, activation: .tanh)
        network.initialize(description.initialization, seed: description.seed, trialIndex: description.trialIndex)
        let gradient = network.meanLossAndGradient(on: data.train, samples: [0], loss: .softmaxCrossEntropy).gradient
        var moved = 0
        for j in before.indices {
            let step = Double(after[j]) - Double(before[j]), g = Double(gradient[j])
            if g == 0 {
                #expect(step == 0, "parameter \(j) has no gradient and moved \(step)")
            } else {
                let expected = -rate * g / (abs(g) + 1e-8)
                #expect(abs(step - expected) <= 1e-6 + 1e-7 * abs(Double(before[j])) * 10, "parameter \(j): moved \(step), by hand \(expected)")
                moved += 1
            }
        }
        #expect(moved > before.count / 2)
    }

    @Test func theFusedBatchOnePathIsTheUnfusedOne() throws {
        let data = syntheticData(features: 20)
        let description = Self.adam(hidden: [40], batch: 1, lr: 0.003, weightDecay: 1e-3, epochs: 2)
        var unfused = TrialControl()
        unfused.fusesBatchOneUpdates = false
        #expect(try Trainer.run(description, data: data).parametersSHA256 == (try Trainer.run(description, data: data, control: unfused)).parametersSHA256)
    }

    @Test func aWarmStartOfAdamThenAdamIsAdamWithItsMomentsAndStepCount() throws {
        let data = syntheticData(features: 20)
        let straight = Self.adam(epochs: 5)
        var warmed = straight
        warmed.warmStart = WarmStart(epochs: 2, optimizer: straight.optimizer)
        warmed.stopping.maxEpochs = 3
        #expect(try Trainer.run(straight, data: data).parametersSHA256 == (try Trainer.run(warmed, data: data)).parametersSHA256)
    }

    @Test func isDeterministicAcrossRunsAndThreadsAndLearns() throws {
        let data = syntheticData(features: 20)
        let descriptions = (0..<6).map { Self.adam(index: UInt64($0), hidden: [16], batch: $0 % 2 == 0 ? 1 : 10, weightDecay: 1e-4, epochs: 3) }
        let sequential = try descriptions.map { try Trainer.run($0, data: data) }
        let concurrent = Mutex([String](repeating: "", count: descriptions.count))
        DispatchQueue.concurrentPerform(iterations: descriptions.count) { i in
            let j = descriptions.count - 1 - i
            let result = try! Trainer.run(descriptions[j], data: data)
            concurrent.withLock { $0[j] = result.parametersSHA256 }
        }
        #expect(sequential.map(\.parametersSHA256) == concurrent.withLock { $0 })
        var untrained = Self.adam(hidden: [16], epochs: 0)
        untrained.stopping.maxEpochs = 0
        let before = try Trainer.run(untrained, data: data).train.loss
        #expect(sequential[0].train.loss < 0.5 * before, "Adam lowers the training loss (\(before) → \(sequential[0].train.loss))")
    }

    @Test func itsSettingsAreDeclaredValidatedAndNamed() {
        func problem(_ change: (inout TrialDescription) -> Void) -> TrialDescriptionError? {
            var description = Self.adam()
            change(&description)
            do { try description.validate(); return nil } catch { return error }
        }
        #expect(OptimizerKind.adam.info?.settings.map(\.name) == ["beta1", "beta2", "epsilon"])
        #expect(problem { _ in } == nil)
        #expect(problem { $0.optimizer.settings = ["beta1": 1] }?.field == "optimizer.settings.beta1")
        #expect(problem { $0.optimizer.settings = ["epsilon": 0] }?.description == "optimizer.settings.epsilon: must be > 0.0, finite, got 0.0")
        #expect(problem { $0.optimizer.settings = ["rho": 0.9] }?.description == "optimizer.settings.rho: adam has no setting 'rho'; it takes beta1, beta2, epsilon")
        #expect(problem { $0.optimizer.momentum = 0.9 }?.description == "optimizer.momentum: adam takes no momentum, got 0.9")
        #expect(problem { $0.optimizer.kind = .sgd; $0.optimizer.settings = ["beta1": 0.9] }?.description == "optimizer.settings.beta1: sgd has no setting 'beta1'; it takes none")
        #expect(problem { $0.optimizer.kind = OptimizerKind("adagrad") }?.field == "optimizer.kind")
    }

    @Test func descriptionsWithoutSettingsKeepTheirBytes() throws {
        let encoded = String(decoding: try JSONEncoder().encode(trial().optimizer), as: UTF8.self)
        #expect(!encoded.contains("settings") && !encoded.contains("\"kind\""))
        let adamEncoded = String(decoding: try JSONEncoder().encode(Self.adam(settings: ["beta2": 0.99]).optimizer), as: UTF8.self)
        #expect(adamEncoded.contains(#""kind":"adam""#) && adamEncoded.contains(#""settings":{"beta2":0.99}"#))
    }

    static func canonical(_ snapshot: TrialParameters.Snapshot) -> [Float] {
        zip(snapshot.weights, snapshot.biases).flatMap { $0 + $1 }
    }
}
