/// The optimizers, listed once. An optimizer is one file in this folder (a type conforming to
/// ``OptimizerMethod``: its name, traits and declared settings — which validation reads —, its
/// state buffers and its epoch)
/// plus its line here. Everything else — the spec's `optimizer.kind` choices and settings, the
/// CLI's `--optimizer`, the wire form, validation and help texts — reads this list.
///
/// Optimizers live in MinimaCore (not in a runtime registry other modules add to) because their
/// steps run inside the specialized kernels: each update rule is its own type so the hot loops are
/// compiled per rule, which only works for rules the core's generic code can see.
enum OptimizerMethods {
    static let builtIn: [any OptimizerMethod.Type] = [
        StochasticGradientDescent.self,
        FullBatchGradientDescent.self,
        KrylovNewtonMethod.self,
        SaddleFreeNewtonMethod.self,
        Adam.self,
        NewtonMRMethod.self,
        DampedNewtonMRMethod.self,
    ]

    static func method(_ kind: OptimizerKind) -> (any OptimizerMethod.Type)? {
        builtIn.first { $0.info.kind == kind }
    }
}

/// An optimizer's name as specs, descriptions and the CLI spell it (`sgd`, `adam`, …). The known
/// names are those of the optimizers MinimaCore lists: decoding refuses any other name (a
/// description for an optimizer this build does not have is never run as another), and so does
/// validation of a value made in code.
public struct OptimizerKind: RawRepresentable, Hashable, Codable, Sendable, CaseIterable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard OptimizerMethods.method(OptimizerKind(name)) != nil else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown optimizer '\(name)'; this build runs \(Self.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        rawValue = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Minibatch stochastic gradient descent (with momentum, Nesterov, weight decay).
    public static let sgd = OptimizerKind("sgd")
    /// Full-batch gradient descent: one step per epoch on the gradient of all training samples.
    public static let gd = OptimizerKind("gd")
    /// Damped Newton in a Krylov subspace of the Hessian (attracted to critical points of any index).
    public static let newton = OptimizerKind("newton")
    /// Saddle-free Newton (Dauphin et al. 2014, Algorithm 1).
    public static let saddleFreeNewton = OptimizerKind("saddle-free-newton")
    /// Adam (Kingma & Ba 2015), minibatch.
    public static let adam = OptimizerKind("adam")
    /// Newton-MR: MINRES-QLP steps with an Armijo search on ‖∇L‖² (critical points of any index).
    public static let newtonMR = OptimizerKind("newton-mr")
    /// Newton-MR with a trust region: Levenberg–Marquardt on ‖∇L‖² (``DampedNewtonMR``).
    public static let newtonMRLM = OptimizerKind("newton-mr-lm")

    /// Whether it reads a learning rate (the Newton methods do not).
    public var takesLearningRate: Bool { info?.traits.contains(.learningRate) ?? true }

    /// Every optimizer MinimaCore runs, in the order of its list.
    public static var allCases: [OptimizerKind] { OptimizerMethods.builtIn.map { $0.info.kind } }

    /// What the optimizer is and takes; nil for a name no optimizer has.
    public var info: OptimizerInfo? { OptimizerMethods.method(self)?.info }

    /// Whether the method works in the Krylov subspace of the Hessian (takes ``KrylovSettings``).
    public var isSecondOrder: Bool { info?.traits.contains(.krylov) ?? false }
    /// Whether a warm start may use it (first-order methods with a learning rate).
    public var canWarmStart: Bool { info?.traits.contains(.warmStart) ?? false }
    /// The kinds a warm start may use, in words ("sgd, gd or adam").
    public static var warmStartKinds: String {
        let names = allCases.filter(\.canWarmStart).map(\.rawValue)
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// What an optimizer is and which of an ``OptimizerSpec``'s fields it reads.
public struct OptimizerInfo: Sendable {
    public struct Traits: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Steps on minibatches of `batchSize` (else one full-batch step per epoch).
        public static let minibatches = Traits(rawValue: 1 << 0)
        /// Reads `learningRate` (and the schedule).
        public static let learningRate = Traits(rawValue: 1 << 1)
        /// Reads `momentum` and `nesterov`.
        public static let momentum = Traits(rawValue: 1 << 2)
        /// Reads `krylov`.
        public static let krylov = Traits(rawValue: 1 << 3)
        /// May run a warm start.
        public static let warmStart = Traits(rawValue: 1 << 4)
        /// Seeks critical points of any index (its end points are the report's critical points).
        public static let criticalPoints = Traits(rawValue: 1 << 5)
    }

    public var kind: OptimizerKind
    /// One line for help texts.
    public var summary: String
    public var traits: Traits
    /// Its own settings, read from `optimizer.<name>` in a spec and `optimizer.settings.<name>`
    /// in a description.
    public var settings: [NumericSetting]

    public init(kind: OptimizerKind, summary: String, traits: Traits, settings: [NumericSetting] = []) {
        self.kind = kind
        self.summary = summary
        self.traits = traits
        self.settings = settings
    }
}

/// One optimizer: a class because it owns its state buffers (shaped like the network's
/// parameters, allocated in `init`, freed in `deinit`) for the whole trial.
protocol OptimizerMethod: AnyObject, SendableMetatype {
    /// Its name, traits and settings: what validation, specs and help texts read.
    static var info: OptimizerInfo { get }
    init(_ spec: OptimizerSpec, network: Network)
    /// One epoch at learning rate `rate`; `shuffle` picks the epoch's sample order.
    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome
    /// Continues from the state a warm start's optimizer left (momentum carries over between
    /// first-order phases, so e warm-start epochs and m more are bit for bit e + m epochs).
    func continueFrom(_ previous: any OptimizerMethod)
    /// The work of the last epoch in gradient-equivalents (``TrialResult/gradientEquivalentsToTarget``).
    var lastEpochCost: Double { get }
    /// Where a search for a critical point ended, for a method that reports it (the result's
    /// `search`); converged when ‖∇L‖ ≤ `tolerance`·‖∇L₀‖.
    func criticalPointSearch(tolerance: Double) -> CriticalPointSearch?
    /// ‖∇L‖ where the last epoch ended, for a method that measures it more exactly than the
    /// float32 network can (a 64-bit search); nil: the trainer measures it on the network.
    var exactGradientNorm: Double? { get }
    /// Peak memory of its own beyond the network's six parameter copies (Krylov bases, a
    /// double-precision copy of the data…), in bytes, for the worker's memory budget; computed in
    /// floating point so a hostile description saturates instead of trapping.
    static func workingMemoryBytes(_ spec: OptimizerSpec, parameters: Double, samples: Double, sampleWidth: Double) -> Double
}

extension OptimizerMethod {
    func continueFrom(_ previous: any OptimizerMethod) {}
    /// A first-order epoch: one forward-and-backward pass over the training samples.
    var lastEpochCost: Double { 1 }
    func criticalPointSearch(tolerance: Double) -> CriticalPointSearch? { nil }
    var exactGradientNorm: Double? { nil }
    static func workingMemoryBytes(_ spec: OptimizerSpec, parameters: Double, samples: Double, sampleWidth: Double) -> Double { 0 }
}

/// What one epoch of an optimizer did.
enum EpochOutcome {
    /// The epoch ran; `loss` is its mean minibatch loss (full-batch methods: the loss where it started).
    case trained(loss: Double)
    /// A loss or weight stopped being finite, or the trial was cancelled (the caller tells which).
    case failed
    /// A Newton method could not improve (the parameters did not move).
    case stalled
}

/// A buffer shaped like a network's parameters, zeroed, owned by the optimizer that made it.
final class ParameterShapedBuffer {
    let storage: UnsafeMutableBufferPointer<Float>
    init(like network: Network) { storage = network.makeParameterBuffer() }
    deinit { storage.deallocate() }
    var base: UnsafeMutablePointer<Float> { storage.baseAddress! }
}
