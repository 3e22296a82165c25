/// Eigenvalues of real symmetric matrices, written out (no LAPACK) so that every machine gets
/// the same bits: Householder reduction to tridiagonal form, then the implicit QL method with
/// Wilkinson-like shifts (the EISPACK `tred1`/`tql1` pair, as in Numerical Recipes §11.2–11.3).
public enum SymmetricEigenvalues {
    /// The eigenvalue problem did not converge (30·n QL sweeps): only for matrices with NaNs or
    /// infinities.
    public struct NoConvergence: Error, CustomStringConvertible, Sendable {
        public var description: String { "the symmetric eigenvalue iteration did not converge (NaN or infinite entries?)" }
    }

    /// Eigenvalues of the symmetric tridiagonal matrix with `diagonal` (n values) and
    /// `offDiagonal` (n − 1 values), ascending, with the components of their unit eigenvectors in
    /// the rows `tracking` (e.g. [0, n − 1] for Lanczos' quadrature weights and Ritz residuals).
    public static func tridiagonal(diagonal: [Double], offDiagonal: [Double], tracking: [Int] = []) throws(NoConvergence) -> (values: [Double], components: [[Double]]) {
        let n = diagonal.count
        precondition(offDiagonal.count == max(n - 1, 0))
        guard n > 0 else { return ([], tracking.map { _ in [] }) }
        var d = diagonal
        var e = offDiagonal + [0]
        var z = tracking.map { row in (0..<n).map { $0 == row ? 1.0 : 0.0 } }
        try ql(&d, &e, &z)
        let order = d.indices.sorted { d[$0] < d[$1] || (d[$0] == d[$1] && $0 < $1) }
        return (order.map { d[$0] }, z.map { row in order.map { row[$0] } })
    }

    /// Eigenvalues of the dense symmetric `n × n` matrix stored row-major in `matrix` (which is
    /// overwritten), ascending. Only the lower triangle is read.
    ///
    /// Complexity: about 4n³/3 multiply-adds for the reduction, O(n²) for the QL iteration.
    public static func dense(_ matrix: inout [Double], dimension n: Int) throws(NoConvergence) -> [Double] {
        precondition(matrix.count == n * n)
        guard n > 0 else { return [] }
        var diagonal = [Double](repeating: 0, count: n)
        var offDiagonal = [Double](repeating: 0, count: max(n - 1, 0))
        matrix.withUnsafeMutableBufferPointer { a in
            let base = a.baseAddress!
            // Make the matrix exactly symmetric from its lower triangle.
            for i in 0..<n { for j in 0..<i { base[j * n + i] = base[i * n + j] } }
            let v = UnsafeMutablePointer<Double>.allocate(capacity: n)
            let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
            defer { v.deallocate(); p.deallocate() }
            for k in 0 ..< n - 1 {
                diagonal[k] = base[k * n + k]
                let m = n - k - 1   // the trailing block A[k+1..., k+1...]
                let start = k + 1
                // x = A[k+1..., k]; Householder vector v with (I − 2vvᵀ)x = αe₁.
                var norm2 = 0.0
                for i in 0..<m { let x = base[(start + i) * n + k]; v[i] = x; norm2 = norm2.addingProduct(x, x) }
                let norm = norm2.squareRoot()
                if norm == 0 || m == 1 {
                    offDiagonal[k] = m == 1 ? v[0] : 0
                    continue
                }
                let alpha = v[0] > 0 ? -norm : norm
                offDiagonal[k] = alpha
                v[0] -= alpha
                let vNorm = DoubleVectors.norm(v, count: m)
                if vNorm == 0 { continue }
                for i in 0..<m { v[i] /= vNorm }
                // p = A22·v, as a sum of rows (A22 is symmetric) so the inner loop vectorizes.
                for i in 0..<m { p[i] = 0 }
                for j in 0..<m {
                    let row = base + (start + j) * n + start
                    let vj = v[j]
                    if vj != 0 { DoubleVectors.addScaled(vj, row, to: p, count: m) }
                }
                // w = 2p − 2(vᵀp)v; A22 ← A22 − v wᵀ − w vᵀ. p is overwritten by w.
                let vp = DoubleVectors.dot(v, p, count: m)
                for i in 0..<m { p[i] = 2 * p[i] - 2 * vp * v[i] }
                for i in 0..<m {
                    let row = base + (start + i) * n + start
                    let vi = v[i], wi = p[i]
                    for j in 0..<m { row[j] = row[j] - vi * p[j] - wi * v[j] }
                }
            }
            diagonal[n - 1] = base[(n - 1) * n + (n - 1)]
        }
        return try tridiagonal(diagonal: diagonal, offDiagonal: offDiagonal).values
    }

    /// Implicit QL on the tridiagonal (d, e) with e[i] coupling i and i + 1 (e[n − 1] = 0),
    /// applying the rotations to the tracked rows of the eigenvector matrix.
    private static func ql(_ d: inout [Double], _ e: inout [Double], _ z: inout [[Double]]) throws(NoConvergence) {
        let n = d.count
        for l in 0..<n {
            var iterations = 0
            while true {
                var m = l
                while m < n - 1 {
                    let dd = abs(d[m]) + abs(d[m + 1])
                    if abs(e[m]) <= 0x1p-53 * dd || abs(e[m]) < .leastNormalMagnitude { break }
                    m += 1
                }
                if m == l { break }
                iterations += 1
                if iterations > 30 * max(n, 2) { throw NoConvergence() }
                var g = (d[l + 1] - d[l]) / (2 * e[l])
                var r = hypotenuse(g, 1)
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
                var s = 1.0, c = 1.0, p = 0.0
                var i = m - 1
                var restarted = false
                while i >= l {
                    let f = s * e[i]
                    let b = c * e[i]
                    r = hypotenuse(f, g)
                    e[i + 1] = r
                    if r == 0 {
                        d[i + 1] -= p
                        e[m] = 0
                        restarted = true
                        break
                    }
                    s = f / r
                    c = g / r
                    g = d[i + 1] - p
                    r = (d[i] - g) * s + 2 * c * b
                    p = s * r
                    d[i + 1] = g + p
                    g = c * r - b
                    for k in z.indices {
                        let above = z[k][i + 1]
                        z[k][i + 1] = s * z[k][i] + c * above
                        z[k][i] = c * z[k][i] - s * above
                    }
                    i -= 1
                }
                if restarted { continue }
                d[l] -= p
                e[l] = g
                e[m] = 0
            }
        }
    }
}
