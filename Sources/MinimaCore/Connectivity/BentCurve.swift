/// The shape of a curve θ(t), t ∈ [0, 1], from one end point to another through one free point,
/// the **bend** (Garipov et al. 2018, "Loss Surfaces, Mode Connectivity, and Fast Ensembling of
/// DNNs", §3).
public enum CurveShape: String, Codable, Hashable, Sendable, CaseIterable {
    /// The quadratic Bézier curve θ(t) = (1 − t)²·a + 2t(1 − t)·b + t²·c (b: the bend, a
    /// control point the curve does not pass through unless it is straight).
    case bezier
    /// The polygonal chain a → b → c, with t = ½ at the bend.
    case polychain

    /// The weights of (start, bend, end) in θ(t). They sum to 1, and the bend's is ∂θ(t)/∂b:
    /// the factor of the loss's gradient in the bend's gradient.
    public func weights(at t: Double) -> (start: Double, bend: Double, end: Double) {
        switch self {
        case .bezier:
            let s = 1 - t
            return (s * s, 2 * t * s, t * t)
        case .polychain:
            return t <= 0.5 ? (1 - 2 * t, 2 * t, 0) : (0, 2 - 2 * t, 2 * t - 1)
        }
    }
}

/// A curve between two fixed end points with one bend, in any number of coordinates (a
/// network's canonical parameters, or a test function's). Arithmetic is in double, element by
/// element, so its points are the same bits everywhere.
public struct BentCurve: Hashable, Sendable {
    public var shape: CurveShape
    public var start: [Double]
    public var bend: [Double]
    public var end: [Double]

    /// The straight curve: the bend at the midpoint of the ends (where Garipov et al. start).
    public init(shape: CurveShape, start: [Double], end: [Double]) {
        precondition(start.count == end.count, "a curve's ends must have the same dimension")
        self.shape = shape
        self.start = start
        self.end = end
        bend = zip(start, end).map { 0.5 * $0 + 0.5 * $1 }
    }

    public var dimension: Int { start.count }

    /// θ(t).
    public func point(at t: Double) -> [Double] {
        let (a, b, c) = shape.weights(at: t)
        var point = [Double](repeating: 0, count: start.count)
        for k in point.indices { point[k] = a * start[k] + b * bend[k] + c * end[k] }
        return point
    }

    /// The length of the polyline through θ(tᵢ), tᵢ = i/(points − 1): the curve's length as the
    /// profile samples it.
    public func length(points: Int) -> Double {
        var total = 0.0
        var previous = point(at: 0)
        for i in 1..<max(points, 2) {
            let next = point(at: Double(i) / Double(max(points, 2) - 1))
            var sum = 0.0
            for k in next.indices { let d = next[k] - previous[k]; sum += d * d }
            total += sum.squareRoot()
            previous = next
        }
        return total
    }

    /// How a fit ended.
    public enum FitEnd: String, Codable, Hashable, Sendable {
        case completed
        /// The bend became NaN or infinite (it is left where it was last finite).
        case diverged
        /// `gradient` returned nil.
        case cancelled
    }

    /// Trains the bend by stochastic gradient descent on the expected loss along the curve,
    /// E_{t∼U[0,1]} L(θ(t)) (Garipov et al. 2018, eq. 2): each step draws t from `stream`, asks
    /// `gradient` for ∇L at θ(t) (and step number, e.g. to pick a minibatch), and moves the bend
    /// by −rate(step)·v with v ← momentum·v + w_b(t)·∇L (heavy-ball momentum). `gradient`
    /// returns nil to stop (cancellation).
    public mutating func fit(steps: Int, rate: (Int) -> Double, momentum: Double, stream: inout RandomStream,
                             gradient: ([Double], Int) -> [Double]?) -> FitEnd {
        var velocity = [Double](repeating: 0, count: bend.count)
        for step in 0..<steps {
            let t = stream.nextUnitDouble()
            guard let g = gradient(point(at: t), step) else { return .cancelled }
            precondition(g.count == bend.count, "the gradient must have the curve's dimension")
            let weight = shape.weights(at: t).bend
            let r = rate(step)
            var next = bend
            for k in next.indices {
                velocity[k] = momentum * velocity[k] + weight * g[k]
                next[k] -= r * velocity[k]
            }
            guard next.allSatisfy(\.isFinite) else { return .diverged }
            bend = next
        }
        return .completed
    }

    /// The learning-rate factor of Garipov et al.'s schedule at `progress` ∈ [0, 1] of the
    /// fit: 1 for the first half, falling linearly to 0.01 at 90 %, then 0.01.
    public static func garipovFactor(progress: Double) -> Double {
        if progress <= 0.5 { return 1 }
        if progress <= 0.9 { return 1 - 0.99 * (progress - 0.5) / 0.4 }
        return 0.01
    }
}
