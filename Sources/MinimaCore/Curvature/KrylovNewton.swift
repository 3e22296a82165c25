/// A twice-differentiable objective at a point that a method can move: what the Krylov Newton
/// methods need. ``LossSurface`` is one (a network's training objective); tests use closed-form
/// functions.
public protocol SecondOrderObjective: AnyObject {
    /// The number of coordinates.
    var dimension: Int { get }
    /// f at the current point.
    func objective() -> Double
    /// ∇f at the current point.
    func gradient() -> [Double]
    /// output ← ∇²f · input at the current point, both `dimension` long.
    func hessianVectorProduct(_ input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>)
    /// Remembers the current point (the base of ``moveFromSaved(by:scale:)``).
    func savePoint()
    /// Moves to the saved point + scale·step.
    func moveFromSaved(by step: UnsafePointer<Double>, scale: Double)
    /// Moves back to the saved point.
    func restoreSaved()
}

/// One step of damped Newton or saddle-free Newton in the Krylov subspace of the Hessian from
/// the gradient (Dauphin et al. 2014, Algorithm 1).
///
/// k Lanczos steps from g give an orthonormal basis V and the tridiagonal T = VᵀHV; with
/// T = SΘSᵀ, each damping δ of the grid proposes Δ_δ = −V S φ_δ(Θ) Sᵀ Vᵀg, where
///   Newton:            φ_δ(θ) = θ / (θ² + δ²)  (the least-squares Newton step; δ = 0: Θ⁻¹)
///   saddle-free Newton: φ_δ(θ) = 1 / (|θ| + δ)
/// and the step is the proposal that lowers the method's measure most: ‖∇f‖ for Newton (which
/// seeks critical points of any index), f for saddle-free Newton (which descends, repelled by
/// negative curvature). When no proposal lowers it, the best is halved up to eight times; when
/// none of those does either, the method stays where it is (``Outcome/stalled``). Everything is
/// deterministic: the same objective and gradient give the same step.
public struct KrylovNewton {
    public enum Method: Sendable { case newton, saddleFree }

    /// What one step did.
    public struct Outcome {
        /// False when no step improved the measure (the point did not move).
        public var moved: Bool
        /// The measure (‖∇f‖ or f) after the step (where it started when it did not move).
        public var after: Double
        /// The damping of the step taken, and how many times it was halved.
        public var damping: Double?
        public var halvings: Int
        /// The Krylov dimension reached (below k when the space was exhausted).
        public var subspace: Int
        /// Ritz values of H in the subspace, ascending.
        public var ritzValues: [Double]
        /// The gradient at the new point when the method computed it (Newton), for the next step.
        public var gradientAfter: [Double]?
    }

    /// Ritz values below this × the largest are treated as zero curvature.
    public static let resolvableCurvature = 1e-6

    public let method: Method
    public let settings: KrylovSettings

    public init(method: Method, settings: KrylovSettings) {
        self.method = method
        self.settings = settings
    }

    /// The quantity the method lowers, at the objective's current point.
    public func measure(_ objective: some SecondOrderObjective, gradient: [Double]? = nil) -> (value: Double, gradient: [Double]?) {
        switch method {
        case .saddleFree: return (objective.objective(), nil)
        case .newton:
            let g = gradient ?? objective.gradient()
            return (g.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: $0.count) }, g)
        }
    }

    /// One step from the objective's current point, where the gradient is `gradient` and the
    /// measure is `current`.
    public func step(_ objective: some SecondOrderObjective, gradient: [Double], current: Double) -> Outcome {
        let n = objective.dimension
        precondition(gradient.count == n)
        let gradientNorm = gradient.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: n) }
        var outcome = Outcome(moved: false, after: current, damping: nil, halvings: 0, subspace: 0, ritzValues: [], gradientAfter: nil)
        guard gradientNorm > 0 && gradientNorm.isFinite else { return outcome }

        var lanczos = Lanczos(dimension: n, maximumSteps: settings.dimension, start: gradient)
        while lanczos.canStep { lanczos.step { objective.hessianVectorProduct($0, into: $1) } }
        let m = lanczos.steps
        outcome.subspace = m
        guard let (values, rows) = try? SymmetricEigenvalues.tridiagonal(
            diagonal: lanczos.alphas, offDiagonal: Array(lanczos.betas.prefix(m - 1)), tracking: Array(0..<m)) else { return outcome }
        outcome.ritzValues = values
        // Vᵀg = ‖g‖e₁ (the basis starts at g/‖g‖), so Sᵀ Vᵀg = ‖g‖ × the first row of S.
        let projected = values.indices.map { gradientNorm * rows[0][$0] }
        // Curvature below what float32 products resolve (≈ 10⁻⁶ of the largest) is treated as
        // zero: those directions are left out of the undamped step (a pseudo-inverse), as exact
        // symmetries (e.g. softmax's shift of all output biases) would otherwise send it to infinity.
        let largest = values.reduce(0) { max($0, abs($1)) }
        let negligible = Self.resolvableCurvature * largest

        let proposal = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { proposal.deallocate() }
        func propose(damping: Double) {
            var coefficients = [Double](repeating: 0, count: m)   // y = S φ(Θ) (−Sᵀ Vᵀ g)
            for i in 0..<m {
                let theta = values[i]
                let phi: Double
                switch method {
                case .newton:
                    let denominator = theta * theta + damping * damping
                    phi = abs(theta) <= negligible && damping == 0 ? 0 : theta / denominator
                case .saddleFree:
                    phi = abs(theta) + damping <= negligible ? 0 : 1 / (abs(theta) + damping)
                }
                let c = -phi * projected[i]
                if c != 0 { for r in 0..<m { coefficients[r] += rows[r][i] * c } }
            }
            lanczos.combine(coefficients, into: proposal)
        }

        objective.savePoint()
        var best: (value: Double, damping: Double, gradient: [Double]?)?
        for damping in settings.damping {
            propose(damping: damping)
            objective.moveFromSaved(by: proposal, scale: 1)
            let (value, g) = measure(objective)
            if value.isFinite && value < (best?.value ?? .infinity) { best = (value, damping, g) }
        }
        guard let chosen = best else { objective.restoreSaved(); return outcome }
        propose(damping: chosen.damping)
        var stepScale = 1.0, accepted: (value: Double, gradient: [Double]?)? = chosen.value < current ? (chosen.value, chosen.gradient) : nil
        var halvings = 0
        while accepted == nil && halvings < 8 {
            halvings += 1
            stepScale *= 0.5
            objective.moveFromSaved(by: proposal, scale: stepScale)
            let (value, g) = measure(objective)
            if value.isFinite && value < current { accepted = (value, g) }
        }
        guard let accepted else { objective.restoreSaved(); return outcome }
        if halvings == 0 { objective.moveFromSaved(by: proposal, scale: stepScale) }
        outcome.moved = true
        outcome.after = accepted.value
        outcome.damping = chosen.damping
        outcome.halvings = halvings
        outcome.gradientAfter = accepted.gradient
        return outcome
    }
}
