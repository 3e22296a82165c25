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

    /// The spin glass's section (`kind: spin-glass`; nil: networks). Absent from the canonical
    /// JSON of network experiments. Its type and everything that reads it are the spin-glass
    /// kind's (`Kinds/SpinGlass/`).
    public var spinGlass: SpinGlassSettings?

    /// The section of a kind added through ``ExperimentKinds/register(_:)`` (nil for networks and
    /// spin glasses). Absent from the canonical JSON when nil, so existing specs keep their hash.
    public var section: KindSection? = nil

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
        /// The listed probes (``ProbeMethods``: `probes.slice`, …) with every declared setting.
        public var registered: [String: ProbeSettings]?

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
        /// The optimizers' own settings (Adam's beta1, …) by name; each applies to the swept
        /// kinds that declare it (nil: none; absent from the canonical JSON then).
        public var settings: [String: Double]? = nil
        /// `optimizer.variants`: optimizers compared side by side, each with its own learning
        /// rates, momentum, Krylov settings and own settings (nil: the kind/learning-rate sweep).
        public var variants: [Variant]? = nil

        /// One entry of `optimizer.variants`.
        public struct Variant: Codable, Hashable, Sendable {
            /// Its name in labels and tables (default: the kind; unique within the spec).
            public var name: String
            public var kind: OptimizerKind
            /// Swept within the variant (one value for optimizers without a learning rate).
            public var learningRate: [Double]
            public var momentum: Double
            public var nesterov: Bool
            public var krylov: KrylovSettings?
            public var settings: [String: Double]?
            /// Its own epoch (step) budget instead of stopping.epochs (a Newton step costs tens
            /// of epochs' work).
            public var epochs: Int? = nil
        }

        /// The variant a sweep point uses, if the spec has variants.
        public func variant(of point: SweepPoint) -> Variant? { point.variant.flatMap { variants?[$0] } }
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
        /// Training losses whose time and work to reach the report gives (from learning curves).
        public var targets: [Double]? = nil
        /// More bins than this draw nothing a reader can see and cost memory per sweep point.
        public static let maximumBins = 10_000
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
    /// With `optimizer.variants`: which, and its name (for labels).
    public var variant: Int? = nil
    public var variantName: String? = nil
    public var warmStartEpochs: Int? = nil
    /// Spin-glass points: H, Λ and the descent noise σ (nil for networks).
    public var order: Int? = nil
    public var spins: Int? = nil
    public var noise: Double? = nil

    /// A registered kind's own swept values, by name (empty for the built-in kinds).
    public var coordinates: [String: Double] = [:]
}

extension SweepPoint {
    /// A point of a registered kind: its index, its own swept values, and the shared settings it
    /// uses (the network's fields keep neutral values).
    public init(index: Int, coordinates: [String: Double], learningRate: Double = 0, epochs: Int = 0) {
        self.init(index: index, hidden: [], activation: .linear, loss: .meanSquaredError, initScheme: .gaussian, initScale: 1,
                  batchSize: 1, learningRate: learningRate, momentum: 0, nesterov: false, weightDecay: 0, epochs: epochs)
        self.coordinates = coordinates
    }
}

extension ExperimentSpec {
    /// The spec of a registered kind: the fields every kind has, and its own section. The
    /// network fields are empty (their canonical JSON is fixed by existing ledgers; a registered
    /// kind's settings live in `section`).
    public init(name: String, seed: UInt64, restarts: Int, section: some KindSettings, metrics: [String], report: Report, verify: Verify? = nil) {
        self.init(name: name, seed: seed, restarts: restarts,
                  data: Data(dataset: "none", trainingSamples: nil, sampling: .first, validationSamples: 0, testSamples: nil),
                  model: Model(architectures: [], activation: [], loss: []), initialization: InitializationSpec(scheme: [], scale: []),
                  optimizer: Optimizer(batchSize: [], learningRate: [], momentum: [], nesterov: [], weightDecay: []),
                  schedule: Schedule(kind: .constant, every: 1, factor: 0), stopping: Stopping(epochs: []), metrics: metrics, report: report, verify: verify)
        self.section = KindSection(section)
    }

    /// The spec's kind.
    public var kind: any ExperimentKind.Type { ExperimentKinds.kind(of: self) }

    /// The sweep in canonical order (the order of the fields in this type, whatever the order of
    /// keys in the file), so trial indices do not depend on how the file is written.
    public var sweepPoints: [SweepPoint] { kind.sweepPoints(of: self) }

    /// Which sweep dimensions take more than one value.
    public var varyingDimensions: Set<String> { kind.varyingDimensions(of: self) }

    /// A short label of `point` for plots and tables, naming only what varies across the sweep.
    public func label(of point: SweepPoint, varying: Set<String>? = nil) -> String {
        kind.label(of: point, varying: varying ?? varyingDimensions)
    }

    public var trialCount: Int { sweepPoints.count * restarts }

    /// The sweep point of trial `index` (trials are numbered point by point, restarts innermost).
    public func pointIndex(ofTrial index: Int) -> Int { index / restarts }

    /// What a worker runs for trial `index`.
    public func task(_ index: Int, point: SweepPoint, datasetSHA256: String?) -> TaskDescription {
        kind.task(index, point: point, spec: self, datasetSHA256: datasetSHA256)
    }

    var learningRateSchedule: LearningRateSchedule {
        schedule.kind.learningRateSchedule(factor: schedule.factor, every: schedule.every)
    }

    /// The spec as canonical JSON (sorted keys): what the ledger stores and hashes.
    public var canonicalJSON: String { MinimaProtocol.canonicalJSON(self) }
}
