/// The Lanczos iteration with full reorthogonalization (each new vector is orthogonalized
/// against all previous ones twice — "twice is enough", Parlett 1980), for a symmetric operator
/// given as a function. In exact arithmetic it builds the tridiagonal matrix T = Qᵀ A Q of the
/// Krylov space of the start vector; the eigenvalues of T (Ritz values) approximate A's, the
/// extreme ones first.
struct Lanczos: ~Copyable {
    typealias Operator = (_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>) -> Void

    let dimension: Int
    private(set) var alphas: [Double] = []
    /// betas[j] couples basis vectors j and j + 1; after step j, betas.last is the residual norm.
    private(set) var betas: [Double] = []
    /// The basis vectors q_0, q_1, … (and the next one's workspace), one owner.
    private let basis: UnsafeMutablePointer<Double>
    private let capacity: Int
    /// The Krylov space is invariant (exhausted): no further steps are possible.
    private(set) var isExhausted = false

    /// The most doubles the basis may hold (1 GiB).
    static let maximumBasisValues = 1 << 27

    /// Prepares at most `maximumSteps` steps from `start` (any nonzero vector; normalized here).
    init(dimension: Int, maximumSteps: Int, start: [Double]) {
        precondition(start.count == dimension && dimension > 0)
        self.dimension = dimension
        // The basis is (steps + 1) × dimension doubles: at most 1 GiB, whatever the step budget
        // asks (a wide network and a large max-steps stop early instead of exhausting memory).
        capacity = max(1, min(maximumSteps, dimension, Self.maximumBasisValues / dimension - 1))
        basis = UnsafeMutablePointer<Double>.allocate(capacity: (capacity + 1) * dimension)
        let norm = start.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: dimension) }
        for i in 0..<dimension { basis[i] = start[i] / norm }
    }

    deinit { basis.deallocate() }

    var steps: Int { alphas.count }
    var canStep: Bool { !isExhausted && steps < capacity }

    /// One step: A·q_j, its projection α_j, and the next basis vector.
    mutating func step(_ apply: Operator) {
        precondition(canStep)
        let j = steps, n = dimension
        let q = basis + j * n, w = basis + (j + 1) * n
        apply(UnsafePointer(q), w)
        let alpha = DoubleVectors.dot(q, w, count: n)
        alphas.append(alpha)
        DoubleVectors.addScaled(-alpha, q, to: w, count: n)
        if j > 0 { DoubleVectors.addScaled(-betas[j - 1], q - n, to: w, count: n) }
        for _ in 0..<2 {
            for i in 0...j {
                let qi = basis + i * n
                let overlap = DoubleVectors.dot(qi, w, count: n)
                DoubleVectors.addScaled(-overlap, qi, to: w, count: n)
            }
        }
        let beta = DoubleVectors.norm(w, count: n)
        betas.append(beta)
        let scale = alphas.reduce(0) { max($0, abs($1)) } + betas.reduce(0) { max($0, $1) }
        if !(beta > 1e-12 * scale) || !beta.isFinite {
            isExhausted = true
            return
        }
        for i in 0..<n { w[i] /= beta }
    }

    /// output ← Σ_j coefficients[j]·q_j over the first `coefficients.count` basis vectors.
    func combine(_ coefficients: [Double], into output: UnsafeMutablePointer<Double>) {
        precondition(coefficients.count <= steps)
        output.update(repeating: 0, count: dimension)
        for (j, c) in coefficients.enumerated() where c != 0 {
            DoubleVectors.addScaled(c, basis + j * dimension, to: output, count: dimension)
        }
    }

    /// The Ritz values (ascending), each with its residual norm ‖A y − θ y‖ = β_m |s_m| and
    /// Gauss-quadrature weight (first component of its eigenvector of T, squared).
    func ritzPairs() throws(SymmetricEigenvalues.NoConvergence) -> [RitzPair] {
        let m = steps
        guard m > 0 else { return [] }
        let (values, rows) = try SymmetricEigenvalues.tridiagonal(diagonal: alphas, offDiagonal: Array(betas.prefix(m - 1)), tracking: [0, m - 1])
        let residualScale = isExhausted ? 0 : betas[m - 1]
        return values.indices.map { i in
            RitzPair(value: values[i], residual: abs(residualScale * rows[1][i]), weight: rows[0][i] * rows[0][i])
        }
    }
}

/// An approximate eigenvalue from a Lanczos run.
struct RitzPair {
    var value: Double
    var residual: Double
    var weight: Double
}
