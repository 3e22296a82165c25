/// How a trial ended.
public enum TrialStatus: String, Codable, Sendable {
    /// Training ran to one of its stopping rules.
    case completed
    /// A loss or weight became NaN or infinite; the metrics are those of the last finite state.
    case diverged
    /// The caller cancelled the trial.
    case cancelled
}

public enum StopReason: String, Codable, Sendable {
    case maxEpochs = "max-epochs"
    case gradientTolerance = "gradient-tolerance"
    case earlyStopping = "early-stopping"
    /// The training loss reached ``StoppingRule/targetLoss``.
    case targetLoss = "target-loss"
    /// The gradient norm fell below ``StoppingRule/relativeGradientTolerance`` × its start.
    case relativeGradientTolerance = "relative-gradient-tolerance"
    /// A Newton method found no step (at any damping, halved eight times) that improves its
    /// objective: it is as close to a critical point as the arithmetic resolves.
    case stalled
    case diverged
    case cancelled
}

/// Mean loss and error rate over a set of samples.
public struct Metrics: Codable, Hashable, Sendable {
    public var loss: Double
    /// Fraction of samples whose largest output is not the true class; nil for a regression set
    /// (target values, no classes).
    public var error: Double?
    public var samples: Int
    public init(loss: Double, error: Double?, samples: Int) {
        self.loss = loss
        self.error = error
        self.samples = samples
    }
}

/// The outcome of one trial. Everything but ``timing`` is deterministic.
public struct TrialResult: Codable, Hashable, Sendable {
    public var status: TrialStatus
    public var stopReason: StopReason
    /// Epochs of training completed.
    public var epochs: Int
    public var train: Metrics
    public var validation: Metrics?
    public var test: Metrics
    /// Euclidean norm of the full-batch training gradient at the end (only computed when the
    /// gradient-tolerance stopping rule is on).
    public var gradientNorm: Double?
    /// The epoch whose weights were kept (early stopping restores the best one).
    public var keptEpoch: Int
    /// SHA-256 of the final parameters (each layer's weights [out][in] row-major, then its
    /// biases, as little-endian float32): two trials agree on every bit exactly when these do.
    public var parametersSHA256: String
    /// What the description's probes measured at the end point (nil: no probes asked, or the
    /// trial was cancelled).
    public var probes: ProbeResults?
    /// Epochs (of the trial's optimizer, after any warm start) until the training loss first
    /// reached ``StoppingRule/targetLoss`` (0: it started there; nil: never, or no target).
    public var epochsToTarget: Int?
    /// Optimizer steps until then (minibatches for SGD, one per epoch for the full-batch methods).
    public var stepsToTarget: Int?
    /// The optimizer's work until then in gradient-equivalents: one forward-and-backward pass over
    /// every training sample is 1, a forward pass ⅓, a Hessian-vector product 2 (so FLOP ≈ this ×
    /// 6 × parameters × training samples; `--dry-run` counts a product higher, at 16 instead of
    /// 12, with its reorthogonalization). Deterministic.
    public var gradientEquivalentsToTarget: Double?
    /// ‖∇L‖ when the trial's optimizer started (with a relative gradient tolerance).
    public var startGradientNorm: Double?
    /// Per-epoch measurements (nil: not asked).
    public var curve: LearningCurve?
    /// How a Newton-MR search ended (nil: another optimizer).
    public var search: CriticalPointSearch?
    public var timing: Timing

    public init(status: TrialStatus, stopReason: StopReason, epochs: Int, train: Metrics, validation: Metrics?, test: Metrics,
                gradientNorm: Double?, keptEpoch: Int, parametersSHA256: String, probes: ProbeResults? = nil, timing: Timing) {
        self.status = status
        self.stopReason = stopReason
        self.epochs = epochs
        self.train = train
        self.validation = validation
        self.test = test
        self.gradientNorm = gradientNorm
        self.keptEpoch = keptEpoch
        self.parametersSHA256 = parametersSHA256
        self.probes = probes
        self.timing = timing
    }

    /// The relative gradient norm reached, ‖∇L‖/‖∇L₀‖ (with a relative gradient tolerance).
    public var relativeGradientNorm: Double? {
        guard let start = startGradientNorm, let end = gradientNorm, start > 0 else { return nil }
        return end / start
    }

    /// Wall-clock measurements: not deterministic, excluded from ``deterministicFingerprint``.
    public struct Timing: Codable, Hashable, Sendable {
        /// Seconds spent in the training epochs (forward, backward and updates).
        public var trainingSeconds: Double
        /// Seconds spent evaluating losses and gradients for metrics and stopping rules.
        public var evaluationSeconds: Double
        /// Training samples processed per second of ``trainingSeconds``.
        public var samplesPerSecond: Double
        /// The instruction-set level of the build that ran the trial.
        public var instructionSet: String
        /// Seconds spent in the probes (nil without probes).
        public var probeSeconds: Double?
        /// Training seconds of the trial's optimizer (after any warm start) until the training
        /// loss reached the target (nil: never, or no target).
        public var secondsToTarget: Double?
        /// Training seconds of the trial's optimizer at each learning-curve entry (with a curve).
        public var curveSeconds: [Double]?
        public init(trainingSeconds: Double, evaluationSeconds: Double, samplesPerSecond: Double, instructionSet: String, probeSeconds: Double? = nil) {
            self.trainingSeconds = trainingSeconds
            self.evaluationSeconds = evaluationSeconds
            self.samplesPerSecond = samplesPerSecond
            self.instructionSet = instructionSet
            self.probeSeconds = probeSeconds
        }
    }

    /// The result without its timing: equal for equal descriptions on any conforming build.
    public var deterministicFingerprint: TrialResult {
        var copy = self
        copy.timing = Timing(trainingSeconds: 0, evaluationSeconds: 0, samplesPerSecond: 0, instructionSet: "")
        return copy
    }
}

/// A trial's learning curve: entry e is measured after e epochs of its optimizer (entry 0 at its
/// start, after any warm start).
public struct LearningCurve: Codable, Hashable, Sendable {
    public var trainingLoss: [Double] = []
    public var trainingError: [Double] = []
    public var testLoss: [Double] = []
    public var testError: [Double] = []
    /// ‖∇L‖ of the training objective (when asked).
    public var gradientNorm: [Double]?
    /// The index of the Hessian: the exact one when the probe computes the spectrum, else SLQ's (when asked).
    public var index: [Double]?
    /// The optimizer's work so far in gradient-equivalents (deterministic; the same rule as
    /// ``TrialResult/gradientEquivalentsToTarget``), so the work to any loss can be read off.
    public var gradientEquivalents: [Double]?
    public init() {}
}
