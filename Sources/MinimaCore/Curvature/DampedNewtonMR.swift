/// Newton-MR with a trust region: Levenberg–Marquardt on ψ = ½‖∇f‖².
///
/// Newton-MR's step p = −H⁺g is the minimum-norm minimizer of the model ½‖g + H p‖² of ψ (whose
/// Gauss–Newton matrix is H²). Where the gradient has weight on H's small eigenvalues — the
/// gradient-flat regions Frye et al. (2021) describe, and the neighbourhood of every degenerate
/// critical point — that step is long and unreliable, and an Armijo search along it shrinks the
/// step to nothing (measured on a linear autoencoder: 2 of 10 exact-Hessian Newton-MR searches
/// converged in 200 steps). Damping the same model,
///
///     p(μ) = argmin ½‖g + H p‖² + ½μ‖p‖²  =  −(H² + μI)⁻¹ H g,
///
/// with μ adapted by the ratio of actual to predicted decrease of ψ (Nielsen's rule: Madsen,
/// Nielsen & Tingleff 2004, §3.2), turns the step toward the gradient of ψ far from a critical
/// point and into Newton-MR's step (μ → 0) near one, where it converges quadratically (the
/// residual g is zero there). Measured with the same exact Hessians: 16 of 16 searches converged.
///
/// Every p(μ) lies in the Krylov space of H from g, so one Lanczos run (full reorthogonalization)
/// of k products gives H V = V̄ T̄ with T̄ (k+1)×k tridiagonal, and each μ is then a small dense
/// problem, min ‖T̄ y + ‖g‖e₁‖² + μ‖y‖², p = V y — rejected damping values cost one gradient each,
/// no products. Double precision, fixed order: deterministic for deterministic products.
public struct DampedNewtonMR: Sendable {
    public struct Settings: Hashable, Sendable {
        /// Lanczos steps (Hessian-vector products) per step.
        public var krylovDimension: Int
        /// The first step's damping relative to the largest diagonal entry of T̄ᵀT̄ (Madsen et
        /// al.'s τ: 10⁻³ for a start believed far from the solution).
        public var initialDamping: Double
        /// Damping values tried before a step is given up.
        public var maximumRejections: Int

        public init(krylovDimension: Int = 100, initialDamping: Double = 1e-3, maximumRejections: Int = 40) {
            self.krylovDimension = krylovDimension
            self.initialDamping = initialDamping
            self.maximumRejections = maximumRejections
        }
    }

    public let settings: Settings
    /// μ, carried from step to step (nil before the first), and Nielsen's growth factor ν.
    public private(set) var damping: Double?
    private var growth = 2.0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// One step from the current point, whose gradient is `gradient`. The outcome's `stepSize`
    /// is 1 (the damping shapes the step, not its length); `damping` is μ of the accepted step
    /// relative to ‖H‖².
    public mutating func step(_ objective: some SecondOrderObjective, gradient: [Double]) -> NewtonMR.Outcome {
        let n = objective.dimension
        precondition(gradient.count == n)
        let norm = { (v: [Double]) in v.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: n) } }
        let gradientNorm = norm(gradient)
        var outcome = NewtonMR.Outcome(moved: false, stepSize: 0, gradientNormBefore: gradientNorm, gradientNormAfter: gradientNorm, gradientAfter: nil,
                                       hessianGradientNorm: 0, solverEnding: .zeroRightHandSide, solverIterations: 0, operatorNorm: 0, kernelFraction: 0)
        guard gradientNorm > 0 && gradientNorm.isFinite else { return outcome }

        var lanczos = Lanczos(dimension: n, maximumSteps: settings.krylovDimension, start: gradient)
        while lanczos.canStep && lanczos.steps < settings.krylovDimension {
            lanczos.step { objective.hessianVectorProduct($0, into: $1) }
        }
        let model = KrylovLeastSquares(alphas: lanczos.alphas, betas: lanczos.betas, exhausted: lanczos.isExhausted, rightHandSide: gradientNorm)
        outcome.solverIterations = lanczos.steps
        outcome.operatorNorm = model.frobeniusNorm
        outcome.hessianGradientNorm = gradientNorm * model.firstColumnNorm
        guard outcome.hessianGradientNorm.isFinite && model.frobeniusNorm > 0 else { return outcome }
        // Where the undamped model leaves g: the share of ‖g‖² in H's (near-)kernel, as far as
        // the Krylov space sees it.
        let floor = (Double.ulpOfOne * model.frobeniusNorm) * (Double.ulpOfOne * model.frobeniusNorm)
        let undamped = model.solve(damping: floor)
        outcome.kernelFraction = min(1, 2 * undamped.modelValue / (gradientNorm * gradientNorm))
        outcome.solverEnding = outcome.kernelFraction <= 1e-20 ? .solved : (lanczos.isExhausted ? .leastSquares : .iterationLimit)

        var mu = damping ?? settings.initialDamping * model.largestNormalDiagonal
        let psi = 0.5 * gradientNorm * gradientNorm
        objective.savePoint()
        var step = [Double](repeating: 0, count: n)
        for _ in 0..<settings.maximumRejections {
            let proposal = model.solve(damping: max(mu, floor))
            let predicted = psi - proposal.modelValue
            step.withUnsafeMutableBufferPointer { lanczos.combine(proposal.coefficients, into: $0.baseAddress!) }
            outcome.lineSearchTrials += 1
            step.withUnsafeBufferPointer { objective.moveFromSaved(by: $0.baseAddress!, scale: 1) }
            let trial = objective.gradient()
            let trialNorm = norm(trial)
            let value = 0.5 * trialNorm * trialNorm
            let ratio = (psi - value) / predicted
            if value.isFinite && predicted > 0 && ratio > 0 {
                let cube = (2 * ratio - 1) * (2 * ratio - 1) * (2 * ratio - 1)
                damping = max(mu * max(1.0 / 3, 1 - cube), floor)
                growth = 2
                outcome.moved = true
                outcome.stepSize = 1
                outcome.damping = mu / (model.frobeniusNorm * model.frobeniusNorm)
                outcome.gradientAfter = trial
                outcome.gradientNormAfter = trialNorm
                return outcome
            }
            mu *= growth
            growth *= 2
            if !mu.isFinite { break }
        }
        damping = mu.isFinite ? mu : nil
        objective.restoreSaved()
        return outcome
    }
}

/// The small problem inside a Krylov space: with H V_k = V_{k+1} T̄ (T̄ tridiagonal, (k+1)×k, its
/// last row β_k e_kᵀ — zero when the space is invariant) and g = β e₁ in V's coordinates,
/// min_y ‖T̄ y + β e₁‖² + μ‖y‖², solved by Householder QR of [T̄; √μ I] in a fixed order.
struct KrylovLeastSquares {
    let k: Int
    /// T̄ by columns, (k+1) rows each.
    let matrix: [Double]
    let rightHandSide: Double

    init(alphas: [Double], betas: [Double], exhausted: Bool, rightHandSide: Double) {
        k = alphas.count
        var t = [Double](repeating: 0, count: (k + 1) * k)
        for j in 0..<k {
            t[j * (k + 1) + j] = alphas[j]
            if j > 0 { t[j * (k + 1) + j - 1] = betas[j - 1] }
            if j + 1 < k || !exhausted { t[j * (k + 1) + j + 1] = betas[j] }
        }
        matrix = t
        self.rightHandSide = rightHandSide
    }

    var frobeniusNorm: Double { matrix.reduce(0) { $0.addingProduct($1, $1) }.squareRoot() }
    /// ‖T̄ e₁‖ = ‖H v₁‖.
    var firstColumnNorm: Double { matrix[0 ..< k + 1].reduce(0) { $0.addingProduct($1, $1) }.squareRoot() }
    /// max_j (T̄ᵀT̄)_jj, the scale of the first damping.
    var largestNormalDiagonal: Double {
        (0..<k).map { j in matrix[j * (k + 1) ..< (j + 1) * (k + 1)].reduce(0) { $0.addingProduct($1, $1) } }.max() ?? 0
    }

    struct Solution {
        var coefficients: [Double]
        /// ½‖T̄ y + β e₁‖²: the model of ψ after the step.
        var modelValue: Double
    }

    func solve(damping mu: Double) -> Solution {
        let rows = 2 * k + 1
        // [T̄; √μ I] by columns, and the right-hand side −β e₁ (padded with zeros).
        var a = [Double](repeating: 0, count: rows * k)
        let root = mu.squareRoot()
        for j in 0..<k {
            for i in 0...k { a[j * rows + i] = matrix[j * (k + 1) + i] }
            a[j * rows + k + 1 + j] = root
        }
        var b = [Double](repeating: 0, count: rows)
        b[0] = -rightHandSide
        for j in 0..<k {
            let column = j * rows
            var length = 0.0
            for i in j..<rows { length = length.addingProduct(a[column + i], a[column + i]) }
            length = length.squareRoot()
            guard length > 0 else { continue }
            let alpha = a[column + j] > 0 ? -length : length
            a[column + j] -= alpha
            var vv = 0.0
            for i in j..<rows { vv = vv.addingProduct(a[column + i], a[column + i]) }
            // Reflect the remaining columns and b by I − 2vvᵀ/vᵀv.
            for other in (j + 1)..<k {
                let o = other * rows
                var dot = 0.0
                for i in j..<rows { dot = dot.addingProduct(a[column + i], a[o + i]) }
                let scale = 2 * dot / vv
                for i in j..<rows { a[o + i] = a[o + i].addingProduct(-scale, a[column + i]) }
            }
            var dot = 0.0
            for i in j..<rows { dot = dot.addingProduct(a[column + i], b[i]) }
            let scale = 2 * dot / vv
            for i in j..<rows { b[i] = b[i].addingProduct(-scale, a[column + i]) }
            a[column + j] = alpha
        }
        var y = [Double](repeating: 0, count: k)
        for j in stride(from: k - 1, through: 0, by: -1) {
            var s = b[j]
            for other in (j + 1)..<k { s = s.addingProduct(-a[other * rows + j], y[other]) }
            let diagonal = a[j * rows + j]
            y[j] = diagonal != 0 ? s / diagonal : 0
        }
        // The model's value without the damping term: ½‖T̄ y + β e₁‖².
        var residual = 0.0
        for i in 0...k {
            var r = i == 0 ? rightHandSide : 0
            for j in max(0, i - 1) ... min(k - 1, i + 1) { r = r.addingProduct(matrix[j * (k + 1) + i], y[j]) }
            residual = residual.addingProduct(r, r)
        }
        return Solution(coefficients: y, modelValue: 0.5 * residual)
    }
}
