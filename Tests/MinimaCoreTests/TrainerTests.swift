import Dispatch
import MinimaCore
import Synchronization
import Testing

@Suite("Training")
struct TrainerTests {
    @Test func learnsTheSyntheticTeacher() throws {
        let data = syntheticData()
        let result = try Trainer.run(trial(hidden: [32], epochs: 10), data: data)
        #expect(result.status == .completed)
        #expect(result.stopReason == .maxEpochs)
        #expect(result.epochs == 10)
        #expect(result.test.error! < 0.25, "chance is 0.75")
        #expect(result.train.samples == 600 && result.test.samples == 200)
    }

    static let variants: [TrialDescription] = [
        trial(momentum: 0.9), trial(momentum: 0.9, nesterov: true), trial(weightDecay: 1e-3),
        trial(schedule: .step(every: 1, factor: 0.5)), trial(schedule: .exponential(gamma: 0.9)), trial(schedule: .inverse(k: 1)),
        trial(activation: .tanh), trial(activation: .sigmoid, lr: 0.5), trial(activation: .linear), trial(loss: .meanSquaredError),
        trial(hidden: []), trial(hidden: [40, 20, 10]),
        trial(initialization: Initialization(scheme: .uniform, scale: 0.1)), trial(initialization: Initialization(scheme: .gaussian, scale: 0.1)),
        trial(initialization: Initialization(scheme: .heNormal)), trial(initialization: Initialization(scheme: .orthogonal)),
    ]

    @Test(arguments: variants)
    func everyOptimizerScheduleActivationAndInitTrains(description: TrialDescription) throws {
        let result = try Trainer.run(description, data: syntheticData())
        #expect(result.status == .completed)
        #expect(result.test.error! < 0.6, "chance is 0.75")
    }

    @Test func earlyStoppingRestoresTheBestEpoch() throws {
        // A large constant rate overshoots after the first epochs, so validation loss stops improving.
        let result = try Trainer.run(trial(lr: 2, epochs: 40, validation: 100, patience: 2), data: syntheticData())
        #expect(result.stopReason == .earlyStopping)
        #expect(result.epochs < 40)
        #expect(result.keptEpoch == result.epochs - 2)
        #expect(result.validation?.samples == 100)
        #expect(result.train.samples == 500)
    }

    @Test func gradientToleranceStopsTraining() throws {
        let result = try Trainer.run(trial(hidden: [], epochs: 500, gradientTolerance: 0.5), data: syntheticData())
        #expect(result.stopReason == .gradientTolerance)
        #expect(try #require(result.gradientNorm) < 0.5)
        #expect(result.epochs < 500)
    }

    @Test func divergenceEndsTheTrialWithFiniteMetrics() throws {
        let result = try Trainer.run(trial(hidden: [64], activation: .linear, loss: .meanSquaredError, lr: 1e4, epochs: 5), data: syntheticData())
        #expect(result.status == .diverged)
        #expect(result.stopReason == .diverged)
        #expect(result.train.loss.isFinite && result.test.loss.isFinite)
        #expect(result.keptEpoch == result.epochs)
    }

    @Test func cancellationEndsTheTrial() throws {
        let result = try Trainer.run(trial(epochs: 50), data: syntheticData(), control: TrialControl(isCancelled: { true }))
        #expect(result.status == .cancelled)
        #expect(result.epochs <= 1)
    }

    @Test func subsetsAndValidationSplitsAreDisjointAndSeeded() throws {
        let selection = DataSelection(dataset: "x", trainingSubset: .sample(300), validationCount: 50)
        let split = try SampleSplit(selection: selection, seed: 1, trialIndex: 2, trainingCount: 600, testCount: 200)
        #expect(split.training.count == 250 && split.validation.count == 50)
        #expect(Set(split.training).isDisjoint(with: split.validation))
        #expect(split == (try SampleSplit(selection: selection, seed: 1, trialIndex: 2, trainingCount: 600, testCount: 200)))
        #expect(split != (try SampleSplit(selection: selection, seed: 1, trialIndex: 3, trainingCount: 600, testCount: 200)))
        let first = try SampleSplit(selection: DataSelection(dataset: "x", trainingSubset: .first(10)), seed: 1, trialIndex: 0, trainingCount: 600, testCount: 200)
        #expect(first.training == (0..<Int32(10)).map { $0 })
    }
}

@Suite("Determinism")
struct DeterminismTests {
    static let descriptions = (0..<8).map { trial(index: UInt64($0), hidden: [24], momentum: $0 % 2 == 0 ? 0 : 0.9, epochs: 2) }

    func fingerprints(_ results: [TrialResult]) -> [TrialResult] { results.map(\.deterministicFingerprint) }

    @Test func theSameDescriptionGivesTheSameBits() throws {
        let data = syntheticData()
        let first = try Trainer.run(Self.descriptions[1], data: data)
        let second = try Trainer.run(Self.descriptions[1], data: data)
        #expect(first.deterministicFingerprint == second.deterministicFingerprint)
        #expect(first.parametersSHA256 == second.parametersSHA256)
        let other = try Trainer.run(Self.descriptions[2], data: data)
        #expect(first.parametersSHA256 != other.parametersSHA256)
    }

    @Test func resultsDoNotDependOnThreadCountOrOrder() throws {
        let data = syntheticData()
        let sequential = try Self.descriptions.map { try Trainer.run($0, data: data) }
        let reversed = try Self.descriptions.reversed().map { try Trainer.run($0, data: data) }.reversed()
        let concurrent = Mutex([TrialResult?](repeating: nil, count: Self.descriptions.count))
        DispatchQueue.concurrentPerform(iterations: Self.descriptions.count) { i in
            let result = try! Trainer.run(Self.descriptions[i], data: data)
            concurrent.withLock { $0[i] = result }
        }
        let parallel = concurrent.withLock { $0.map { $0! } }
        #expect(fingerprints(sequential) == fingerprints(Array(reversed)))
        #expect(fingerprints(sequential) == fingerprints(parallel))
    }

    static let batchOneVariants: [TrialDescription] = [
        trial(batch: 1, lr: 0.01, epochs: 2), trial(hidden: [40], batch: 1, lr: 0.01, momentum: 0.9, epochs: 2),
        trial(batch: 1, lr: 0.01, momentum: 0.5, nesterov: true, weightDecay: 1e-3, epochs: 2),
        trial(hidden: [], batch: 1, lr: 0.01, epochs: 2), trial(hidden: [20, 10], activation: .tanh, batch: 1, lr: 0.01, epochs: 2),
    ]

    @Test(arguments: batchOneVariants)
    func fusingBatchOneUpdatesIntoTheNextForwardPassChangesNoBit(description: TrialDescription) throws {
        let data = syntheticData()
        var unfused = TrialControl()
        unfused.fusesBatchOneUpdates = false
        let fused = try Trainer.run(description, data: data)
        let plain = try Trainer.run(description, data: data, control: unfused)
        #expect(fused.deterministicFingerprint == plain.deterministicFingerprint)
        #expect(fused.status == .completed)
    }

    @Test func evaluationDoesNotDependOnHowSamplesAreGrouped() throws {
        // Batch size changes the training trajectory, but the final metrics of equal weights must
        // not depend on evaluation blocking: a run with the test set limited to a prefix gives
        // the same train metrics.
        let data = syntheticData()
        let full = try Trainer.run(trial(epochs: 1), data: data)
        var limited = trial(epochs: 1)
        limited.data.testLimit = 37
        let partial = try Trainer.run(limited, data: data)
        #expect(full.train == partial.train)
        #expect(full.parametersSHA256 == partial.parametersSHA256)
    }
}

@Suite("Validation of trial descriptions")
struct ValidationTests {
    static let invalid: [(TrialDescription, String)] = [
        (trial(batch: 0), "optimizer.batchSize"), (trial(lr: -1), "optimizer.learningRate"), (trial(lr: .nan), "optimizer.learningRate"),
        (trial(momentum: 1), "optimizer.momentum"), (trial(nesterov: true), "optimizer.nesterov"), (trial(weightDecay: -1), "optimizer.weightDecay"),
        (trial(epochs: -1), "stopping.maxEpochs"), (trial(hidden: [10, 0]), "model.hidden[1]"),
        (trial(initialization: Initialization(scheme: .gaussian, scale: 0)), "initialization.scale"),
        (trial(schedule: .step(every: 0, factor: 0.5)), "schedule.every"), (trial(patience: 3), "stopping.earlyStoppingPatience"),
        (trial(gradientTolerance: -1), "stopping.gradientTolerance"), (trial(subset: .first(0)), "data.trainingSubset"),
    ]

    @Test(arguments: invalid)
    func invalidFieldsAreNamed(description: TrialDescription, field: String) {
        #expect(throws: TrialDescriptionError.self) { try description.validate() }
        do { try description.validate() } catch { #expect(error.field == field) }
    }

    @Test func impossibleSelectionsAreReportedWithTheirSizes() {
        let data = syntheticData()
        #expect { try Trainer.run(trial(subset: .first(601)), data: data) } throws: { error in
            (error as? TrialDescriptionError)?.problem.contains("600") == true
        }
        #expect { try Trainer.run(trial(validation: 600), data: data) } throws: { error in
            (error as? TrialDescriptionError)?.field == "data.validationCount"
        }
        var wrongData = trial()
        wrongData.data.datasetSHA256 = "0000"
        #expect { try Trainer.run(wrongData, data: data) } throws: { error in
            (error as? TrialDescriptionError)?.field == "data.datasetSHA256"
        }
    }
}

@Suite("Initialization")
struct InitializationTests {
    @Test(arguments: [(8, 20), (20, 8), (13, 13)])
    func orthogonalWeightsHaveOrthonormalRowsOrColumns(outputs: Int, inputs: Int) {
        let network = Network(inputs: inputs, hidden: [], classes: outputs, activation: .linear)
        network.initialize(Initialization(scheme: .orthogonal, scale: 2), seed: 3, trialIndex: 0)
        let w = network.weights(layer: 0).map(Double.init)
        let small = min(outputs, inputs)
        for p in 0..<small {
            for q in 0..<small {
                var dot = 0.0
                if outputs <= inputs {
                    for i in 0..<inputs { dot += w[p * inputs + i] * w[q * inputs + i] }
                } else {
                    for o in 0..<outputs { dot += w[o * inputs + p] * w[o * inputs + q] }
                }
                #expect(abs(dot - (p == q ? 4 : 0)) < 1e-5)
            }
        }
    }

    static let spreads: [(Initialization, Double)] = [
        (Initialization(scheme: .uniform, scale: 0.5), 0.5 / 3.0.squareRoot()),
        // The standard deviations of the schemes as Keras, JAX and PyTorch define them.
        (Initialization(scheme: .fanInUniform), 1 / (3.0 * 400).squareRoot()),
        (Initialization(scheme: .lecunUniform), 1 / 400.0.squareRoot()),
        (Initialization(scheme: .lecunNormal), 1 / 400.0.squareRoot()),
        (Initialization(scheme: .glorotNormal), (2.0 / (400 + 300)).squareRoot()),
        (Initialization(scheme: .gaussian, scale: 0.2), 0.2),
        (Initialization(scheme: .glorotUniform), (2.0 / (400 + 300)).squareRoot()),
        (Initialization(scheme: .heNormal), (2.0 / 400).squareRoot()),
        (Initialization(scheme: .fanInNormal), (1.0 / 400).squareRoot()),
    ]

    @Test(arguments: [(InitScheme.lecunNormal, (1.0 / 400).squareRoot()), (.glorotNormal, (2.0 / 700).squareRoot())])
    func truncatedNormalsStayWithinTwoOfTheirUntruncatedDeviations(scheme: InitScheme, deviation: Double) {
        let network = Network(inputs: 400, hidden: [], classes: 300, activation: .linear)
        network.initialize(Initialization(scheme: scheme), seed: 5, trialIndex: 0)
        let bound = 2 * deviation / 0.87962566103423978
        let w = network.weights(layer: 0).map(Double.init)
        #expect(w.allSatisfy { abs($0) <= bound * (1 + 1e-6) })
        #expect(w.contains { abs($0) > 0.95 * bound }, "the tails reach the truncation point")
    }

    @Test(arguments: spreads)
    func weightsHaveTheRequestedSpread(initialization: Initialization, standardDeviation: Double) {
        let network = Network(inputs: 400, hidden: [], classes: 300, activation: .linear)
        network.initialize(initialization, seed: 5, trialIndex: 0)
        let w = network.weights(layer: 0).map(Double.init)
        let variance = w.reduce(0) { $0 + $1 * $1 } / Double(w.count)
        #expect(abs(variance.squareRoot() / standardDeviation - 1) < 0.02)
        #expect(network.biases(layer: 0).allSatisfy { $0 == 0 })
    }
}
