/// One step of Newton-MR (Roosta et al. 2018), as Frye et al. (2019, 2021) use it to find
/// critical points of any index: the step p = −H⁺g — the minimum-length least-squares solution of
/// H p = −g by ``MinresQLP``, so a singular Hessian is handled — followed by an Armijo line search
/// on ‖∇f‖²: with ψ(x) = ½‖∇f(x)‖² and ψ's slope ⟨p, H g⟩ along p, the step size α is accepted
/// when ψ(x + αp) ≤ ψ(x) + ρ α ⟨p, H g⟩. α starts at 1 and is doubled while that keeps holding
/// and ψ keeps falling, or halved until it holds. Everything is in double precision and
/// deterministic for deterministic products.
public struct NewtonMR {
    public struct Settings: Hashable, Sendable {
        public var solver: MinresQLP.Settings
        /// ρ of the Armijo condition (autocrit: 10⁻⁴).
        public var sufficientDecrease: Double
        /// Halvings before the step is given up, and doublings tried past α = 1.
        public var maximumHalvings: Int
        public var maximumDoublings: Int

        public init(solver: MinresQLP.Settings = MinresQLP.Settings(), sufficientDecrease: Double = 1e-4,
                    maximumHalvings: Int = 30, maximumDoublings: Int = 10) {
            self.solver = solver
            self.sufficientDecrease = sufficientDecrease
            self.maximumHalvings = maximumHalvings
            self.maximumDoublings = maximumDoublings
        }
    }

    /// What one step did and saw.
    public struct Outcome: Sendable {
        /// False when no step size satisfied the Armijo condition (the point did not move).
        public var moved: Bool
        public var stepSize: Double
        public var gradientNormBefore: Double
        /// ‖∇f‖ where the step ended (where it started when it did not move).
        public var gradientNormAfter: Double
        /// The gradient there, for the next step (nil when it did not move).
        public var gradientAfter: [Double]?
        /// ‖H g‖ at the start: small against ‖H‖‖g‖ where the gradient lies in H's near-kernel.
        public var hessianGradientNorm: Double
        /// How the solver ended, its iterations, and its ‖H‖ estimate.
        public var solverEnding: MinresQLP.Ending
        public var solverIterations: Int
        public var operatorNorm: Double
        /// The fraction of ‖g‖² the step cannot remove: ‖H p + g‖² / ‖g‖², the share of g in H's
        /// (near-)kernel.
        public var kernelFraction: Double
        /// Gradients the line search (or the damping's trials) measured.
        public var lineSearchTrials = 0
        /// For ``DampedNewtonMR``: the accepted step's damping μ relative to ‖H‖² (nil otherwise).
        public var damping: Double? = nil
    }

    public let settings: Settings
    public init(settings: Settings = Settings()) { self.settings = settings }

    public func step(_ objective: some SecondOrderObjective, gradient: [Double]) -> Outcome {
        let n = objective.dimension
        precondition(gradient.count == n)
        let norm = { (v: [Double]) in v.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: n) } }
        let gradientNorm = norm(gradient)
        var outcome = Outcome(moved: false, stepSize: 0, gradientNormBefore: gradientNorm, gradientNormAfter: gradientNorm, gradientAfter: nil,
                              hessianGradientNorm: 0, solverEnding: .zeroRightHandSide, solverIterations: 0, operatorNorm: 0, kernelFraction: 0)
        guard gradientNorm > 0 && gradientNorm.isFinite else { return outcome }
        let product = { (input: [Double]) -> [Double] in
            var output = [Double](repeating: 0, count: n)
            input.withUnsafeBufferPointer { i in output.withUnsafeMutableBufferPointer { objective.hessianVectorProduct(i.baseAddress!, into: $0.baseAddress!) } }
            return output
        }
        let hessianGradient = product(gradient)
        outcome.hessianGradientNorm = norm(hessianGradient)
        let solution = MinresQLP.solve(gradient.map { -$0 }, settings: settings.solver) { objective.hessianVectorProduct($0, into: $1) }
        outcome.solverEnding = solution.ending
        outcome.solverIterations = solution.iterations
        outcome.operatorNorm = solution.operatorNorm
        let step = solution.x
        let applied = product(step)
        let unexplained = zip(applied, gradient).map { $0 + $1 }
        outcome.kernelFraction = min(1, (norm(unexplained) / gradientNorm) * (norm(unexplained) / gradientNorm))
        // ψ's slope along p; not negative: p does not lower ‖∇f‖ (g lies in H's kernel).
        let slope = zip(step, hessianGradient).reduce(0.0) { $0.addingProduct($1.0, $1.1) }
        guard slope < 0 && slope.isFinite else { return outcome }

        let psi = 0.5 * gradientNorm * gradientNorm
        objective.savePoint()
        func trial(_ alpha: Double) -> (psi: Double, gradient: [Double])? {
            outcome.lineSearchTrials += 1
            step.withUnsafeBufferPointer { objective.moveFromSaved(by: $0.baseAddress!, scale: alpha) }
            let g = objective.gradient()
            let value = 0.5 * norm(g) * norm(g)
            return value.isFinite ? (value, g) : nil
        }
        func armijo(_ alpha: Double, _ value: Double) -> Bool { value <= psi + settings.sufficientDecrease * alpha * slope }

        var accepted: (alpha: Double, psi: Double, gradient: [Double])?
        var alpha = 1.0
        if let first = trial(alpha), armijo(alpha, first.psi) {
            accepted = (alpha, first.psi, first.gradient)
            for _ in 0..<settings.maximumDoublings {
                let larger = alpha * 2
                guard let next = trial(larger), armijo(larger, next.psi), next.psi < accepted!.psi else { break }
                alpha = larger
                accepted = (alpha, next.psi, next.gradient)
            }
        } else {
            for _ in 0..<settings.maximumHalvings {
                alpha *= 0.5
                if let next = trial(alpha), armijo(alpha, next.psi) { accepted = (alpha, next.psi, next.gradient); break }
            }
        }
        guard let accepted else { objective.restoreSaved(); return outcome }
        step.withUnsafeBufferPointer { objective.moveFromSaved(by: $0.baseAddress!, scale: accepted.alpha) }
        outcome.moved = true
        outcome.stepSize = accepted.alpha
        outcome.gradientAfter = accepted.gradient
        outcome.gradientNormAfter = (2 * accepted.psi).squareRoot()
        return outcome
    }
}

/// How a search for a critical point ended (Frye et al. 2019): at a critical point, in a
/// gradient-flat region — where the gradient lies in the Hessian's near-kernel, so Newton steps
/// cannot lower ‖∇f‖ — or stalled elsewhere.
public enum CriticalPointSearchEnd: String, Hashable, Sendable, Codable {
    /// ‖∇f‖ ≤ tolerance · ‖∇f₀‖.
    case converged
    /// ‖H g‖ ≤ flatness · ‖H‖ ‖g‖, or most of g in H's near-kernel.
    case gradientFlat = "gradient-flat"
    case stalled

    /// The classification of where a search stopped, from its last step's measurements.
    public static func classify(gradientNorm: Double, initialGradientNorm: Double, tolerance: Double,
                                hessianGradientNorm: Double, operatorNorm: Double, kernelFraction: Double,
                                flatness: Double = 1e-3) -> CriticalPointSearchEnd {
        if gradientNorm <= tolerance * initialGradientNorm { return .converged }
        if hessianGradientNorm <= flatness * operatorNorm * gradientNorm || kernelFraction >= 0.5 { return .gradientFlat }
        return .stalled
    }
}

/// Where a Newton-MR search ended and what its last step measured (a trial result's `search`).
public struct CriticalPointSearch: Codable, Hashable, Sendable {
    public var end: CriticalPointSearchEnd
    /// The share of ‖∇L‖² in the Hessian's near-kernel, ‖H p + g‖²/‖g‖² of the last step.
    public var kernelFraction: Double
    /// ‖H g‖ / (‖H‖ ‖g‖) at the last step (‖H‖ as MINRES-QLP estimated it).
    public var relativeHessianGradient: Double
    /// How the last step's MINRES-QLP ended, and its iterations.
    public var solverEnding: MinresQLP.Ending
    public var solverIterations: Int
    /// For `newton-mr-lm`: the last accepted step's damping μ relative to ‖H‖² (small: the step
    /// was Newton-MR's; large: it was a short step down ‖∇L‖²'s gradient).
    public var damping: Double?
    /// With `precision: 64`: the training loss at the end point in double precision (the
    /// result's losses are the float32 network's, rounded from it).
    public var loss: Double?

    public init(end: CriticalPointSearchEnd, kernelFraction: Double, relativeHessianGradient: Double,
                solverEnding: MinresQLP.Ending, solverIterations: Int, damping: Double? = nil, loss: Double? = nil) {
        self.end = end
        self.kernelFraction = kernelFraction
        self.relativeHessianGradient = relativeHessianGradient
        self.solverEnding = solverEnding
        self.solverIterations = solverIterations
        self.damping = damping
        self.loss = loss
    }
}
