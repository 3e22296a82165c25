/// Everything that determines a trial's outcome. Two equal descriptions give bit-identical
/// results on any machine running the same build, at any thread count, in any order.
public struct TrialDescription: Codable, Hashable, Sendable {
    /// The experiment's seed; with ``trialIndex`` it keys every random stream of the trial.
    public var seed: UInt64
    /// The trial's stable index within its experiment.
    public var trialIndex: UInt64
    public var data: DataSelection
    public var model: ModelSpec
    public var initialization: Initialization
    public var optimizer: OptimizerSpec
    public var schedule: LearningRateSchedule
    public var stopping: StoppingRule
    /// Measurements of the end point after training (nil: none). Absent from the encoding when
    /// nil, so descriptions without probes keep their bytes and hashes.
    public var probes: ProbeRequest?
    /// Epochs of another optimizer (SGD) run before ``optimizer`` takes over, e.g. to start a
    /// Newton method from a point on an SGD trajectory (nil: none). Absent from the encoding when nil.
    public var warmStart: WarmStart?
    /// Keep the per-epoch learning curve in the result (nil: none). Absent from the encoding when nil.
    public var curve: CurveRequest?

    public init(
        seed: UInt64, trialIndex: UInt64, data: DataSelection, model: ModelSpec,
        initialization: Initialization, optimizer: OptimizerSpec,
        schedule: LearningRateSchedule = .constant, stopping: StoppingRule, probes: ProbeRequest? = nil,
        warmStart: WarmStart? = nil, curve: CurveRequest? = nil
    ) {
        self.seed = seed
        self.trialIndex = trialIndex
        self.data = data
        self.model = model
        self.initialization = initialization
        self.optimizer = optimizer
        self.schedule = schedule
        self.stopping = stopping
        self.probes = probes
        self.warmStart = warmStart
        self.curve = curve
    }

    /// Checks every field for values the trainer cannot run, naming the field.
    public func validate() throws(TrialDescriptionError) {
        try model.validate()
        try initialization.validate()
        try optimizer.validate()
        try schedule.validate()
        try stopping.validate()
        try data.validate()
        try probes?.validate()
        try warmStart?.validate()
        try curve?.validate()
        if let partner = probes?.paths?.partner, partner == trialIndex {
            throw TrialDescriptionError(field: "probes.paths.partner", problem: "a trial cannot be its own partner (\(partner))")
        }
        let declaresPrecision = optimizer.kind.info?.settings.contains(NewtonMRMethod.precision) ?? false
        if declaresPrecision, ![32.0, 64.0].contains(optimizer[NewtonMRMethod.precision]) {
            throw TrialDescriptionError(field: "optimizer.settings.precision", problem: "must be 32 or 64, got \(optimizer[NewtonMRMethod.precision])")
        }
        if stopping.earlyStoppingPatience != nil && data.validationCount == 0 {
            throw TrialDescriptionError(field: "stopping.earlyStoppingPatience", problem: "early stopping needs a validation split (data.validationCount > 0)")
        }
    }
}

/// A field of a trial description holds a value the trainer cannot run.
public struct TrialDescriptionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The dotted path of the offending field, e.g. `optimizer.learningRate`.
    public var field: String
    public var problem: String
    public init(field: String, problem: String) { self.field = field; self.problem = problem }
    public var description: String { "\(field): \(problem)" }
}

public enum Activation: String, Codable, CaseIterable, Sendable {
    case relu, tanh, sigmoid, linear
}

public enum LossFunction: String, Codable, CaseIterable, Sendable {
    /// Softmax over the outputs, then the mean negative log-likelihood of the true class.
    case softmaxCrossEntropy = "softmax-cross-entropy"
    /// The mean over samples of ½‖outputs − onehot(label)‖².
    case meanSquaredError = "mse"
}

/// A fully connected network: inputs (from the data) → hidden layers → one output per class.
public struct ModelSpec: Codable, Hashable, Sendable {
    /// Widths of the hidden layers, input side first. Empty means a linear model.
    public var hidden: [Int]
    /// The activation of every hidden layer; the output layer is linear.
    public var activation: Activation
    public var loss: LossFunction

    public init(hidden: [Int], activation: Activation = .relu, loss: LossFunction = .softmaxCrossEntropy) {
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
    }

    func validate() throws(TrialDescriptionError) {
        for (i, width) in hidden.enumerated() where width < 1 || width > 65536 {
            throw TrialDescriptionError(field: "model.hidden[\(i)]", problem: "width \(width) is outside 1...65536")
        }
        guard hidden.count <= 256 else {
            throw TrialDescriptionError(field: "model.hidden", problem: "\(hidden.count) hidden layers; at most 256")
        }
        // One weight matrix must fit in memory: 2²⁶ weights (256 MiB of floats, the gradient and
        // momentum as much again) is far beyond the networks these studies train.
        for i in hidden.indices.dropFirst() where hidden[i - 1] * hidden[i] > 1 << 26 {
            throw TrialDescriptionError(field: "model.hidden[\(i)]", problem: "\(hidden[i - 1]) × \(hidden[i]) = \(hidden[i - 1] * hidden[i]) weights in one layer; at most \(1 << 26)")
        }
    }
}

/// Weight initializations, named as Keras, JAX and Flax name them. `fan-in-uniform` is PyTorch's
/// default for `nn.Linear` (and what Minima 0.1 called `lecun-uniform`). Biases start at zero.
public enum InitScheme: String, Codable, CaseIterable, Sendable {
    /// U(−scale, scale).
    case uniform
    /// U(−b, b) with b = scale/√fan-in: PyTorch's `nn.Linear` default (variance 1/(3·fan-in)).
    case fanInUniform = "fan-in-uniform"
    /// U(−b, b) with b = scale·√(3/fan-in): variance scale²/fan-in (Keras, JAX `lecun_uniform`).
    case lecunUniform = "lecun-uniform"
    /// Normal truncated at ±2σ₀, σ₀ = scale·√(1/fan-in)/0.8796…, so that the variance is
    /// scale²/fan-in (Keras, JAX `lecun_normal`).
    case lecunNormal = "lecun-normal"
    /// N(0, scale²).
    case gaussian
    /// U(−b, b) with b = scale·√(6/(fan-in + fan-out)) (Glorot & Bengio 2010; Keras, JAX, PyTorch).
    case glorotUniform = "glorot-uniform"
    /// Normal truncated at ±2σ₀, σ₀ = scale·√(2/(fan-in + fan-out))/0.8796… (Keras, JAX `glorot_normal`).
    case glorotNormal = "glorot-normal"
    /// N(0, σ²) with σ = scale·√(2/fan-in), not truncated (He et al. 2015; PyTorch's
    /// `kaiming_normal_`; Keras and JAX truncate theirs).
    case heNormal = "he-normal"
    /// N(0, σ²) with σ = scale/√fan-in, not truncated: the "scaled Gaussian" of Saxe et al. 2014
    /// (variance 1/fan-in at scale 1; PyTorch `normal_(0, 1/√fan-in)`).
    case fanInNormal = "fan-in-normal"
    /// scale · Q from the QR decomposition of a Gaussian matrix, columns' signs fixed by diag(R)
    /// (Saxe et al. 2014).
    case orthogonal

    /// The formula, for `--help` and error messages.
    public var formula: String {
        switch self {
        case .uniform: "U(±scale)"
        case .fanInUniform: "U(±scale/√fan-in), PyTorch's nn.Linear default"
        case .lecunUniform: "U(±scale·√(3/fan-in)), variance scale²/fan-in (Keras/JAX)"
        case .lecunNormal: "normal truncated at 2σ, variance scale²/fan-in (Keras/JAX)"
        case .gaussian: "N(0, scale²)"
        case .glorotUniform: "U(±scale·√(6/(fan-in+fan-out)))"
        case .glorotNormal: "normal truncated at 2σ, variance 2·scale²/(fan-in+fan-out) (Keras/JAX)"
        case .heNormal: "N(0, 2·scale²/fan-in), untruncated (PyTorch kaiming_normal_)"
        case .fanInNormal: "N(0, scale²/fan-in), untruncated (Saxe et al.'s scaled Gaussian)"
        case .orthogonal: "scale · a Haar-random orthogonal matrix (Saxe et al. 2014)"
        }
    }
}

/// How weights start. Biases always start at zero.
public struct Initialization: Codable, Hashable, Sendable {
    public var scheme: InitScheme
    /// The bound, standard deviation or gain, per ``InitScheme``.
    public var scale: Double

    public init(scheme: InitScheme, scale: Double = 1) {
        self.scheme = scheme
        self.scale = scale
    }

    func validate() throws(TrialDescriptionError) {
        if !(scale.isFinite && scale > 0) {
            throw TrialDescriptionError(field: "initialization.scale", problem: "must be a positive finite number, got \(scale)")
        }
    }
}

/// The settings of the Krylov-subspace Newton methods.
public struct KrylovSettings: Codable, Hashable, Sendable {
    /// k: Lanczos vectors of H per step (each costs one Hessian-vector product, ≈ 2 gradients).
    public var dimension: Int
    /// The damping values tried each step; the step is the best of them (see `KrylovNewtonMethod`).
    public var damping: [Double]
    /// Hessian-vector products on this many training samples, drawn from the trial's stream
    /// (nil: all); the gradient stays full-batch (``SubsampledCurvature``).
    public var curvatureSamples: Int?
    /// Draw a new subset each step (nil or false: one subset for the whole trial).
    public var resampleCurvature: Bool?

    public init(dimension: Int = 20, damping: [Double] = [0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1], curvatureSamples: Int? = nil, resampleCurvature: Bool? = nil) {
        self.dimension = dimension
        self.damping = damping
        self.curvatureSamples = curvatureSamples
        self.resampleCurvature = resampleCurvature
    }

    func validate() throws(TrialDescriptionError) {
        if dimension < 1 || dimension > 10_000 {
            throw TrialDescriptionError(field: "optimizer.krylov.dimension", problem: "must be in 1...10000, got \(dimension)")
        }
        if damping.isEmpty || damping.count > 64 {
            throw TrialDescriptionError(field: "optimizer.krylov.damping", problem: "must list 1 to 64 values, got \(damping.count)")
        }
        for (i, value) in damping.enumerated() where !(value >= 0 && value.isFinite) {
            throw TrialDescriptionError(field: "optimizer.krylov.damping[\(i)]", problem: "must be a finite number ≥ 0, got \(value)")
        }
        if let curvatureSamples, !(1...100_000_000).contains(curvatureSamples) {
            throw TrialDescriptionError(field: "optimizer.krylov.curvatureSamples", problem: "must be in 1...100000000, got \(curvatureSamples)")
        }
    }
}

/// The optimizer: its kind and settings. Which fields a kind reads is in its
/// ``OptimizerInfo/traits``: `batchSize` belongs to the minibatch methods, `momentum` and
/// `nesterov` to SGD and GD, `krylov` to the Newton methods (which take no learning rate: each
/// step is the best of their damping grid; specs sweeping SGD against them give SGD's), and
/// ``settings`` to the kinds that declare them (Adam's β₁, β₂, ε).
public struct OptimizerSpec: Codable, Hashable, Sendable {
    public var kind: OptimizerKind
    public var batchSize: Int
    public var learningRate: Double
    /// Heavy-ball momentum μ: v ← μv + g; w ← w − ηv (0 disables it).
    public var momentum: Double
    /// Nesterov's variant: w ← w − η(g + μv).
    public var nesterov: Bool
    /// L2 penalty λ added to the gradient of every weight (not biases): g ← g + λw.
    public var weightDecay: Double
    /// Newton and saddle-free Newton only (nil: the defaults of ``KrylovSettings``).
    public var krylov: KrylovSettings?
    /// The kind's own settings by name (see ``OptimizerInfo/settings``); absent ones take their
    /// defaults. Absent from the encoding when empty.
    public var settings: [String: Double]

    public init(kind: OptimizerKind = .sgd, batchSize: Int, learningRate: Double, momentum: Double = 0, nesterov: Bool = false,
                weightDecay: Double = 0, krylov: KrylovSettings? = nil, settings: [String: Double] = [:]) {
        self.kind = kind
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.krylov = krylov
        self.settings = settings
    }

    /// The value of `setting`: the spec's, or its default.
    public subscript(setting: NumericSetting) -> Double { settings[setting.name] ?? setting.defaultValue }

    private enum CodingKeys: String, CodingKey { case kind, batchSize, learningRate, momentum, nesterov, weightDecay, krylov, settings }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(OptimizerKind.self, forKey: .kind) ?? .sgd
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        momentum = try c.decode(Double.self, forKey: .momentum)
        nesterov = try c.decode(Bool.self, forKey: .nesterov)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        krylov = try c.decodeIfPresent(KrylovSettings.self, forKey: .krylov)
        settings = try c.decodeIfPresent([String: Double].self, forKey: .settings) ?? [:]
    }

    /// SGD descriptions omit `kind`, and descriptions without settings omit `settings`, so they
    /// keep the bytes (and hashes) they had before there were other kinds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if kind != .sgd { try c.encode(kind, forKey: .kind) }
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(nesterov, forKey: .nesterov)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(krylov, forKey: .krylov)
        if !settings.isEmpty { try c.encode(settings, forKey: .settings) }
    }

    /// The Krylov settings in force (the defaults when none are given).
    public var krylovSettings: KrylovSettings { krylov ?? KrylovSettings() }

    func validate(field: String = "optimizer") throws(TrialDescriptionError) {
        // (`kind.info`, not the method's metatype: opening the existential in a typed-throws
        // function crashes Swift 6.3.1's SIL generation.)
        guard let info = kind.info else {
            throw TrialDescriptionError(field: "\(field).kind", problem: "unknown optimizer '\(kind)'; expected one of \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if batchSize < 1 || batchSize > 1 << 16 {
            throw TrialDescriptionError(field: "\(field).batchSize", problem: "must be in 1...65536, got \(batchSize)")
        }
        if !(learningRate.isFinite && learningRate > 0) {
            throw TrialDescriptionError(field: "\(field).learningRate", problem: "must be a positive finite number, got \(learningRate)")
        }
        if !(momentum >= 0 && momentum < 1) {
            throw TrialDescriptionError(field: "\(field).momentum", problem: "must be in [0, 1), got \(momentum)")
        }
        if nesterov && momentum == 0 {
            throw TrialDescriptionError(field: "\(field).nesterov", problem: "Nesterov momentum needs \(field).momentum > 0")
        }
        if !(weightDecay >= 0 && weightDecay.isFinite) {
            throw TrialDescriptionError(field: "\(field).weightDecay", problem: "must be ≥ 0, got \(weightDecay)")
        }
        if !info.traits.contains(.momentum) && momentum != 0 {
            throw TrialDescriptionError(field: "\(field).momentum", problem: "\(kind) takes no momentum, got \(momentum)")
        }
        if info.traits.contains(.krylov) {
            try krylovSettings.validate()
        } else if krylov != nil {
            let takers = OptimizerKind.allCases.filter(\.isSecondOrder).map(\.rawValue)
            throw TrialDescriptionError(field: "\(field).krylov", problem: "only \(takers.joined(separator: " and ")) take Krylov settings, not \(kind)")
        }
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard let setting = info.settings.first(where: { $0.name == name }) else {
                let known = info.settings.isEmpty ? "it takes none" : "it takes \(info.settings.map(\.name).joined(separator: ", "))"
                throw TrialDescriptionError(field: "\(field).settings.\(name)", problem: "\(kind) has no setting '\(name)'; \(known)")
            }
            if !setting.accepts(value) {
                throw TrialDescriptionError(field: "\(field).settings.\(name)", problem: "must be \(setting.range), got \(value)")
            }
        }
    }
}

/// Epochs of a first-order optimizer before the trial's own optimizer takes over. Its epochs
/// shuffle with the same streams as the first epochs of a plain SGD trial, so a warm start of e
/// SGD epochs followed by m SGD epochs with the same settings is bit for bit SGD for e + m epochs.
public struct WarmStart: Codable, Hashable, Sendable {
    /// e: epochs of ``optimizer`` (0: start from the initialization).
    public var epochs: Int
    /// A first-order optimizer (``OptimizerKind/canWarmStart``), at a constant learning rate.
    public var optimizer: OptimizerSpec

    public init(epochs: Int, optimizer: OptimizerSpec) {
        self.epochs = epochs
        self.optimizer = optimizer
    }

    func validate() throws(TrialDescriptionError) {
        if epochs < 0 || epochs > 1_000_000 {
            throw TrialDescriptionError(field: "warmStart.epochs", problem: "must be in 0...1000000, got \(epochs)")
        }
        if optimizer.kind.info != nil && !optimizer.kind.canWarmStart {
            throw TrialDescriptionError(field: "warmStart.optimizer.kind", problem: "a warm start is \(OptimizerKind.warmStartKinds), not \(optimizer.kind)")
        }
        try optimizer.validate(field: "warmStart.optimizer")
    }
}

/// What the learning curve records after every epoch (and before the first): always the
/// training and test loss and error; on request the gradient norm and the Hessian's index.
public struct CurveRequest: Codable, Hashable, Sendable {
    /// Also ‖∇L‖ of the full training objective (one gradient per epoch).
    public var gradientNorm: Bool
    /// Also the index, measured as this probe measures it (exact spectrum or SLQ); nil: not.
    public var index: HessianProbe?

    public init(gradientNorm: Bool = false, index: HessianProbe? = nil) {
        self.gradientNorm = gradientNorm
        self.index = index
    }

    func validate() throws(TrialDescriptionError) {
        try index?.validate(field: "curve.index")
    }
}

/// The learning rate as a function of the epoch e = 0, 1, 2, …
public enum LearningRateSchedule: Codable, Hashable, Sendable {
    /// η
    case constant
    /// η · factor^⌊e / every⌋
    case step(every: Int, factor: Double)
    /// η · gamma^e
    case exponential(gamma: Double)
    /// η / (1 + k·e)
    case inverse(k: Double)

    public func learningRate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant: base
        case .step(let every, let factor): base * DeterministicMath.power(factor, epoch / every)
        case .exponential(let gamma): base * DeterministicMath.power(gamma, epoch)
        case .inverse(let k): base / (1 + k * Double(epoch))
        }
    }

    func validate() throws(TrialDescriptionError) {
        switch self {
        case .constant: break
        case .step(let every, let factor):
            if every < 1 { throw TrialDescriptionError(field: "schedule.every", problem: "must be ≥ 1 epoch, got \(every)") }
            if !(factor > 0 && factor.isFinite) { throw TrialDescriptionError(field: "schedule.factor", problem: "must be > 0, got \(factor)") }
        case .exponential(let gamma):
            if !(gamma > 0 && gamma.isFinite) { throw TrialDescriptionError(field: "schedule.gamma", problem: "must be > 0, got \(gamma)") }
        case .inverse(let k):
            if !(k >= 0 && k.isFinite) { throw TrialDescriptionError(field: "schedule.k", problem: "must be ≥ 0, got \(k)") }
        }
    }
}

/// When training ends. It always ends after ``maxEpochs``; it may end sooner.
public struct StoppingRule: Codable, Hashable, Sendable {
    public var maxEpochs: Int
    /// Stop after an epoch whose full-batch training gradient has Euclidean norm below this.
    public var gradientTolerance: Double?
    /// Stop when the validation loss has not improved for this many epochs; the weights of the
    /// best epoch are restored.
    public var earlyStoppingPatience: Int?
    /// Stop after the epoch at which the training loss (the mean over the training samples, no
    /// weight decay) is at most this; the result records the epochs and steps it took.
    public var targetLoss: Double?
    /// Stop after an epoch whose full-batch gradient norm is at most this × its norm when the
    /// optimizer started (after any warm start): the critical-point search's criterion.
    public var relativeGradientTolerance: Double?

    public init(maxEpochs: Int, gradientTolerance: Double? = nil, earlyStoppingPatience: Int? = nil, targetLoss: Double? = nil,
                relativeGradientTolerance: Double? = nil) {
        self.maxEpochs = maxEpochs
        self.gradientTolerance = gradientTolerance
        self.earlyStoppingPatience = earlyStoppingPatience
        self.targetLoss = targetLoss
        self.relativeGradientTolerance = relativeGradientTolerance
    }

    func validate() throws(TrialDescriptionError) {
        if maxEpochs < 0 || maxEpochs > 1_000_000 {
            throw TrialDescriptionError(field: "stopping.maxEpochs", problem: "must be in 0...1000000, got \(maxEpochs)")
        }
        if let target = targetLoss, !(target >= 0 && target.isFinite) {
            throw TrialDescriptionError(field: "stopping.targetLoss", problem: "must be a finite number ≥ 0, got \(target)")
        }
        if let tolerance = relativeGradientTolerance, !(tolerance > 0 && tolerance < 1) {
            throw TrialDescriptionError(field: "stopping.relativeGradientTolerance", problem: "must be in (0, 1), got \(tolerance)")
        }
        if let tolerance = gradientTolerance, !(tolerance > 0 && tolerance.isFinite) {
            throw TrialDescriptionError(field: "stopping.gradientTolerance", problem: "must be > 0, got \(tolerance)")
        }
        if let patience = earlyStoppingPatience, patience < 1 {
            throw TrialDescriptionError(field: "stopping.earlyStoppingPatience", problem: "must be ≥ 1 epoch, got \(patience)")
        }
    }
}

/// Which samples a trial trains, validates and tests on.
public struct DataSelection: Codable, Hashable, Sendable {
    /// The dataset's name (e.g. `mnist10`) — for people; ``datasetSHA256`` is what identifies it.
    public var dataset: String
    /// SHA-256 of the dataset's canonical bytes. When set, the trainer refuses other data.
    public var datasetSHA256: String?
    public var trainingSubset: TrainingSubset
    /// How many of the selected training samples are held out for validation (drawn at random
    /// from the trial's validation stream).
    public var validationCount: Int
    /// Use only the first N test samples (nil: all).
    public var testLimit: Int?

    public init(dataset: String, datasetSHA256: String? = nil, trainingSubset: TrainingSubset = .all, validationCount: Int = 0, testLimit: Int? = nil) {
        self.dataset = dataset
        self.datasetSHA256 = datasetSHA256
        self.trainingSubset = trainingSubset
        self.validationCount = validationCount
        self.testLimit = testLimit
    }

    func validate() throws(TrialDescriptionError) {
        switch trainingSubset {
        case .all: break
        case .first(let n), .sample(let n):
            if n < 1 { throw TrialDescriptionError(field: "data.trainingSubset", problem: "must select at least 1 sample, got \(n)") }
        }
        if validationCount < 0 {
            throw TrialDescriptionError(field: "data.validationCount", problem: "must be ≥ 0, got \(validationCount)")
        }
        if let limit = testLimit, limit < 1 {
            throw TrialDescriptionError(field: "data.testLimit", problem: "must be ≥ 1, got \(limit)")
        }
    }
}

public enum TrainingSubset: Codable, Hashable, Sendable {
    case all
    /// The first N training samples in file order.
    case first(Int)
    /// N training samples drawn without replacement from the trial's subset stream.
    case sample(Int)
}
