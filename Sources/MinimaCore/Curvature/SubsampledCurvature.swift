/// The training objective with its curvature measured on a subset of the samples: values,
/// gradients and moves are the full objective's, Hessian-vector products the subset's (its mean
/// over the subset plus the weight decay — an unbiased estimate of the full Hessian's product).
/// A Newton step's cost is dominated by its k products, so it falls with the subset's size while
/// the gradient, and so the step's target, stays exact (Dauphin et al. 2014; Martens 2010).
/// Both surfaces drive the same network: a move of the full one is where the subset's products are taken.
public final class SubsampledCurvature: SecondOrderObjective {
    public let full: LossSurface
    public let curvature: LossSurface

    public init(full: LossSurface, curvatureSamples: [Int32]) {
        self.full = full
        curvature = LossSurface(network: full.network, dataset: full.dataset, samples: curvatureSamples, loss: full.loss, weightDecay: full.weightDecay)
    }

    /// `count` of `samples` drawn without replacement by a partial Fisher–Yates shuffle of
    /// `stream` (the same stream gives the same subset on any machine), in their original order.
    public static func subset(of samples: [Int32], count: Int, stream: inout RandomStream) -> [Int32] {
        guard count < samples.count else { return samples }
        var positions = Array(samples.indices)
        for i in 0..<count {
            let j = i + stream.nextIndex(below: positions.count - i)
            positions.swapAt(i, j)
        }
        return positions.prefix(count).sorted().map { samples[$0] }
    }

    public var dimension: Int { full.dimension }
    public func objective() -> Double { full.objective() }
    public func gradient() -> [Double] { full.gradient() }
    public func hessianVectorProduct(_ input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        curvature.hessianVectorProduct(input, into: output)
    }
    public func savePoint() { full.savePoint() }
    public func moveFromSaved(by step: UnsafePointer<Double>, scale: Double) { full.moveFromSaved(by: step, scale: scale) }
    public func restoreSaved() { full.restoreSaved() }
}
