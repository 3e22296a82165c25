/// The critical points of a linear autoencoder x ↦ W₂W₁x + b (d inputs, p < d hidden units,
/// targets = inputs, squared error ½‖·‖² averaged over the samples), in closed form (Baldi &
/// Hornik 1989). With Σ the covariance of the data (1/N, centred) and λ₁ ≥ … ≥ λ_d its
/// eigenvalues, every critical point projects onto the span of a subset I of Σ's eigenvectors
/// with |I| = r ≤ p, and there
///
///     loss  = ½ Σ_{j∉I} λⱼ,
///     index = Σ_{i∈I} #{j ∉ I : λⱼ > λᵢ} + (p − r)(d − r):
///
/// each kept direction i with a larger left-out one j gives one descent direction (rotating uᵢ
/// towards uⱼ), and each of the p − r unused hidden units gives one per left-out direction (its
/// encoder and decoder weights along uⱼ grown together). The rest of the Hessian is positive or
/// zero (the GL(p) symmetry W₁ → GW₁, W₂ → W₂G⁻¹, and the biases). The global minimum is the top p
/// directions, index 0; every other critical point is a saddle.
public struct LinearAutoencoderCriticalPoint: Sendable, Equatable {
    /// Indices into the eigenvalues (descending) of the directions kept.
    public var kept: [Int]
    public var loss: Double
    public var index: Int
    public init(kept: [Int], loss: Double, index: Int) {
        self.kept = kept
        self.loss = loss
        self.index = index
    }
}

public enum LinearAutoencoderTheory {
    /// Every critical point for eigenvalues `eigenvalues` (any order; distinct and positive for
    /// the formula's counts to hold) and `hidden` units, lowest loss first (2^d subsets are
    /// enumerated: d ≤ 20).
    public static func criticalPoints(eigenvalues: [Double], hidden p: Int) -> [LinearAutoencoderCriticalPoint] {
        let sorted = eigenvalues.sorted(by: >)
        let d = sorted.count
        precondition(d <= 20 && p >= 1)
        var points: [LinearAutoencoderCriticalPoint] = []
        for mask in 0 ..< (1 << d) where mask.nonzeroBitCount <= p {
            let kept = (0..<d).filter { mask & (1 << $0) != 0 }
            let left = (0..<d).filter { mask & (1 << $0) == 0 }
            let loss = 0.5 * left.reduce(0) { $0 + sorted[$1] }
            var index = 0
            for i in kept { index += left.filter { sorted[$0] > sorted[i] }.count }
            index += (p - kept.count) * (d - kept.count)
            points.append(LinearAutoencoderCriticalPoint(kept: kept, loss: loss, index: index))
        }
        return points.sorted { ($0.loss, $0.kept.count) < ($1.loss, $1.kept.count) }
    }

    /// The critical point whose loss is nearest `loss` (relative difference), and that difference.
    public static func nearest(loss: Double, among points: [LinearAutoencoderCriticalPoint]) -> (point: LinearAutoencoderCriticalPoint, relativeDifference: Double)? {
        points.map { ($0, abs($0.loss - loss) / max(abs($0.loss), 1e-300)) }.min { $0.1 < $1.1 }
    }
}
