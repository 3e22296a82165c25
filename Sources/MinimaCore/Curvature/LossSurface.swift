/// The training objective of a network on a fixed list of samples, as a function of the
/// parameters: L(θ) = (1/N) Σ loss + (λ/2)‖W‖² (weight decay on weights, not biases — the
/// objective the optimizer descends). Its value, gradient and exact Hessian-vector products,
/// in the coordinates of ``Network/canonicalParameters()``.
///
/// Blocks of `blockSize` samples are summed in order, so every result is deterministic.
/// Evaluates at the network's current parameters; one surface belongs to one thread.
public final class LossSurface {
    public let network: Network
    let dataset: Dataset
    let samples: [Int32]
    let loss: LossFunction
    let weightDecay: Double
    let workspace: Workspace
    let curvature: CurvatureWorkspace
    /// Canonical coordinate → offset in the parameter buffer.
    let bufferOffsets: [Int]
    /// Canonical coordinates below this index in each layer's range are weights (decayed).
    let decayed: [Bool]
    private let direction: UnsafeMutableBufferPointer<Float>
    private let product: UnsafeMutableBufferPointer<Float>
    /// The point ``savePoint()`` remembered (allocated on first use).
    fileprivate var saved: UnsafeMutableBufferPointer<Float>?

    public init(network: Network, dataset: Dataset, samples: [Int32], loss: LossFunction, weightDecay: Double = 0, blockSize: Int = 256) {
        precondition(!samples.isEmpty, "a loss surface needs at least one sample")
        self.network = network
        self.dataset = dataset
        self.samples = samples
        self.loss = loss
        self.weightDecay = weightDecay
        let capacity = min(blockSize, samples.count)
        workspace = Workspace(network: network, capacity: capacity)
        curvature = CurvatureWorkspace(network: network, capacity: capacity)
        var offsets: [Int] = [], decayed: [Bool] = []
        for layer in network.layers {
            for o in 0..<layer.outputs { for i in 0..<layer.inputs { offsets.append(layer.weightIndex(output: o, input: i)); decayed.append(true) } }
            for o in 0..<layer.outputs { offsets.append(layer.biasOffset + o); decayed.append(false) }
        }
        bufferOffsets = offsets
        self.decayed = decayed
        direction = network.makeParameterBuffer()
        product = network.makeParameterBuffer()
    }

    deinit {
        direction.deallocate()
        product.deallocate()
        saved?.deallocate()
    }

    /// The number of parameters P (the dimension of the Hessian).
    public var dimension: Int { bufferOffsets.count }
    public var sampleCount: Int { samples.count }

    /// L at the network's current parameters, and the error rate of its predictions.
    public func value() -> (loss: Double, error: Double) {
        var total = LossEvaluation()
        forEachBlock { rows in
            network.forward(workspace, rows: rows)
            network.evaluateLoss(loss, workspace, rows: rows, deltaScale: nil, into: &total)
        }
        return (total.lossSum / Double(samples.count) + decayTerm(), Double(total.errors) / Double(samples.count))
    }

    /// ∇L at the network's current parameters.
    public func gradient() -> [Double] {
        product.update(repeating: 0)
        let scale = 1 / Float(samples.count)
        var total = LossEvaluation()
        forEachBlock { rows in
            network.forward(workspace, rows: rows)
            network.evaluateLoss(loss, workspace, rows: rows, deltaScale: scale, into: &total)
            network.backward(workspace, rows: rows, rule: AccumulateGradient(), destination: product.baseAddress!)
        }
        return gather(product, decayFrom: network.parameters)
    }

    /// output ← ∇²L · input, both `dimension` long.
    public func hessianVectorProduct(_ input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        for (k, offset) in bufferOffsets.enumerated() { direction[offset] = Float(input[k]) }
        product.update(repeating: 0)
        let scale = 1 / Float(samples.count)
        forEachBlock { rows in
            network.accumulateHessianVectorProduct(workspace, curvature, rows: rows, loss: loss, scale: scale,
                                                   direction: UnsafePointer(direction.baseAddress!), into: product.baseAddress!)
        }
        for (k, offset) in bufferOffsets.enumerated() {
            output[k] = Double(product[offset]) + (decayed[k] ? weightDecay * Double(direction[offset]) : 0)
        }
    }

    public func hessianVectorProduct(_ input: [Double]) -> [Double] {
        precondition(input.count == dimension)
        var output = [Double](repeating: 0, count: dimension)
        input.withUnsafeBufferPointer { i in output.withUnsafeMutableBufferPointer { hessianVectorProduct(i.baseAddress!, into: $0.baseAddress!) } }
        return output
    }

    /// The dense Hessian (row-major, `dimension`²) from one product per coordinate, symmetrized.
    public func denseHessian() -> [Double] { denseHessian(isCancelled: { false })! }

    /// The dense Hessian, or nil when `isCancelled` says so (asked before each product: one
    /// product is the longest it runs on after a lease's time is up).
    public func denseHessian(isCancelled: () -> Bool) -> [Double]? {
        let n = dimension
        var matrix = [Double](repeating: 0, count: n * n)
        var unit = [Double](repeating: 0, count: n)
        var cancelled = false
        matrix.withUnsafeMutableBufferPointer { m in
            unit.withUnsafeMutableBufferPointer { e in
                for j in 0..<n {
                    if isCancelled() { cancelled = true; return }
                    e[j] = 1
                    hessianVectorProduct(UnsafePointer(e.baseAddress!), into: m.baseAddress! + j * n)   // column j (stored as row j)
                    e[j] = 0
                }
            }
            guard !cancelled else { return }
            for i in 0..<n { for j in 0..<i { let s = 0.5 * (m[i * n + j] + m[j * n + i]); m[i * n + j] = s; m[j * n + i] = s } }
        }
        return cancelled ? nil : matrix
    }

    /// Runs `body` once per block of samples, loaded in order.
    private func forEachBlock(_ body: (Int) -> Void) {
        var start = 0
        while start < samples.count {
            let rows = min(workspace.capacity, samples.count - start)
            workspace.load(samples[start ..< start + rows], from: dataset)
            body(rows)
            start += rows
        }
    }

    private func decayTerm() -> Double {
        guard weightDecay != 0 else { return 0 }
        var sum = 0.0
        for (k, offset) in bufferOffsets.enumerated() where decayed[k] {
            let w = Double(network.parameters[offset])
            sum += w * w
        }
        return 0.5 * weightDecay * sum
    }

    private func gather(_ buffer: UnsafeMutableBufferPointer<Float>, decayFrom parameters: UnsafeMutableBufferPointer<Float>) -> [Double] {
        bufferOffsets.indices.map { k in
            let offset = bufferOffsets[k]
            return Double(buffer[offset]) + (decayed[k] ? weightDecay * Double(parameters[offset]) : 0)
        }
    }
}

extension LossSurface: SecondOrderObjective {
    public func objective() -> Double { value().loss }

    public func savePoint() {
        if saved == nil { saved = network.makeParameterBuffer() }
        network.copyParameters(into: saved!)
    }

    /// The parameters stay float32: each moves to Float(saved + scale·step) in its coordinate.
    public func moveFromSaved(by step: UnsafePointer<Double>, scale: Double) {
        guard let saved else { preconditionFailure("moveFromSaved before savePoint") }
        for (k, offset) in bufferOffsets.enumerated() {
            network.parameters[offset] = Float(Double(saved[offset]) + scale * step[k])
        }
    }

    public func restoreSaved() {
        guard let saved else { preconditionFailure("restoreSaved before savePoint") }
        network.restoreParameters(from: saved)
    }
}
