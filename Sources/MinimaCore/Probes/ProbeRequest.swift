/// What to measure at a trial's end point, after training. Part of the trial's description, so
/// probes are as deterministic as training: the same description gives the same bits anywhere.
public struct ProbeRequest: Codable, Hashable, Sendable {
    /// Probe on the first N samples of the trial's training split (nil: all of it).
    public var samples: Int?
    public var hessian: HessianProbe?
    public var paths: PathProbe?
    /// The listed probes (``ProbeMethods``) by name, with their settings (nil: none, so
    /// descriptions from before the list keep their bytes).
    public var registered: [String: ProbeSettings]?

    public init(samples: Int? = nil, hessian: HessianProbe? = nil, paths: PathProbe? = nil, registered: [String: ProbeSettings]? = nil) {
        self.samples = samples
        self.hessian = hessian
        self.paths = paths
        self.registered = registered
    }

    func validate() throws(TrialDescriptionError) {
        if let samples, samples < 1 { throw TrialDescriptionError(field: "probes.samples", problem: "must be ≥ 1, got \(samples)") }
        try hessian?.validate()
        try paths?.validate()
        if let registered { try ProbeMethods.validate(registered) }
    }
}

/// The Hessian of the training objective at the end point.
public struct HessianProbe: Codable, Hashable, Sendable {
    /// How many of the largest and of the smallest eigenvalues Lanczos resolves.
    public var extremes: Int
    /// The most Lanczos steps spent on the extremes.
    public var maximumSteps: Int
    /// A Ritz value counts as resolved when its residual is at most this × |λmax|.
    public var tolerance: Double
    /// Stochastic Lanczos quadrature for the spectral density and the index (nil: none).
    public var density: DensityProbe?
    /// Networks with at most this many parameters also get the exact spectrum (dense Hessian
    /// from P products, then a symmetric eigensolver). 0: never.
    public var exactBelow: Int
    /// The index counts eigenvalues below −epsilon·λmax (near-zero eigenvalues have noise signs).
    public var epsilon: Double
    /// An end point is a minimum when λmin ≥ −minimumTolerance·λmax.
    public var minimumTolerance: Double

    public init(extremes: Int = 5, maximumSteps: Int = 300, tolerance: Double = 1e-6, density: DensityProbe? = nil,
                exactBelow: Int = 0, epsilon: Double = 0.01, minimumTolerance: Double = 0.01) {
        self.extremes = extremes
        self.maximumSteps = maximumSteps
        self.tolerance = tolerance
        self.density = density
        self.exactBelow = exactBelow
        self.epsilon = epsilon
        self.minimumTolerance = minimumTolerance
    }

    /// Checks the settings; errors name fields under `path` (`probes.hessian`, `curve.index`).
    func validate(field path: String = "probes.hessian") throws(TrialDescriptionError) {
        if extremes < 1 || extremes > 1000 { throw TrialDescriptionError(field: "\(path).extremes", problem: "must be in 1...1000, got \(extremes)") }
        if maximumSteps < 2 || maximumSteps > 10_000 { throw TrialDescriptionError(field: "\(path).maximumSteps", problem: "must be in 2...10000, got \(maximumSteps)") }
        if !(tolerance > 0 && tolerance < 1) { throw TrialDescriptionError(field: "\(path).tolerance", problem: "must be in (0, 1), got \(tolerance)") }
        if exactBelow < 0 || exactBelow > 20_000 {
            throw TrialDescriptionError(field: "\(path).exactBelow", problem: "must be in 0...20000 (a dense Hessian of 20,000 parameters is 3.2 GB), got \(exactBelow)")
        }
        if !(epsilon >= 0 && epsilon < 1) { throw TrialDescriptionError(field: "\(path).epsilon", problem: "must be in [0, 1), got \(epsilon)") }
        if !(minimumTolerance >= 0 && minimumTolerance < 1) {
            throw TrialDescriptionError(field: "\(path).minimumTolerance", problem: "must be in [0, 1), got \(minimumTolerance)")
        }
        try density?.validate(field: path + ".density")
    }
}

/// Stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017): `probes` Rademacher vectors, each
/// with `steps` Lanczos steps.
public struct DensityProbe: Codable, Hashable, Sendable {
    public var probes: Int
    public var steps: Int
    public init(probes: Int = 8, steps: Int = 80) {
        self.probes = probes
        self.steps = steps
    }

    func validate(field path: String) throws(TrialDescriptionError) {
        if probes < 1 || probes > 1000 { throw TrialDescriptionError(field: "\(path).probes", problem: "must be in 1...1000, got \(probes)") }
        if steps < 2 || steps > 10_000 { throw TrialDescriptionError(field: "\(path).steps", problem: "must be in 2...10000, got \(steps)") }
    }
}

/// The training objective along straight lines in parameter space (Goodfellow, Vinyals & Saxe 2015).
public struct PathProbe: Codable, Hashable, Sendable {
    /// Points along each line, ends included.
    public var points: Int
    /// The line from the initial parameters to the end point.
    public var initToEnd: Bool
    /// The line from this trial's end point to trial `partner`'s (trained again here, from its
    /// own description: the same bits as its own trial).
    public var partner: UInt64?

    public init(points: Int = 41, initToEnd: Bool = true, partner: UInt64? = nil) {
        self.points = points
        self.initToEnd = initToEnd
        self.partner = partner
    }

    func validate() throws(TrialDescriptionError) {
        if points < 2 || points > 10_000 { throw TrialDescriptionError(field: "probes.paths.points", problem: "must be in 2...10000, got \(points)") }
    }
}
