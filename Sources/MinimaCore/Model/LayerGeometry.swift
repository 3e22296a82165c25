/// How a dense layer's weight matrix is laid out in memory.
///
/// The vectorized (16-lane) dimension must be contiguous. *Input-major* (Wᵀ, one row per input,
/// outputs padded) makes the forward pass and the weight gradient broadcast-FMA loops and the
/// backward pass a dot product over the outputs. *Output-major* (W, one row per output, inputs
/// padded) swaps those roles. Each layer takes the layout whose dot products are longest
/// (so their horizontal sums are amortized); the first layer never needs the backward dot product
/// and is always input-major.
public enum WeightLayout: String, Sendable {
    case inputMajor = "input-major"
    case outputMajor = "output-major"
}

/// Sizes, layout and offsets of one dense layer inside a network's parameter buffer.
public struct LayerGeometry: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    public let layout: WeightLayout
    public let activation: Activation
    /// Offset of the weights in the parameter buffer (64-byte aligned).
    public let weightOffset: Int
    /// Offset of the biases (`outputsPadded` floats) in the parameter buffer.
    public let biasOffset: Int

    public var inputsPadded: Int { paddedWidth(inputs) }
    public var outputsPadded: Int { paddedWidth(outputs) }
    public var weightRows: Int { layout == .inputMajor ? inputs : outputs }
    public var weightRowStride: Int { layout == .inputMajor ? outputsPadded : inputsPadded }
    public var parameterCount: Int { inputs * outputs + outputs }

    /// Offset of logical weight W[output][input] in the parameter buffer.
    public func weightIndex(output: Int, input: Int) -> Int {
        switch layout {
        case .inputMajor: weightOffset + input * outputsPadded + output
        case .outputMajor: weightOffset + output * inputsPadded + input
        }
    }

    /// Lays out a network: `widths` = [inputs, hidden…, outputs].
    static func network(widths: [Int], activation: Activation) -> (layers: [LayerGeometry], parameterCount: Int) {
        var layers: [LayerGeometry] = []
        var offset = 0
        for l in 0..<(widths.count - 1) {
            let (inputs, outputs) = (widths[l], widths[l + 1])
            let layout: WeightLayout = l == 0 || paddedWidth(outputs) >= paddedWidth(inputs) ? .inputMajor : .outputMajor
            let rows = layout == .inputMajor ? inputs : outputs
            let stride = layout == .inputMajor ? paddedWidth(outputs) : paddedWidth(inputs)
            let weightOffset = offset
            offset += rows * stride
            let biasOffset = offset
            offset += paddedWidth(outputs)
            layers.append(LayerGeometry(
                inputs: inputs, outputs: outputs, layout: layout,
                activation: l == widths.count - 2 ? .linear : activation,
                weightOffset: weightOffset, biasOffset: biasOffset))
        }
        return (layers, offset)
    }
}
