import Foundation
import MinimaCore

/// A small synthetic classification problem: features drawn from the trial's test stream,
/// labels from a random linear teacher, so training has something to learn.
func syntheticData(samples: Int = 600, testSamples: Int = 200, features: Int = 20, classes: Int = 4, seed: UInt64 = 99) -> TrainingData {
    var teacherStream = RandomStream(seed: seed, trial: 0, purpose: .testing, substream: 1)
    let teacher = (0..<(features * classes)).map { _ in teacherStream.nextGaussian() }
    func make(_ count: Int, substream: UInt32, name: String) -> Dataset {
        var stream = RandomStream(seed: seed, trial: 0, purpose: .testing, substream: substream)
        return Dataset(name: name, contentSHA256: "synthetic-\(seed)", count: count, featureCount: features, classCount: classes) { _, row in
            var scores = [Double](repeating: 0, count: classes)
            for k in 0..<features {
                let x = stream.nextGaussian()
                row[k] = Float(x)
                for c in 0..<classes { scores[c] += teacher[k * classes + c] * x }
            }
            return UInt8(scores.indices.max(by: { scores[$0] < scores[$1] })!)
        }
    }
    return TrainingData(train: make(samples, substream: 2, name: "synthetic-train"), test: make(testSamples, substream: 3, name: "synthetic-test"))
}

/// The same inputs with regression targets: 3 values per sample from a random linear teacher
/// with a tanh, so that squared error on real-valued targets is exercised.
func syntheticRegressionData(samples: Int, features: Int = 7, width: Int = 3, seed: UInt64 = 99) -> TrainingData {
    var teacherStream = RandomStream(seed: seed, trial: 0, purpose: .testing, substream: 4)
    let teacher = (0..<(features * width)).map { _ in teacherStream.nextGaussian() / Double(features).squareRoot() }
    func make(_ count: Int, substream: UInt32, name: String) -> Dataset {
        var stream = RandomStream(seed: seed, trial: 0, purpose: .testing, substream: substream)
        var x: [Float] = [], y: [Float] = []
        for _ in 0..<count {
            let row = (0..<features).map { _ in stream.nextGaussian() }
            x += row.map { Float($0) }
            y += (0..<width).map { c in Float(2 * Foundation.tanh((0..<features).reduce(0) { $0 + teacher[$1 * width + c] * row[$1] })) }
        }
        return Dataset(name: name, contentSHA256: "synthetic-regression-\(seed)", count: count, featureCount: features, features: x, targets: .values(y, width: width))
    }
    return TrainingData(train: make(samples, substream: 5, name: "synthetic-regression-train"), test: make(1, substream: 6, name: "synthetic-regression-test"))
}

/// What a network is trained to do in the gradient and curvature tests: the two losses on
/// classes, and squared error on real-valued targets.
enum Objective: CaseIterable, CustomStringConvertible {
    case crossEntropy, squaredErrorOnClasses, squaredErrorOnValues
    var loss: LossFunction { self == .crossEntropy ? .softmaxCrossEntropy : .meanSquaredError }
    var description: String { "\(self == .squaredErrorOnValues ? "mse on values" : loss.rawValue)" }
    func data(samples: Int) -> TrainingData {
        self == .squaredErrorOnValues ? syntheticRegressionData(samples: samples) : syntheticData(samples: samples, testSamples: 1, features: 7, classes: 3)
    }
}

func randomFloats(_ count: Int, substream: UInt32) -> [Float] {
    var stream = RandomStream(seed: 1234, trial: 0, purpose: .testing, substream: substream)
    return (0..<count).map { _ in Float(stream.nextSignedUnitDouble()) }
}

func trial(
    index: UInt64 = 0, hidden: [Int] = [16], activation: Activation = .relu, loss: LossFunction = .softmaxCrossEntropy,
    batch: Int = 10, lr: Double = 0.1, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
    epochs: Int = 3, initialization: Initialization = Initialization(scheme: .fanInUniform),
    schedule: LearningRateSchedule = .constant, validation: Int = 0, patience: Int? = nil, gradientTolerance: Double? = nil,
    subset: TrainingSubset = .all
) -> TrialDescription {
    TrialDescription(
        seed: 42, trialIndex: index,
        data: DataSelection(dataset: "synthetic", trainingSubset: subset, validationCount: validation),
        model: ModelSpec(hidden: hidden, activation: activation, loss: loss),
        initialization: initialization,
        optimizer: OptimizerSpec(batchSize: batch, learningRate: lr, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay),
        schedule: schedule,
        stopping: StoppingRule(maxEpochs: epochs, gradientTolerance: gradientTolerance, earlyStoppingPatience: patience))
}
