/// Pearlmutter's R-operator (1994) on the production kernels: forward-over-reverse
/// differentiation of the backward pass along a direction V, giving the exact Hessian-vector
/// product H·V of the summed loss (up to float32 rounding) — not a finite difference.
///
/// With z_l = a_l W_lᵀ + b_l, a_{l+1} = σ(z_l) and δ_l = ∂loss/∂z_l, the R-passes are
///
///     R(z_l) = a_l V_lᵀ + c_l + R(a_l) W_lᵀ              R(a_0) = 0
///     R(a_{l+1}) = σ′ ⊙ R(z_l)
///     R(δ_L) = (∂²loss/∂z_L²) R(z_L)
///     R(δ_{l−1}) = σ′ ⊙ (R(δ_l) W_l + δ_l V_l) + σ″ ⊙ R(z_{l−1}) ⊙ (δ_l W_l)
///     R(∂W_l) = R(δ_l)ᵀ a_l + δ_lᵀ R(a_l)              R(∂b_l) = Σ R(δ_l)
///
/// where σ′ and σ″ are written through the activation's output (as the backward pass does).
/// Every product runs on ``broadcastProduct`` or ``dotProduct`` with a fixed summation order, so
/// the result is bit-identical on every instruction-set level.
extension Network {
    /// Adds H·V of `scale` × the summed loss of the samples loaded in `workspace` (rows < `rows`)
    /// into `product` (shaped like the parameters). `direction` is shaped like the parameters with
    /// zero padding. `curvature` holds the R-activations and R-deltas.
    func accumulateHessianVectorProduct(
        _ workspace: Workspace, _ curvature: CurvatureWorkspace, rows: Int, loss: LossFunction, scale: Float,
        direction: UnsafePointer<Float>, into product: UnsafeMutablePointer<Float>
    ) {
        let p = UnsafePointer(parameters.baseAddress!)
        let last = layers.count - 1
        // Forward and R-forward.
        forward(workspace, rows: rows)
        for (l, layer) in layers.enumerated() {
            let input = UnsafePointer(workspace.activations[l].baseAddress!)
            let rInput = UnsafePointer(curvature.activations[l].baseAddress!)
            let rOutput = curvature.activations[l + 1].baseAddress!
            let v = direction + layer.weightOffset, w = p + layer.weightOffset
            switch layer.layout {
            case .inputMajor:
                broadcastProduct(
                    rows: rows, depth: layer.inputs, chunks: layer.outputsPadded / 16,
                    a: BroadcastOperand(input, rowStride: layer.inputsPadded, columnStride: 1),
                    b: VectorOperand(v, rowStride: layer.outputsPadded),
                    epilogue: BiasActivationStore(bias: direction + layer.biasOffset, output: rOutput, outputStride: layer.outputsPadded,
                                                  activation: .linear, width: layer.outputs))
                if l > 0 {
                    broadcastProduct(
                        rows: rows, depth: layer.inputs, chunks: layer.outputsPadded / 16,
                        a: BroadcastOperand(rInput, rowStride: layer.inputsPadded, columnStride: 1),
                        b: VectorOperand(w, rowStride: layer.outputsPadded),
                        epilogue: AccumulatingStore(output: rOutput, stride: layer.outputsPadded))
                }
            case .outputMajor:
                dotProduct(
                    rows: rows, columns: layer.outputs, chunks: layer.inputsPadded / 16,
                    a: VectorOperand(input, rowStride: layer.inputsPadded), b: VectorOperand(v, rowStride: layer.inputsPadded),
                    epilogue: DotBiasStore(bias: direction + layer.biasOffset, output: rOutput, stride: layer.outputsPadded))
                if l > 0 {
                    dotProduct(
                        rows: rows, columns: layer.outputs, chunks: layer.inputsPadded / 16,
                        a: VectorOperand(rInput, rowStride: layer.inputsPadded), b: VectorOperand(w, rowStride: layer.inputsPadded),
                        epilogue: DotAdd(output: rOutput, stride: layer.outputsPadded))
                }
            }
            if l < last {
                if layer.activation.hasCurvature {
                    _ = curvature.preActivations[l + 1].update(fromContentsOf: UnsafeBufferPointer(rebasing: curvature.activations[l + 1][0 ..< rows * layer.outputsPadded]))
                }
                multiplyByActivationDerivative(layer.activation, rows: rows, chunks: layer.outputsPadded / 16, stride: layer.outputsPadded,
                                               delta: rOutput, activations: UnsafePointer(workspace.activations[l + 1].baseAddress!))
            }
        }
        // Output deltas and their R-derivatives, from one softmax per row (no loss value needed).
        loss.deltaAndCurvatureProduct(
            outputs: UnsafePointer(workspace.activations[layers.count].baseAddress!), direction: UnsafePointer(curvature.activations[layers.count].baseAddress!),
            stride: layers[last].outputsPadded, rows: rows, classes: classes, targets: workspace.lossTargets, scale: scale,
            delta: workspace.deltas[last].baseAddress!, curvatureProduct: curvature.deltas[last].baseAddress!)
        // Backward and R-backward, adding the R-gradients into `product`.
        for l in stride(from: last, through: 0, by: -1) {
            let layer = layers[l]
            let inPadded = layer.inputsPadded, outPadded = layer.outputsPadded
            let delta = UnsafePointer(workspace.deltas[l].baseAddress!), rDelta = UnsafePointer(curvature.deltas[l].baseAddress!)
            let input = UnsafePointer(workspace.activations[l].baseAddress!), rInput = UnsafePointer(curvature.activations[l].baseAddress!)
            let w = p + layer.weightOffset, v = direction + layer.weightOffset
            if l > 0 {
                // u = δ_l W_l into deltas[l − 1]; R(u) = R(δ_l) W_l + δ_l V_l into R-deltas[l − 1].
                let u = workspace.deltas[l - 1].baseAddress!, rU = curvature.deltas[l - 1].baseAddress!
                switch layer.layout {
                case .inputMajor:
                    dotProduct(rows: rows, columns: layer.inputs, chunks: outPadded / 16,
                               a: VectorOperand(delta, rowStride: outPadded), b: VectorOperand(w, rowStride: outPadded),
                               epilogue: DotStore(output: u, stride: inPadded))
                    dotProduct(rows: rows, columns: layer.inputs, chunks: outPadded / 16,
                               a: VectorOperand(rDelta, rowStride: outPadded), b: VectorOperand(w, rowStride: outPadded),
                               epilogue: DotStore(output: rU, stride: inPadded))
                    dotProduct(rows: rows, columns: layer.inputs, chunks: outPadded / 16,
                               a: VectorOperand(delta, rowStride: outPadded), b: VectorOperand(v, rowStride: outPadded),
                               epilogue: DotAdd(output: rU, stride: inPadded))
                case .outputMajor:
                    broadcastProduct(rows: rows, depth: layer.outputs, chunks: inPadded / 16,
                                     a: BroadcastOperand(delta, rowStride: outPadded, columnStride: 1), b: VectorOperand(w, rowStride: inPadded),
                                     epilogue: PlainStore(output: u, stride: inPadded))
                    broadcastProduct(rows: rows, depth: layer.outputs, chunks: inPadded / 16,
                                     a: BroadcastOperand(rDelta, rowStride: outPadded, columnStride: 1), b: VectorOperand(w, rowStride: inPadded),
                                     epilogue: PlainStore(output: rU, stride: inPadded))
                    broadcastProduct(rows: rows, depth: layer.outputs, chunks: inPadded / 16,
                                     a: BroadcastOperand(delta, rowStride: outPadded, columnStride: 1), b: VectorOperand(v, rowStride: inPadded),
                                     epilogue: AccumulatingStore(output: rU, stride: inPadded))
                }
                backpropagateCurvature(layers[l - 1].activation, rows: rows, chunks: inPadded / 16, stride: inPadded,
                                       delta: u, rDelta: rU, activations: input, rPreActivations: UnsafePointer(curvature.preActivations[l].baseAddress!))
            }
            // R(∂W) = R(δ)ᵀ a + δᵀ R(a): two outer-product sums over the samples, added in.
            let target = product + layer.weightOffset
            func addOuterProducts(_ deltas: UnsafePointer<Float>, _ activations: UnsafePointer<Float>) {
                switch layer.layout {
                case .inputMajor:
                    broadcastProduct(rows: layer.inputs, depth: rows, chunks: outPadded / 16,
                                     a: BroadcastOperand(activations, rowStride: 1, columnStride: inPadded), b: VectorOperand(deltas, rowStride: outPadded),
                                     epilogue: WeightUpdate(weights: target, rowStride: outPadded, rule: AccumulateGradient()))
                case .outputMajor:
                    broadcastProduct(rows: layer.outputs, depth: rows, chunks: inPadded / 16,
                                     a: BroadcastOperand(deltas, rowStride: 1, columnStride: outPadded), b: VectorOperand(activations, rowStride: inPadded),
                                     epilogue: WeightUpdate(weights: target, rowStride: inPadded, rule: AccumulateGradient()))
                }
            }
            addOuterProducts(rDelta, input)
            if l > 0 { addOuterProducts(delta, rInput) }
            updateBias(rows: rows, chunks: outPadded / 16, stride: outPadded, delta: rDelta,
                       bias: product + layer.biasOffset, rule: AccumulateGradient())
        }
    }
}

/// The R-activations and R-deltas of up to `capacity` samples (shaped like a ``Workspace``'s).
final class CurvatureWorkspace {
    let capacity: Int
    /// activations[0] stays zero (the inputs do not depend on the parameters).
    let activations: [UnsafeMutableBufferPointer<Float>]
    /// preActivations[l + 1] holds R(z_l) of the hidden layers with curved activations (σ″ ≠ 0).
    let preActivations: [UnsafeMutableBufferPointer<Float>]
    let deltas: [UnsafeMutableBufferPointer<Float>]

    init(network: Network, capacity: Int) {
        self.capacity = capacity
        activations = [allocateAligned(Float.self, count: capacity * network.layers[0].inputsPadded)]
            + network.layers.map { allocateAligned(Float.self, count: capacity * $0.outputsPadded) }
        deltas = network.layers.map { allocateAligned(Float.self, count: capacity * $0.outputsPadded) }
        preActivations = [allocateAligned(Float.self, count: 1)]
            + network.layers.map { allocateAligned(Float.self, count: $0.activation.hasCurvature ? capacity * $0.outputsPadded : 1) }
    }

    deinit {
        activations.forEach { $0.deallocate() }
        preActivations.forEach { $0.deallocate() }
        deltas.forEach { $0.deallocate() }
    }
}

// MARK: - Epilogues and row passes of the curvature products

/// Adds each finished chunk to what `output` holds.
struct AccumulatingStore: BroadcastEpilogue {
    let output: UnsafeMutablePointer<Float>
    let stride: Int
    @inline(__always) func initial(row: Int, chunk: Int) -> Lanes { output.lanes(at: row * stride + chunk * 16) }
    @inline(__always) func finish(row: Int, chunk: Int, _ value: Lanes) { output.storeLanes(value, at: row * stride + chunk * 16) }
}

/// Stores each finished chunk.
struct PlainStore: BroadcastEpilogue {
    let output: UnsafeMutablePointer<Float>
    let stride: Int
    @inline(__always) func initial(row: Int, chunk: Int) -> Lanes { Lanes() }
    @inline(__always) func finish(row: Int, chunk: Int, _ value: Lanes) { output.storeLanes(value, at: row * stride + chunk * 16) }
}

/// Adds each finished dot product to what `output` holds.
struct DotAdd: DotEpilogue {
    let output: UnsafeMutablePointer<Float>
    let stride: Int
    @inline(__always) func finish(row: Int, column: Int, _ dot: Float) { output[row * stride + column] += dot }
}

extension Activation {
    /// f′ through the output y: relu′ = [y > 0], tanh′ = 1 − y², σ′ = y(1 − y).
    @inline(__always)
    func firstDerivative(output y: Lanes) -> Lanes {
        switch self {
        case .relu: Lanes(repeating: 0).replacing(with: 1, where: y .> 0)
        case .tanh: Lanes(repeating: 1).addingProduct(-y, y)
        case .sigmoid: y * (Lanes(repeating: 1) - y)
        case .linear: Lanes(repeating: 1)
        }
    }

    /// Whether f″ is nonzero somewhere (relu's is zero almost everywhere).
    var hasCurvature: Bool { self == .tanh || self == .sigmoid }

    /// f″ through the output y: relu″ = 0 (almost everywhere), tanh″ = −2y(1 − y²),
    /// σ″ = y(1 − y)(1 − 2y).
    @inline(__always)
    func secondDerivative(output y: Lanes) -> Lanes {
        switch self {
        case .relu, .linear: Lanes()
        case .tanh: Lanes(repeating: -2) * y * Lanes(repeating: 1).addingProduct(-y, y)
        case .sigmoid: y * (Lanes(repeating: 1) - y) * Lanes(repeating: 1).addingProduct(Lanes(repeating: -2), y)
        }
    }
}

/// δ ← f′ ⊙ u and R(δ) ← f′ ⊙ R(u) + f″ ⊙ R(z) ⊙ u, in place, where `delta` holds u and
/// `rDelta` holds R(u) on entry (`rPreActivations` is read only for curved activations).
func backpropagateCurvature(
    _ activation: Activation, rows: Int, chunks: Int, stride: Int, delta: UnsafeMutablePointer<Float>, rDelta: UnsafeMutablePointer<Float>,
    activations: UnsafePointer<Float>, rPreActivations: UnsafePointer<Float>
) {
    if activation == .linear { return }
    if !activation.hasCurvature {
        multiplyByActivationDerivative(activation, rows: rows, chunks: chunks, stride: stride, delta: delta, activations: activations)
        multiplyByActivationDerivative(activation, rows: rows, chunks: chunks, stride: stride, delta: rDelta, activations: activations)
        return
    }
    for row in 0..<rows {
        for chunk in 0..<chunks {
            let offset = row * stride + chunk * 16
            let y = activations.lanes(at: offset), u = delta.lanes(at: offset)
            let first = activation.firstDerivative(output: y)
            let curvature = activation.secondDerivative(output: y) * rPreActivations.lanes(at: offset) * u
            delta.storeLanes(first * u, at: offset)
            rDelta.storeLanes(curvature.addingProduct(first, rDelta.lanes(at: offset)), at: offset)
        }
    }
}

extension LossFunction {
    /// For each row, δ = `scale`·∂loss/∂z and R(δ) = `scale`·(∂²loss/∂z²)·R(z): for softmax
    /// cross-entropy δ = p − onehot and R(δ) = p ⊙ R(z) − p (pᵀR(z)) with p = softmax(z) (computed
    /// once for both); for squared error δ = z − t (t the one-hot class or the target values) and R(δ) = R(z). Padding lanes stay zero.
    func deltaAndCurvatureProduct(
        outputs: UnsafePointer<Float>, direction: UnsafePointer<Float>, stride: Int, rows: Int, classes: Int, targets: LossTargets,
        scale: Float, delta: UnsafeMutablePointer<Float>, curvatureProduct: UnsafeMutablePointer<Float>
    ) {
        let chunks = (classes + 15) / 16
        let lastMask = lanesBelow(classes - (chunks - 1) * 16)
        let scaleLanes = Lanes(repeating: scale)
        let laneIndex = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        for r in 0..<rows {
            let z = outputs + r * stride, rz = direction + r * stride
            let d = delta + r * stride, out = curvatureProduct + r * stride
            let label = targets.labels[r]
            switch self {
            case .meanSquaredError:
                for chunk in 0..<chunks {
                    let target = targets.values.map { $0.lanes(at: r * stride + chunk * 16) }
                        ?? Lanes(repeating: 0).replacing(with: 1, where: laneIndex &+ Int32(chunk * 16) .== label)
                    var difference = z.lanes(at: chunk * 16) - target
                    if chunk == chunks - 1 { difference = difference.replacing(with: 0, where: .!lastMask) }
                    d.storeLanes(difference * scaleLanes, at: chunk * 16)
                    out.storeLanes(rz.lanes(at: chunk * 16) * scaleLanes, at: chunk * 16)
                }
            case .softmaxCrossEntropy:
                var maximum = -Float.infinity
                for chunk in 0..<chunks {
                    var v = z.lanes(at: chunk * 16)
                    if chunk == chunks - 1 { v = v.replacing(with: -.infinity, where: .!lastMask) }
                    maximum = Swift.max(maximum, DeterministicMath.maximum(v))
                }
                var total: Float = 0, weighted: Float = 0
                for chunk in 0..<chunks {
                    var e = DeterministicMath.exp(z.lanes(at: chunk * 16) - Lanes(repeating: maximum))
                    if chunk == chunks - 1 { e = e.replacing(with: 0, where: .!lastMask) }
                    total += DeterministicMath.sum(e)
                    weighted += DeterministicMath.sum(e * rz.lanes(at: chunk * 16))
                    out.storeLanes(e, at: chunk * 16)
                }
                let inverse = 1 / total
                let mean = Lanes(repeating: weighted * inverse)
                let scaledInverse = Lanes(repeating: scale * inverse)
                for chunk in 0..<chunks {
                    let scaledP = out.lanes(at: chunk * 16) * scaledInverse
                    let target = Lanes(repeating: 0).replacing(with: scale, where: laneIndex &+ Int32(chunk * 16) .== label)
                    d.storeLanes(scaledP - target, at: chunk * 16)
                    out.storeLanes(scaledP * (rz.lanes(at: chunk * 16) - mean), at: chunk * 16)
                }
            }
        }
    }
}
