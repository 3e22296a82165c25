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
    /// overwritten), ascending. Only the lower triangle is read or written.
    ///
    /// Householder reduction on the lower triangle: step k updates the trailing block
    /// A ← A − v wᵀ − w vᵀ row by row and, in the same pass, accumulates the next step's product
    /// p = A v (its reflector, from the block's first column, is computed first): one sweep over
    /// half the matrix per step, which is what bounds the time once it no longer fits the cache.
    ///
    /// Complexity: about 2n³/3 multiply-adds for the reduction, O(n²) for the QL iteration.
    public static func dense(_ matrix: inout [Double], dimension n: Int) throws(NoConvergence) -> [Double] {
        try dense(&matrix, dimension: n, isCancelled: { false })!
    }

    /// The eigenvalues of a dense symmetric matrix, or nil when `isCancelled` says so (asked
    /// every 16 reduction steps, and between the reduction and the QL iteration).
    public static func dense(_ matrix: inout [Double], dimension n: Int, isCancelled: () -> Bool) throws(NoConvergence) -> [Double]? {
        precondition(matrix.count == n * n)
        guard n > 0 else { return [] }
        var cancelled = false
        var diagonal = [Double](repeating: 0, count: n)
        var offDiagonal = [Double](repeating: 0, count: max(n - 1, 0))
        matrix.withUnsafeMutableBufferPointer { a in
            let base = a.baseAddress!
            var v = UnsafeMutablePointer<Double>.allocate(capacity: n)
            var p = UnsafeMutablePointer<Double>.allocate(capacity: n)
            var nextV = UnsafeMutablePointer<Double>.allocate(capacity: n)
            var nextP = UnsafeMutablePointer<Double>.allocate(capacity: n)
            let column = UnsafeMutablePointer<Double>.allocate(capacity: n)
            defer { v.deallocate(); p.deallocate(); nextV.deallocate(); nextP.deallocate(); column.deallocate() }

            /// The reflector of the m entries in `x` into `v`: (I − 2vvᵀ)x = αe₁. Returns α, and
            /// whether there is a reflection to apply (false when x is zero below its first entry).
            func reflector(_ x: UnsafePointer<Double>, count m: Int, into v: UnsafeMutablePointer<Double>) -> (alpha: Double, reflects: Bool) {
                for i in 0..<m { v[i] = x[i] }
                let norm = DoubleVectors.norm(v, count: m)
                if norm == 0 || m == 1 { return (m == 1 ? v[0] : 0, false) }
                let alpha = v[0] > 0 ? -norm : norm
                v[0] -= alpha
                let vNorm = DoubleVectors.norm(v, count: m)
                if vNorm == 0 { return (alpha, false) }
                for i in 0..<m { v[i] /= vNorm }
                return (alpha, true)
            }
            /// Column s of the block below the diagonal: A[s + 1 ..< n][s].
            func belowDiagonal(_ s: Int) -> UnsafePointer<Double> {
                for i in 0 ..< n - s - 1 { column[i] = base[(s + 1 + i) * n + s] }
                return UnsafePointer(column)
            }
            /// Adds row r (local, lower part of the block from s) times v into p.
            func accumulate(row r: Int, from s: Int, _ v: UnsafePointer<Double>, into p: UnsafeMutablePointer<Double>) {
                let row = base + (s + r) * n + s
                if v[r] != 0 { DoubleVectors.addScaled(v[r], row, to: p, count: r) }
                p[r] += DoubleVectors.dot(row, v, count: r + 1)
            }
            /// p = A[s..., s...]·v from the lower triangle.
            func product(from s: Int, _ v: UnsafePointer<Double>, into p: UnsafeMutablePointer<Double>) {
                for i in 0 ..< n - s { p[i] = 0 }
                for r in 0 ..< n - s { accumulate(row: r, from: s, v, into: p) }
            }

            var current: (alpha: Double, reflects: Bool) = n >= 2 ? reflector(belowDiagonal(0), count: n - 1, into: v) : (0, false)
            if current.reflects { product(from: 1, v, into: p) }
            for k in 0 ..< n - 1 {
                if k & 15 == 15 && isCancelled() { cancelled = true; return }
                diagonal[k] = base[k * n + k]
                offDiagonal[k] = current.alpha
                let m = n - k - 1, start = k + 1
                guard current.reflects else {
                    // Nothing to apply: the next reflector comes from the unchanged block.
                    if m >= 2 {
                        current = reflector(belowDiagonal(start), count: m - 1, into: v)
                        if current.reflects { product(from: start + 1, v, into: p) }
                    }
                    continue
                }
                // w = 2p − 2(vᵀp)v, in p.
                let vp = DoubleVectors.dot(v, p, count: m)
                for i in 0..<m { p[i] = 2 * p[i] - 2 * vp * v[i] }
                // The block's first column as the update will leave it (the same operations as
                // the row update), then the next reflector from it.
                var next: (alpha: Double, reflects: Bool) = (0, false)
                if m >= 2 {
                    for i in 1..<m { column[i - 1] = base[(start + i) * n + start].addingProduct(-v[i], p[0]).addingProduct(-p[i], v[0]) }
                    next = reflector(column, count: m - 1, into: nextV)
                    if next.reflects { for i in 0 ..< m - 1 { nextP[i] = 0 } }
                }
                // Each row's lower part, feeding the next step's product while it is in cache.
                for i in 0..<m {
                    DoubleVectors.subtractRankTwo(v[i], p, p[i], v, from: base + (start + i) * n + start, count: i + 1)
                    if i >= 1 && next.reflects { accumulate(row: i - 1, from: start + 1, nextV, into: nextP) }
                }
                swap(&v, &nextV)
                swap(&p, &nextP)
                current = next
            }
            diagonal[n - 1] = base[(n - 1) * n + (n - 1)]
        }
        if cancelled || isCancelled() { return nil }
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
