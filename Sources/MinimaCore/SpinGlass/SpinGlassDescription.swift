/// One trial of the spherical H-spin glass (Auffinger, Ben Arous & Černý 2013; the model behind
/// Choromanska et al. 2015): Λ spins w on the sphere Σ wᵢ² = Λ and the energy
///
///     H(w) = Λ^{−(H−1)/2} · Σ X_{i₁…i_H} w_{i₁}⋯w_{i_H},  X i.i.d. standard normal,
///
/// descended from a random start. Like a network trial, everything that determines the outcome
/// is here: the same description gives the same bits anywhere.
public struct SpinGlassDescription: Codable, Hashable, Sendable {
    public var seed: UInt64
    public var trialIndex: UInt64
    /// H, the number of spins in each interaction (2, 3 or 4).
    public var order: Int
    /// Λ, the number of spins.
    public var spins: Int
    /// The couplings are drawn from (seed, realization): the trial index for a realization per
    /// trial, or the sweep point's index for one realization shared by its restarts.
    public var realization: UInt64
    public var optimizer: SphereDescent
    public var schedule: LearningRateSchedule
    /// `maxEpochs` counts descent steps; `gradientTolerance` bounds the Riemannian gradient's norm.
    public var stopping: StoppingRule
    /// Also compute the index of the end point (the dense Riemannian Hessian; Λ ≤ 1000).
    public var computeIndex: Bool

    public init(seed: UInt64, trialIndex: UInt64, order: Int, spins: Int, realization: UInt64, optimizer: SphereDescent,
                schedule: LearningRateSchedule = .constant, stopping: StoppingRule, computeIndex: Bool = false) {
        self.seed = seed
        self.trialIndex = trialIndex
        self.order = order
        self.spins = spins
        self.realization = realization
        self.optimizer = optimizer
        self.schedule = schedule
        self.stopping = stopping
        self.computeIndex = computeIndex
    }

    /// The largest number of stored couplings (2²⁷ floats, 512 MB): H = 3 with Λ = 900, H = 4
    /// with Λ = 240.
    public static let maximumCouplings = 1 << 27

    public func validate() throws(TrialDescriptionError) {
        guard (2...4).contains(order) else { throw TrialDescriptionError(field: "order", problem: "must be 2, 3 or 4, got \(order)") }
        guard spins >= 2 && spins <= 100_000 else { throw TrialDescriptionError(field: "spins", problem: "must be in 2...100000, got \(spins)") }
        let count = SpinGlassCouplings.count(order: order, spins: spins)
        guard count <= Self.maximumCouplings else {
            throw TrialDescriptionError(field: "spins", problem: "H = \(order) with Λ = \(spins) has \(count) distinct couplings; at most \(Self.maximumCouplings) (512 MB)")
        }
        if computeIndex && spins > 1000 {
            throw TrialDescriptionError(field: "computeIndex", problem: "the index needs a dense Λ × Λ Hessian; Λ = \(spins) is more than 1000")
        }
        try optimizer.validate()
        try schedule.validate()
        try stopping.validate()
    }
}

/// Descent on the sphere: w ← normalize(w − η (P∇H + σξ)), with P∇H the gradient projected on the
/// tangent space (the Riemannian gradient) and ξ standard normal noise (σ = 0: projected
/// gradient descent).
public struct SphereDescent: Codable, Hashable, Sendable {
    public var learningRate: Double
    /// σ: the noise of noisy descent (a stand-in for SGD's minibatch noise), per step.
    public var noise: Double

    public init(learningRate: Double, noise: Double = 0) {
        self.learningRate = learningRate
        self.noise = noise
    }

    func validate() throws(TrialDescriptionError) {
        if !(learningRate.isFinite && learningRate > 0) {
            throw TrialDescriptionError(field: "optimizer.learningRate", problem: "must be a positive finite number, got \(learningRate)")
        }
        if !(noise.isFinite && noise >= 0) { throw TrialDescriptionError(field: "optimizer.noise", problem: "must be ≥ 0, got \(noise)") }
    }
}

/// How a spin-glass trial ended. Everything but ``timing`` is deterministic.
public struct SpinGlassResult: Codable, Hashable, Sendable {
    public var status: TrialStatus
    public var stopReason: StopReason
    public var steps: Int
    /// H(w)/Λ at the end point.
    public var energy: Double
    /// ‖P∇H‖ at the end point (the Riemannian gradient).
    public var gradientNorm: Double
    /// The fraction of the Λ − 1 tangent directions along which the Riemannian Hessian is negative.
    public var index: Double?
    /// The smallest and largest eigenvalue of the Riemannian Hessian on the tangent space.
    public var hessianMinimum: Double?
    public var hessianMaximum: Double?
    /// The largest |‖w‖²/Λ − 1| seen over the run (the sphere constraint).
    public var sphereDeviation: Double
    /// SHA-256 of the final spins as little-endian float64.
    public var pointSHA256: String
    public var timing: Timing

    public struct Timing: Codable, Hashable, Sendable {
        public var seconds: Double
        public var couplingSeconds: Double
        /// Energy-and-gradient evaluations per second of descent.
        public var evaluationsPerSecond: Double
        public var instructionSet: String
    }

    public var deterministicFingerprint: SpinGlassResult {
        var copy = self
        copy.timing = Timing(seconds: 0, couplingSeconds: 0, evaluationsPerSecond: 0, instructionSet: "")
        return copy
    }
}
