/// MINRES-QLP (Choi, Paige & Saunders 2011): the minimum-length solution of A x = b, or of
/// min ‖A x − b‖ when the system is inconsistent, for a symmetric A — indefinite or singular —
/// given only as a product. Newton-MR's step solver: on a Hessian with a kernel (every network
/// has symmetries) the minimum-norm least-squares step is the one that does not wander along the
/// kernel.
///
/// Lanczos tridiagonalizes A from b (T_k = V_kᵀ A V_k); a QR factorization of T_k by left
/// reflections gives MINRES's residual-minimizing iterate, and an LQ factorization of the
/// triangle by right reflections gives the minimum-length one, so x_k = W_k t_k with W_k = V_k P_kᵀ
/// and L_k t_k = z_k. Each step keeps the last three columns of W and the last three entries of
/// t; x is updated with the column that no later reflection changes. Double precision throughout;
/// deterministic for a deterministic product (no parallel reduction in here).
public enum MinresQLP {
    public struct Settings: Hashable, Sendable {
        /// Stop when ‖r‖ ≤ rtol·‖b‖, or ‖A r‖ ≤ rtol·‖A‖·‖r‖ (a least-squares solution).
        public var relativeTolerance: Double
        /// The most Lanczos steps (products with A).
        public var maximumIterations: Int
        /// Stop when the estimated condition of the factorized part passes this.
        public var conditionLimit: Double

        /// The defaults of Frye et al.'s `autocrit` (rtol 10⁻¹⁰, 25 iterations) and of the
        /// authors' MATLAB code (condition limit 10¹⁵).
        public init(relativeTolerance: Double = 1e-10, maximumIterations: Int = 25, conditionLimit: Double = 1e15) {
            self.relativeTolerance = relativeTolerance
            self.maximumIterations = maximumIterations
            self.conditionLimit = conditionLimit
        }
    }

    /// Why the iteration stopped.
    public enum Ending: String, Hashable, Sendable, Codable {
        /// ‖r‖ ≤ rtol·‖b‖: a solution.
        case solved
        /// The system is inconsistent and x is (close to) its minimum-length least-squares solution.
        case leastSquares = "least-squares"
        /// The estimated condition passed the limit.
        case conditionLimit = "condition-limit"
        /// The iteration budget was spent.
        case iterationLimit = "iteration-limit"
        /// b = 0: x = 0.
        case zeroRightHandSide = "zero-right-hand-side"
    }

    public struct Solution: Sendable {
        public var x: [Double]
        public var ending: Ending
        public var iterations: Int
        /// Estimates from the recurrences: ‖b − A x‖ (of the last MINRES iterate — not exact when
        /// the kernel's direction was dropped), ‖A (b − A x)‖ (of the previous iterate), ‖A‖ and
        /// its condition.
        public var residualNorm: Double
        public var operatorResidualNorm: Double
        public var operatorNorm: Double
        public var condition: Double
    }

    /// The plane reflection [c s; s −c] that maps (a, b) to (r, 0), r ≥ 0 (Choi's SymOrtho,
    /// written to avoid overflow and to be exact when either entry is zero).
    static func reflection(_ a: Double, _ b: Double) -> (c: Double, s: Double, r: Double) {
        if b == 0 { return (a == 0 ? 1 : (a < 0 ? -1 : 1), 0, abs(a)) }
        if a == 0 { return (0, b < 0 ? -1 : 1, abs(b)) }
        if abs(b) > abs(a) {
            let t = a / b
            let s = (b < 0 ? -1.0 : 1.0) / (1 + t * t).squareRoot()
            return (s * t, s, b / s)
        }
        let t = b / a
        let c = (a < 0 ? -1.0 : 1.0) / (1 + t * t).squareRoot()
        return (c, c * t, a / c)
    }

    /// Solves A x = b (or min ‖A x − b‖ with minimum ‖x‖); `apply(v, out)` sets out = A v.
    public static func solve(_ b: [Double], settings: Settings = Settings(),
                             apply: (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void) -> Solution {
        let n = b.count
        var x = [Double](repeating: 0, count: n)
        let beta1 = b.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: n) }
        guard beta1 > 0 && beta1.isFinite else {
            return Solution(x: x, ending: .zeroRightHandSide, iterations: 0, residualNorm: beta1, operatorResidualNorm: 0, operatorNorm: 0, condition: 0)
        }
        // Lanczos vectors v_{k−1}, v_k and the next one being built; the directions ẘ_{k−1} (or
        // w̄ for k = 1) and w̄_k.
        var previousV = [Double](repeating: 0, count: n)
        var v = b.map { $0 / beta1 }
        var next = [Double](repeating: 0, count: n)
        var previousW = [Double](repeating: 0, count: n)
        var w = [Double](repeating: 0, count: n)

        // Lanczos: β_k. Left reflections: (c, s) of steps k−1 and k−2, ζ̄. Right reflections and
        // L's entries: μ̄_{k−1}, μ̈ ("μbis"), ψ̄, and the forward substitution's τ and ξ.
        var beta = beta1
        var c1 = 1.0, s1 = 0.0, c2 = 1.0, s2 = 0.0
        var zetaBar = beta1
        var muBarPrevious = 0.0, muBisPrevious = 0.0, muBisPreviousPrevious = 0.0
        var psiBarPreviousPrevious = 0.0
        var tau = 0.0, tauPrevious = 0.0, tauPreviousPrevious = 0.0
        var xi = 0.0, xiPrevious = 0.0
        var gammaBar = 0.0, epsilon = 0.0
        var operatorNormSquared = 0.0, muMinimum = Double.infinity, muMaximum = 0.0
        var residualNorm = beta1, operatorResidualNorm = 0.0, operatorNorm = 0.0, condition = 0.0
        let breakdownTolerance = Double.ulpOfOne.squareRoot() * Double.ulpOfOne.squareRoot().squareRoot()   // ε^(3/4)
        var iteration = 0
        var ending = Ending.iterationLimit
        var dropLastDirection = false

        while iteration < settings.maximumIterations {
            iteration += 1
            let k = iteration
            // Lanczos: β_{k+1} v_{k+1} = A v_k − α_k v_k − β_k v_{k−1}.
            v.withUnsafeBufferPointer { vp in next.withUnsafeMutableBufferPointer { apply(vp.baseAddress!, $0.baseAddress!) } }
            if k >= 2 { for i in 0..<n { next[i] -= beta * previousV[i] } }
            let alpha = zip(v, next).reduce(0.0) { $0.addingProduct($1.0, $1.1) }
            for i in 0..<n { next[i] -= alpha * v[i] }
            let nextBeta = next.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: n) }
            if nextBeta > breakdownTolerance { for i in 0..<n { next[i] /= nextBeta } }
            operatorNormSquared += alpha * alpha + beta * beta + nextBeta * nextBeta

            // QR of T: the two previous left reflections act on column k, then a new one
            // annihilates β_{k+1}. Column k of R is (ε_{k−2}, γ_{k−1}, λ_k).
            if k >= 3 {
                epsilon = s2 * beta
                gammaBar = -c2 * beta
            } else if k == 2 {
                gammaBar = beta
            }
            var gamma = 0.0, lambdaBar = alpha
            if k >= 2 {
                gamma = c1 * gammaBar + s1 * alpha
                lambdaBar = s1 * gammaBar - c1 * alpha
            }
            let (c, s, lambda) = reflection(lambdaBar, nextBeta)
            let zeta = c * zetaBar
            let nextZetaBar = s * zetaBar

            // LQ of R: right reflections on columns (k−2, k) and (k−1, k) make L lower triangular;
            // its last rows are (ρ_{k−2}, ψ̄_{k−1}, μ̄_k), (ψ_{k−2}, μ̈_{k−1}) and μ_{k−2}.
            var muBar = lambda, rhoPreviousPrevious = 0.0, psiPreviousPrevious = 0.0, muPreviousPrevious = 0.0
            var cp = 1.0, sp = 0.0, cd = 1.0, sd = 0.0
            var psiBar = 0.0
            if k == 2 {
                (cp, sp, muBisPrevious) = reflection(muBarPrevious, gamma)
                psiBar = sp * lambda
                muBar = -cp * lambda
            } else if k >= 3 {
                (cp, sp, muPreviousPrevious) = reflection(muBisPreviousPrevious, epsilon)
                psiPreviousPrevious = cp * psiBarPreviousPrevious + sp * gamma
                let theta = sp * psiBarPreviousPrevious - cp * gamma
                rhoPreviousPrevious = sp * lambda
                let eta = -cp * lambda
                (cd, sd, muBisPrevious) = reflection(muBarPrevious, theta)
                psiBar = sd * eta
                muBar = -cd * eta
            }

            // Forward substitution L t = z, for the last three entries (earlier ones are final).
            if k == 1 {
                tau = zeta / muBar
            } else if k == 2 {
                tauPrevious = tau * muBarPrevious / muBisPrevious
                xi = zeta
                tau = (xi - psiBar * tauPrevious) / muBar
            } else {
                tauPreviousPrevious = tauPrevious * muBisPreviousPrevious / muPreviousPrevious
                tauPrevious = (xiPrevious - psiPreviousPrevious * tauPreviousPrevious) / muBisPrevious
                xi = zeta - rhoPreviousPrevious * tauPreviousPrevious
                tau = (xi - psiBar * tauPrevious) / muBar
            }

            // Directions W = V Pᵀ: the same right reflections on (ẘ_{k−2}, w̄_{k−1}, v_k). The
            // column w_{k−2} is final, and x takes its share.
            if k == 1 {
                w = v
            } else if k == 2 {
                for i in 0..<n {
                    let old = w[i]
                    w[i] = sp * old - cp * v[i]
                    previousW[i] = cp * old + sp * v[i]
                }
            } else {
                for i in 0..<n {
                    let settled = cp * previousW[i] + sp * v[i]              // w_{k−2}
                    x[i] = x[i].addingProduct(tauPreviousPrevious, settled)
                    let auxiliary = sp * previousW[i] - cp * v[i]
                    let barPrevious = w[i]
                    previousW[i] = cd * barPrevious + sd * auxiliary          // ẘ_{k−1}
                    w[i] = sd * barPrevious - cd * auxiliary                   // w̄_k
                }
            }
            swap(&previousV, &v)
            swap(&v, &next)

            // Estimates and stopping tests.
            residualNorm = abs(nextZetaBar)
            operatorResidualNorm = abs(zetaBar) * (lambdaBar * lambdaBar + (c1 * nextBeta) * (c1 * nextBeta)).squareRoot()
            operatorNorm = operatorNormSquared.squareRoot()
            let pivots = k == 1 ? [abs(muBar)] : (k == 2 ? [muBisPrevious, abs(muBar)] : [muPreviousPrevious, muBisPrevious, abs(muBar)])
            for pivot in pivots { muMaximum = max(muMaximum, pivot); muMinimum = min(muMinimum, pivot) }
            condition = muMinimum > 0 ? muMaximum / muMinimum : .infinity
            let breakdown = nextBeta <= breakdownTolerance * max(1, operatorNorm)
            let solved = residualNorm <= settings.relativeTolerance * beta1
            let leastSquares = !solved && (operatorResidualNorm <= settings.relativeTolerance * operatorNorm * residualNorm || breakdown)

            // Shift the recurrences.
            if k >= 2 {
                s2 = s1; c2 = c1
                xiPrevious = xi
                muBisPreviousPrevious = muBisPrevious
                psiBarPreviousPrevious = psiBar
            }
            s1 = s; c1 = c
            muBarPrevious = muBar
            zetaBar = nextZetaBar
            beta = nextBeta

            if solved { ending = .solved; break }
            if leastSquares {
                ending = .leastSquares
                // The last pivot is (near) zero: its direction is the kernel's, which the
                // minimum-length solution leaves out.
                dropLastDirection = abs(muBar) <= breakdownTolerance * max(1, operatorNorm)
                break
            }
            if condition >= settings.conditionLimit { ending = .conditionLimit; dropLastDirection = true; break }
        }
        // The last two columns, which no later reflection will change now.
        if iteration >= 2 { for i in 0..<n { x[i] = x[i].addingProduct(tauPrevious, previousW[i]) } }
        if !dropLastDirection && tau.isFinite { for i in 0..<n { x[i] = x[i].addingProduct(tau, w[i]) } }
        return Solution(x: x, ending: ending, iterations: iteration, residualNorm: residualNorm,
                        operatorResidualNorm: operatorResidualNorm, operatorNorm: operatorNorm, condition: condition)
    }
}
