extension Activation {
    /// The activation of each lane. NaN stays NaN (divergence must stay visible).
    @inline(__always)
    func apply(_ z: Lanes) -> Lanes {
        switch self {
        case .relu: z.replacing(with: 0, where: z .< 0)
        case .tanh: DeterministicMath.tanh(z)
        case .sigmoid: DeterministicMath.sigmoid(z)
        case .linear: z
        }
    }

    /// `delta` times the derivative of the activation, expressed through its output `y`
    /// (so the pre-activations need not be kept): relu′ = [y > 0], tanh′ = 1 − y², σ′ = y(1 − y).
    @inline(__always)
    func backpropagate(_ delta: Lanes, output y: Lanes) -> Lanes {
        switch self {
        case .relu: delta.replacing(with: 0, where: y .<= 0)
        case .tanh: delta * Lanes(repeating: 1).addingProduct(-y, y)
        case .sigmoid: delta * (y * (Lanes(repeating: 1) - y))
        case .linear: delta
        }
    }
}

/// Lane i is set when i < count.
@inline(__always)
func lanesBelow(_ count: Int) -> SIMDMask<SIMD16<Int32>> {
    SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .< SIMD16<Int32>(repeating: Int32(count))
}

// MARK: - Epilogues of the broadcast product

/// Forward pass of an input-major layer: start from the bias, apply the activation, keep the
/// padding lanes of the last chunk at zero.
struct BiasActivationStore: BroadcastEpilogue {
    let bias: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let outputStride: Int
    let activation: Activation
    let lastChunk: Int
    let lastChunkMask: SIMDMask<SIMD16<Int32>>

    init(bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int, activation: Activation, width: Int) {
        self.bias = bias
        self.output = output
        self.outputStride = outputStride
        self.activation = activation
        lastChunk = (width - 1) / 16
        lastChunkMask = lanesBelow(width - lastChunk * 16)
    }

    @inline(__always) func initial(row: Int, chunk: Int) -> Lanes { bias.lanes(at: chunk * 16) }

    @inline(__always) func finish(row: Int, chunk: Int, _ value: Lanes) {
        var y = activation.apply(value)
        if chunk == lastChunk { y = y.replacing(with: 0, where: .!lastChunkMask) }
        output.storeLanes(y, at: row * outputStride + chunk * 16)
    }
}

/// Backward pass through an output-major layer: δ_in = (Σ δ_out · W) ⊙ f′(y_in).
struct ActivationDerivativeStore: BroadcastEpilogue {
    let output: UnsafeMutablePointer<Float>
    let activations: UnsafePointer<Float>
    let stride: Int
    let activation: Activation

    @inline(__always) func initial(row: Int, chunk: Int) -> Lanes { Lanes() }

    @inline(__always) func finish(row: Int, chunk: Int, _ value: Lanes) {
        let offset = row * stride + chunk * 16
        output.storeLanes(activation.backpropagate(value, output: activations.lanes(at: offset)), at: offset)
    }
}

/// One step of the optimizer on a 16-lane chunk of parameters, given its gradient. Each rule is
/// its own type so that the kernels are specialized per rule (no branch per chunk). A rule that
/// keeps state (momentum, Adam's moments) holds pointers into its optimizer's parameter-shaped
/// buffers; the kernels address one layer at a time, so they ask for the rule ``shifted(by:)``
/// that layer's offset, and `offset` in ``apply`` is relative to it.
protocol UpdateRule {
    /// `decays`: whether weight decay applies (weights yes, biases no).
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool)
    /// This rule for the parameters from `offset` on: its state pointers moved by `offset` floats.
    func shifted(by offset: Int) -> Self
    /// Called once before each step's gradients are applied (Adam counts its steps here).
    mutating func beginStep()
}

extension UpdateRule {
    func shifted(by offset: Int) -> Self { self }
    mutating func beginStep() {}
}

/// Adds the gradient into a parameter-shaped buffer instead of stepping (full-batch gradients).
struct AccumulateGradient: UpdateRule {
    @inline(__always)
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool) {
        parameters.storeLanes(parameters.lanes(at: offset) + gradient, at: offset)
    }
}

/// Weight gradient of a layer, applied to its rows as soon as each chunk is summed (no gradient
/// matrix is ever stored).
struct WeightUpdate<Rule: UpdateRule>: BroadcastEpilogue {
    let weights: UnsafeMutablePointer<Float>
    let rowStride: Int
    /// Already shifted to the layer's weights.
    let rule: Rule

    @inline(__always) func initial(row: Int, chunk: Int) -> Lanes { Lanes() }

    @inline(__always) func finish(row: Int, chunk: Int, _ value: Lanes) {
        rule.apply(value, parameters: weights, offset: row * rowStride + chunk * 16, decays: true)
    }
}

// MARK: - Epilogues of the dot product

struct DotStore: DotEpilogue {
    let output: UnsafeMutablePointer<Float>
    let stride: Int
    @inline(__always) func finish(row: Int, column: Int, _ dot: Float) { output[row * stride + column] = dot }
}

struct DotBiasStore: DotEpilogue {
    let bias: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let stride: Int
    @inline(__always) func finish(row: Int, column: Int, _ dot: Float) { output[row * stride + column] = bias[column] + dot }
}

// MARK: - Row-wise passes

/// Applies `activation` to the first `width` columns of each row, in place; padding stays zero.
func applyActivation(_ activation: Activation, rows: Int, width: Int, stride: Int, _ values: UnsafeMutablePointer<Float>) {
    if activation == .linear { return }
    let chunks = (width + 15) / 16
    let lastMask = lanesBelow(width - (chunks - 1) * 16)
    for row in 0..<rows {
        for chunk in 0..<chunks {
            let offset = row * stride + chunk * 16
            var y = activation.apply(values.lanes(at: offset))
            if chunk == chunks - 1 { y = y.replacing(with: 0, where: .!lastMask) }
            values.storeLanes(y, at: offset)
        }
    }
}

/// δ ← δ ⊙ f′(y) over whole rows.
func multiplyByActivationDerivative(_ activation: Activation, rows: Int, chunks: Int, stride: Int, delta: UnsafeMutablePointer<Float>, activations: UnsafePointer<Float>) {
    if activation == .linear { return }
    for row in 0..<rows {
        for chunk in 0..<chunks {
            let offset = row * stride + chunk * 16
            delta.storeLanes(activation.backpropagate(delta.lanes(at: offset), output: activations.lanes(at: offset)), at: offset)
        }
    }
}

/// Bias gradient Σ_rows δ (rows in order), then one optimizer step on the bias (no weight decay).
/// `rule` is already shifted to the layer's biases.
@inline(__always)
func updateBias<Rule: UpdateRule>(rows: Int, chunks: Int, stride: Int, delta: UnsafePointer<Float>, bias: UnsafeMutablePointer<Float>, rule: Rule) {
    for chunk in 0..<chunks {
        var sum = delta.lanes(at: chunk * 16)
        var row = 1
        while row < rows {
            sum += delta.lanes(at: row * stride + chunk * 16)
            row += 1
        }
        rule.apply(sum, parameters: bias, offset: chunk * 16, decays: false)
    }
}
