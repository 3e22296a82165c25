/// What the probes measured at a trial's end point. Deterministic, like the rest of the result.
public struct ProbeResults: Codable, Hashable, Sendable {
    /// The samples probed (the first N of the training split).
    public var samples: Int
    /// The objective (mean loss + weight decay) at the end point on those samples.
    public var loss: Double
    /// ‖∇L‖ at the end point, full batch over those samples.
    public var gradientNorm: Double
    public var hessian: HessianResults?
    public var paths: PathResults?
    /// What the listed probes (``ProbeMethods``) measured, by name.
    public var registered: [String: ProbeMeasurement]?

    public init(samples: Int, loss: Double, gradientNorm: Double, hessian: HessianResults? = nil, paths: PathResults? = nil,
                registered: [String: ProbeMeasurement]? = nil) {
        self.samples = samples
        self.loss = loss
        self.gradientNorm = gradientNorm
        self.hessian = hessian
        self.paths = paths
        self.registered = registered
    }
}

/// An eigenvalue estimate with its residual ‖H y − θ y‖ (|λ − θ| ≤ residual for some eigenvalue λ).
public struct EigenvalueEstimate: Codable, Hashable, Sendable {
    public var value: Double
    public var residual: Double
    public init(value: Double, residual: Double) {
        self.value = value
        self.residual = residual
    }
}

public struct HessianResults: Codable, Hashable, Sendable {
    /// P, the dimension of the Hessian.
    public var parameters: Int
    /// The largest eigenvalues, descending.
    public var largest: [EigenvalueEstimate]
    /// The smallest eigenvalues, ascending.
    public var smallest: [EigenvalueEstimate]
    /// Lanczos steps (Hessian-vector products) spent on the extremes.
    public var lanczosSteps: Int
    /// The fraction of eigenvalues below −ε·λmax, estimated by stochastic Lanczos quadrature.
    public var index: IndexEstimate?
    /// Quadrature nodes and weights, one list per probe vector: the spectral density is
    /// (1/probes) Σ weights[v][j] δ(λ − nodes[v][j]).
    public var density: SpectralDensity?
    /// The exact spectrum's summary (networks of at most `exactBelow` parameters).
    public var exact: ExactSpectrum?
    /// Whether λmin ≥ −tolerance·λmax.
    public var isMinimum: Bool

    public var lambdaMax: Double { largest.first?.value ?? .nan }
    public var lambdaMin: Double { smallest.first?.value ?? .nan }
}

public struct IndexEstimate: Codable, Hashable, Sendable {
    /// The estimated fraction α of eigenvalues below the threshold.
    public var value: Double
    /// Standard error over the probe vectors (their sample standard deviation / √probes).
    public var standardError: Double
    /// The threshold −ε·λmax the eigenvalues were compared with.
    public var threshold: Double
}

public struct SpectralDensity: Codable, Hashable, Sendable {
    public var nodes: [[Float]]
    public var weights: [[Float]]
}

public struct ExactSpectrum: Codable, Hashable, Sendable {
    /// The exact fraction of eigenvalues below −ε·λmax (the same ε as the estimate).
    public var index: Double
    public var minimum: Double
    public var maximum: Double
    /// The fraction of eigenvalues below zero, whatever their size.
    public var negativeFraction: Double
}

public struct PathResults: Codable, Hashable, Sendable {
    public var initToEnd: LossProfile?
    public var toPartner: PartnerPath?
}

/// The objective at evenly spaced points t = 0, 1/(n−1), …, 1 of a line.
public struct LossProfile: Codable, Hashable, Sendable {
    public var losses: [Double]
    /// max_t L(t) − (L(0) + L(1))/2.
    public var barrier: Double
    /// max_t [L(t) − ((1 − t)·L(0) + t·L(1))]: the height above the chord between the ends (the
    /// barrier of Frankle et al. 2020); 0 when the loss is convex along the line.
    public var excessOverChord: Double
    /// Whether the loss never rises from one point to the next (Goodfellow, Vinyals & Saxe 2015
    /// found the line from the start to the end point monotone for many networks).
    public var isMonotone: Bool

    public init(losses: [Double]) {
        self.losses = losses
        let first = losses.first ?? 0, last = losses.last ?? 0
        barrier = (losses.max() ?? 0) - 0.5 * (first + last)
        let steps = Double(max(losses.count - 1, 1))
        excessOverChord = losses.enumerated().map { i, loss in loss - (first + (last - first) * Double(i) / steps) }.max() ?? 0
        isMonotone = zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 }
    }
}

public struct PartnerPath: Codable, Hashable, Sendable {
    public var partner: UInt64
    /// The partner's end point as trained here: equals its own trial's `parametersSHA256`.
    public var partnerParametersSHA256: String
    public var profile: LossProfile
}
