extension Initialization {
    /// The logical weight matrix W[output][input] (row-major) of one layer, drawn from `stream`.
    func weights(outputs: Int, inputs: Int, stream: inout RandomStream) -> [Double] {
        let fanIn = Double(inputs), fanOut = Double(outputs)
        switch scheme {
        case .uniform:
            return (0..<outputs * inputs).map { _ in scale * stream.nextSignedUnitDouble() }
        case .fanInUniform:
            let bound = scale / fanIn.squareRoot()
            return (0..<outputs * inputs).map { _ in bound * stream.nextSignedUnitDouble() }
        case .lecunUniform:
            let bound = scale * (3 / fanIn).squareRoot()
            return (0..<outputs * inputs).map { _ in bound * stream.nextSignedUnitDouble() }
        case .lecunNormal:
            let deviation = scale * (1 / fanIn).squareRoot() / truncatedNormalDeviation
            return (0..<outputs * inputs).map { _ in deviation * stream.nextTruncatedGaussian() }
        case .gaussian:
            return (0..<outputs * inputs).map { _ in scale * stream.nextGaussian() }
        case .glorotUniform:
            let bound = scale * (6 / (fanIn + fanOut)).squareRoot()
            return (0..<outputs * inputs).map { _ in bound * stream.nextSignedUnitDouble() }
        case .glorotNormal:
            let deviation = scale * (2 / (fanIn + fanOut)).squareRoot() / truncatedNormalDeviation
            return (0..<outputs * inputs).map { _ in deviation * stream.nextTruncatedGaussian() }
        case .heNormal:
            let deviation = scale * (2 / fanIn).squareRoot()
            return (0..<outputs * inputs).map { _ in deviation * stream.nextGaussian() }
        case .fanInNormal:
            let deviation = scale * (1 / fanIn).squareRoot()
            return (0..<outputs * inputs).map { _ in deviation * stream.nextGaussian() }
        case .orthogonal:
            return orthogonalMatrix(rows: outputs, columns: inputs, gain: scale, stream: &stream)
        }
    }
}

/// The standard deviation of N(0, 1) truncated to [−2, 2]; dividing by it gives the truncated
/// normal the variance asked for (the constant of Keras's and JAX's variance scaling).
let truncatedNormalDeviation = 0.87962566103423978

extension RandomStream {
    /// N(0, 1) conditioned on |z| ≤ 2, by rejection: the draws are the stream's own, so the
    /// result is as deterministic as everything else drawn from it.
    mutating func nextTruncatedGaussian() -> Double {
        while true {
            let z = nextGaussian()
            if abs(z) <= 2 { return z }
        }
    }
}

/// A rows × columns matrix with orthonormal rows or columns (whichever are fewer), times `gain`:
/// the Q factor of a Gaussian matrix's Householder QR, each column's sign fixed so that diag(R) > 0,
/// which makes Q Haar-distributed (Mezzadri 2007; Saxe et al. 2014).
func orthogonalMatrix(rows: Int, columns: Int, gain: Double, stream: inout RandomStream) -> [Double] {
    let tall = rows >= columns
    let m = tall ? rows : columns, n = tall ? columns : rows
    var a = (0..<m * n).map { _ in stream.nextGaussian() }  // m × n, row-major
    var reflectors: [[Double]] = []
    var signs = [Double](repeating: 1, count: n)
    for j in 0..<n {
        var v = (j..<m).map { a[$0 * n + j] }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let alpha = v[0] >= 0 ? -norm : norm
        v[0] -= alpha
        let vNormSquared = v.reduce(0) { $0 + $1 * $1 }
        if vNormSquared > 0 {
            for c in j..<n {
                var s = 0.0
                for i in j..<m { s += v[i - j] * a[i * n + c] }
                let factor = 2 * s / vNormSquared
                for i in j..<m { a[i * n + c] -= factor * v[i - j] }
            }
        }
        reflectors.append(vNormSquared > 0 ? v.map { $0 / vNormSquared.squareRoot() } : [])
        signs[j] = a[j * n + j] < 0 ? -1 : 1
    }
    // Q = H₀H₁…H_{n−1} applied to the first n columns of the identity.
    var q = [Double](repeating: 0, count: m * n)
    for j in 0..<n { q[j * n + j] = 1 }
    for j in stride(from: n - 1, through: 0, by: -1) where !reflectors[j].isEmpty {
        let v = reflectors[j]
        for c in 0..<n {
            var s = 0.0
            for i in j..<m { s += v[i - j] * q[i * n + c] }
            for i in j..<m { q[i * n + c] -= 2 * s * v[i - j] }
        }
    }
    var result = [Double](repeating: 0, count: rows * columns)
    for i in 0..<m {
        for c in 0..<n {
            let value = gain * signs[c] * q[i * n + c]
            if tall { result[i * columns + c] = value } else { result[c * columns + i] = value }
        }
    }
    return result
}
