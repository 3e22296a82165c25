import Foundation
import MinimaCore
import MinimaProtocol

/// A resolved experiment: its sweep dimensions (each a list of one or more values) and the fixed
/// settings. Every trial is one combination of the dimensions (a sweep point) and one of
/// `restarts` random restarts.
public struct ExperimentSpec: Codable, Hashable, Sendable {
    public var name: String
    public var seed: UInt64
    public var restarts: Int
    public var data: Data
    public var model: Model
    public var initialization: InitializationSpec
    public var optimizer: Optimizer
    public var schedule: Schedule
    public var stopping: Stopping
    public var metrics: [String]
    public var report: Report
    /// Re-run a sample of trials on a second worker and compare (nil: results are trusted).
    public var verify: Verify?
    /// Measurements of every trial's end point (nil: none). Absent from the canonical JSON when
    /// nil, so specs without probes keep their hash.
    public var probes: Probes?

    /// Epochs of SGD before the optimizer (nil: none). Absent from the canonical JSON when nil.
    public var warmStart: WarmStartSpec?
    /// Keep every trial's learning curve (nil: none). Absent from the canonical JSON when nil.
    public var curve: CurveRequest?

    /// A spin-glass experiment (`kind: spin-glass`) instead of networks (nil: networks). Absent
    /// from the canonical JSON of network experiments.
    public var spinGlass: SpinGlassSettings?

    /// `spin-glass:` — the spherical H-spin glass of Choromanska et al.'s Fig. 2 (left).
    public struct SpinGlassSettings: Codable, Hashable, Sendable {
        /// H, swept.
        public var order: [Int]
        /// Λ, swept.
        public var spins: [Int]
        public var couplings: CouplingRealization
        /// σ of noisy descent, swept (0: projected gradient descent).
        public var noise: [Double]
        /// Compute the index of every end point (dense Riemannian Hessian).
        public var index: Bool
    }

    /// Keep the parameters of restarts 0..<N of every sweep point beside the ledger (nil: none).
    public var keepParameters: KeepParameters?

    /// `keep-parameters: {restarts: N}`.
    public struct KeepParameters: Codable, Hashable, Sendable {
        public var restarts: Int
    }

    /// The trials whose parameters `keep-parameters` asks for, in order.
    public var trialsToKeep: [Int] {
        guard let keep = keepParameters else { return [] }
        return (0 ..< sweepPoints.count).flatMap { point in (0 ..< min(keep.restarts, restarts)).map { point * restarts + $0 } }
    }

    /// `probes:` — what to measure at each trial's end point.
    public struct Probes: Codable, Hashable, Sendable {
        /// The first N samples of each trial's training split (nil: all of them).
        public var samples: Int?
        public var hessian: HessianProbe?
        public var paths: Paths?

        public struct Paths: Codable, Hashable, Sendable {
            public var points: Int
            public var initToEnd: Bool
            /// Restarts 0..<k of each sweep point also measure the line to restart r + k's end point.
            public var betweenRestarts: Int
        }
    }

    public struct Data: Codable, Hashable, Sendable {
        public var dataset: String
        /// nil: all training samples.
        public var trainingSamples: Int?
        /// `first` or `random`.
        public var sampling: Sampling
        public var validationSamples: Int
        /// nil: all test samples.
        public var testSamples: Int?
    }

    public struct Model: Codable, Hashable, Sendable {
        /// Architectures to sweep: each a list of hidden widths.
        public var architectures: [[Int]]
        public var activation: [Activation]
        public var loss: [LossFunction]
    }

    public struct InitializationSpec: Codable, Hashable, Sendable {
        public var scheme: [InitScheme]
        public var scale: [Double]
    }

    /// `warm-start:` — epochs of SGD (or GD) before the optimizer takes over; the epochs are swept.
    public struct WarmStartSpec: Codable, Hashable, Sendable {
        public var epochs: [Int]
        public var optimizer: OptimizerSpec
    }

    public struct Optimizer: Codable, Hashable, Sendable {
        /// The optimizers swept (nil: SGD only; absent from the canonical JSON then).
        public var kind: [OptimizerKind]?
        /// Newton and saddle-free Newton settings (nil: the defaults).
        public var krylov: KrylovSettings?
        public var batchSize: [Int]
        public var learningRate: [Double]
        public var momentum: [Double]
        public var nesterov: [Bool]
        public var weightDecay: [Double]
    }

    public struct Schedule: Codable, Hashable, Sendable {
        public var kind: ScheduleKind
        public var every: Int
        public var factor: Double
    }

    public struct Stopping: Codable, Hashable, Sendable {
        public var epochs: [Int]
        public var gradientTolerance: Double?
        public var patience: Int?
        public var targetLoss: Double? = nil
        public var relativeGradientTolerance: Double? = nil
    }

    /// `verify: {fraction: 0.02}`: the fraction of finished trials re-run on a different worker.
    public struct Verify: Codable, Hashable, Sendable {
        public var fraction: Double
        public init(fraction: Double) { self.fraction = fraction }
    }

    public struct Report: Codable, Hashable, Sendable {
        /// A run counts as "near the best" when its final test loss is within this of the lowest.
        public var epsilon: Double
        public var bins: Int
    }
}

/// How `data.training-samples` picks its samples: the first N in file order, or N drawn with the
/// experiment's seed.
public enum Sampling: String, Codable, Hashable, Sendable, CaseIterable {
    case first, random
}

/// The learning-rate schedule of a spec (`schedule.kind`); its parameters are in ``ExperimentSpec/Schedule``.
public enum ScheduleKind: String, Codable, Hashable, Sendable, CaseIterable {
    case constant, step, exponential, inverse

    /// The schedule with its parameter: `factor` is the step factor, γ or k; `every` the step's period.
    public func learningRateSchedule(factor: Double, every: Int) -> LearningRateSchedule {
        switch self {
        case .constant: .constant
        case .step: .step(every: every, factor: factor)
        case .exponential: .exponential(gamma: factor)
        case .inverse: .inverse(k: factor)
        }
    }
}

/// Which couplings the restarts of a spin-glass sweep point descend: a fresh realization per
/// trial, or one realization shared by all restarts of the point.
public enum CouplingRealization: String, Codable, Hashable, Sendable, CaseIterable {
    case perTrial = "per-trial"
    case shared
}

/// One combination of the swept values.
public struct SweepPoint: Codable, Hashable, Sendable {
    public var index: Int
    public var hidden: [Int]
    public var activation: Activation
    public var loss: LossFunction
    public var initScheme: InitScheme
    public var initScale: Double
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var nesterov: Bool
    public var weightDecay: Double
    public var epochs: Int
    /// The optimizer (nil: SGD) and the warm start's epochs (nil: no warm start).
    public var optimizer: OptimizerKind? = nil
    public var warmStartEpochs: Int? = nil
    /// Spin-glass points: H, Λ and the descent noise σ (nil for networks).
    public var order: Int? = nil
    public var spins: Int? = nil
    public var noise: Double? = nil

    /// A short label for plots and tables, naming only what varies across the sweep.
    public func label(varying: Set<String>) -> String {
        var parts: [String] = []
        if let spins {
            if varying.contains("order") { parts.append("H = \(order ?? 0)") }
            if varying.contains("spins") || varying.isEmpty { parts.append("Λ = \(spins)") }
            if varying.contains("noise") { parts.append("σ = \(noise ?? 0)") }
            if varying.contains("lr") { parts.append("lr \(learningRate)") }
            if varying.contains("epochs") { parts.append("\(epochs) steps") }
            return parts.joined(separator: ", ")
        }
        if varying.contains("architecture") {
            if hidden.count == 1 {
                parts.append("n1 = \(hidden[0])")
            } else if hidden.count > 2, Set(hidden).count == 1 {
                parts.append("depth \(hidden.count + 1) (width \(hidden[0]))")
            } else {
                parts.append("hidden = " + hidden.map(String.init).joined(separator: "×"))
            }
        }
        if varying.contains("activation") { parts.append(activation.rawValue) }
        if varying.contains("loss") { parts.append(loss.rawValue) }
        if varying.contains("init") { parts.append(initScheme.rawValue) }
        if varying.contains("scale") { parts.append("scale \(initScale)") }
        if varying.contains("optimizer") { parts.append((optimizer ?? .sgd).rawValue) }
        if varying.contains("warm-start") { parts.append("after \(warmStartEpochs ?? 0) epochs") }
        if varying.contains("batch") { parts.append("batch \(batchSize)") }
        if varying.contains("lr") { parts.append("lr \(learningRate)") }
        if varying.contains("momentum") { parts.append("momentum \(momentum)") }
        if varying.contains("nesterov") { parts.append(nesterov ? "nesterov" : "classic") }
        if varying.contains("weight-decay") { parts.append("wd \(weightDecay)") }
        if varying.contains("epochs") { parts.append("\(epochs) epochs") }
        return parts.isEmpty ? "all trials" : parts.joined(separator: ", ")
    }

    /// The number of parameters of the network (for size axes).
    public func parameterCount(inputs: Int, classes: Int) -> Int {
        if let spins { return spins }
        let widths = [inputs] + hidden + [classes]
        return zip(widths, widths.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    }
}

extension ExperimentSpec {
    /// The sweep in canonical order (the order of the fields in this type, whatever the order of
    /// keys in the file), so trial indices do not depend on how the file is written.
    public var sweepPoints: [SweepPoint] {
        var points: [SweepPoint] = []
        if let glass = spinGlass {
            for order in glass.order {
                for spins in glass.spins {
                    for rate in optimizer.learningRate {
                        for noise in glass.noise {
                            for steps in stopping.epochs {
                                points.append(SweepPoint(
                                    index: points.count, hidden: [], activation: .linear, loss: .meanSquaredError, initScheme: .gaussian, initScale: 1,
                                    batchSize: 1, learningRate: rate, momentum: 0, nesterov: false, weightDecay: 0, epochs: steps,
                                    order: order, spins: spins, noise: noise))
                            }
                        }
                    }
                }
            }
            return points
        }
        // The product of the dimensions, the first outermost: a dimension added with its single
        // default value leaves every existing spec's trial indices as they were.
        var product = [SweepPoint(index: 0, hidden: [], activation: .relu, loss: .softmaxCrossEntropy, initScheme: .fanInUniform, initScale: 1,
                                  batchSize: 1, learningRate: 1, momentum: 0, nesterov: false, weightDecay: 0, epochs: 0)]
        func expand<Value>(_ values: [Value], _ set: (inout SweepPoint, Value) -> Void) {
            product = product.flatMap { point in values.map { value in var next = point; set(&next, value); return next } }
        }
        expand(model.architectures) { $0.hidden = $1 }
        expand(model.activation) { $0.activation = $1 }
        expand(model.loss) { $0.loss = $1 }
        expand(initialization.scheme) { $0.initScheme = $1 }
        expand(initialization.scale) { $0.initScale = $1 }
        expand(optimizer.kind ?? [.sgd]) { $0.optimizer = $1 == .sgd ? nil : $1 }
        expand(optimizer.batchSize) { $0.batchSize = $1 }
        expand(optimizer.learningRate) { $0.learningRate = $1 }
        expand(optimizer.momentum) { $0.momentum = $1 }
        expand(optimizer.nesterov) { $0.nesterov = $1 }
        expand(optimizer.weightDecay) { $0.weightDecay = $1 }
        expand(warmStart?.epochs.map(Optional.some) ?? [nil]) { $0.warmStartEpochs = $1 }
        expand(stopping.epochs) { $0.epochs = $1 }
        for i in product.indices { product[i].index = i }
        return product
    }

    /// Which sweep dimensions take more than one value.
    public var varyingDimensions: Set<String> {
        var varying = Set<String>()
        if let glass = spinGlass {
            if glass.order.count > 1 { varying.insert("order") }
            if glass.spins.count > 1 { varying.insert("spins") }
            if glass.noise.count > 1 { varying.insert("noise") }
            if optimizer.learningRate.count > 1 { varying.insert("lr") }
            if stopping.epochs.count > 1 { varying.insert("epochs") }
            return varying
        }
        if model.architectures.count > 1 { varying.insert("architecture") }
        if model.activation.count > 1 { varying.insert("activation") }
        if model.loss.count > 1 { varying.insert("loss") }
        if initialization.scheme.count > 1 { varying.insert("init") }
        if initialization.scale.count > 1 { varying.insert("scale") }
        if (optimizer.kind?.count ?? 1) > 1 { varying.insert("optimizer") }
        if (warmStart?.epochs.count ?? 1) > 1 { varying.insert("warm-start") }
        if optimizer.batchSize.count > 1 { varying.insert("batch") }
        if optimizer.learningRate.count > 1 { varying.insert("lr") }
        if optimizer.momentum.count > 1 { varying.insert("momentum") }
        if optimizer.nesterov.count > 1 { varying.insert("nesterov") }
        if optimizer.weightDecay.count > 1 { varying.insert("weight-decay") }
        if stopping.epochs.count > 1 { varying.insert("epochs") }
        return varying
    }

    public var trialCount: Int { sweepPoints.count * restarts }

    /// The sweep point of trial `index` (trials are numbered point by point, restarts innermost).
    public func pointIndex(ofTrial index: Int) -> Int { index / restarts }

    /// What a worker runs for trial `index`: a network or a spin glass.
    public func task(_ index: Int, point: SweepPoint, datasetSHA256: String?) -> TaskDescription {
        if let glass = spinGlass, let order = point.order, let spins = point.spins {
            return .spinGlass(SpinGlassDescription(
                seed: seed, trialIndex: UInt64(index), order: order, spins: spins,
                realization: glass.couplings == .shared ? UInt64(point.index) : UInt64(index),
                optimizer: SphereDescent(learningRate: point.learningRate, noise: point.noise ?? 0), schedule: learningRateSchedule,
                stopping: StoppingRule(maxEpochs: point.epochs, gradientTolerance: stopping.gradientTolerance), computeIndex: glass.index))
        }
        return .train(trialDescription(index, point: point, datasetSHA256: datasetSHA256))
    }

    var learningRateSchedule: LearningRateSchedule {
        schedule.kind.learningRateSchedule(factor: schedule.factor, every: schedule.every)
    }

    /// The full description of trial `index`; its randomness comes from (seed, index).
    public func trialDescription(_ index: Int, point: SweepPoint, datasetSHA256: String?) -> TrialDescription {
        let lrSchedule = learningRateSchedule
        let subset: TrainingSubset = data.trainingSamples.map { data.sampling == .random ? .sample($0) : .first($0) } ?? .all
        return TrialDescription(
            seed: seed, trialIndex: UInt64(index),
            data: DataSelection(dataset: data.dataset, datasetSHA256: datasetSHA256, trainingSubset: subset,
                                validationCount: data.validationSamples, testLimit: data.testSamples),
            model: ModelSpec(hidden: point.hidden, activation: point.activation, loss: point.loss),
            initialization: Initialization(scheme: point.initScheme, scale: point.initScale),
            optimizer: OptimizerSpec(kind: point.optimizer ?? .sgd, batchSize: point.batchSize, learningRate: point.learningRate, momentum: point.momentum,
                                     nesterov: point.nesterov, weightDecay: point.weightDecay,
                                     krylov: (point.optimizer ?? .sgd).isSecondOrder ? optimizer.krylov ?? KrylovSettings() : nil),
            schedule: lrSchedule,
            stopping: StoppingRule(maxEpochs: point.epochs, gradientTolerance: stopping.gradientTolerance, earlyStoppingPatience: stopping.patience,
                                   targetLoss: stopping.targetLoss, relativeGradientTolerance: stopping.relativeGradientTolerance),
            probes: probeRequest(forTrial: index),
            warmStart: point.warmStartEpochs.flatMap { epochs in warmStart.map { WarmStart(epochs: epochs, optimizer: $0.optimizer) } },
            curve: curve)
    }

    /// The probes of trial `index`: the spec's, with the partner of a between-restarts path.
    func probeRequest(forTrial index: Int) -> ProbeRequest? {
        guard let probes else { return nil }
        var paths: PathProbe?
        if let spec = probes.paths {
            let restart = index % restarts
            let partner = restart < spec.betweenRestarts ? UInt64(index + spec.betweenRestarts) : nil
            if spec.initToEnd || partner != nil { paths = PathProbe(points: spec.points, initToEnd: spec.initToEnd, partner: partner) }
        }
        return ProbeRequest(samples: probes.samples, hessian: probes.hessian, paths: paths)
    }

    /// The spec as canonical JSON (sorted keys): what the ledger stores and hashes.
    public var canonicalJSON: String { MinimaProtocol.canonicalJSON(self) }
}
