import CMinimaSupport

/// A fully connected network: its layer geometry and its parameters, in 64-byte-aligned buffers
/// laid out for the kernels. (The optimizer's state belongs to the optimizer: see `OptimizerMethod`.)
///
/// One network belongs to one trial on one thread; it is not `Sendable`.
public final class Network {
    public let layers: [LayerGeometry]
    public let classes: Int
    /// All weights and biases (with zero padding) in one buffer.
    let parameters: UnsafeMutableBufferPointer<Float>

    /// A network with `inputs` inputs, the given hidden widths and `classes` outputs; all
    /// parameters zero.
    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation) {
        let (layers, count) = LayerGeometry.network(widths: [inputs] + hidden + [classes], activation: activation)
        self.layers = layers
        self.classes = classes
        parameters = allocateAligned(Float.self, count: count)
    }

    deinit {
        parameters.deallocate()
    }

    public var inputs: Int { layers[0].inputs }

    /// Number of trainable parameters (weights and biases, without padding).
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }

    /// Draws every layer's weights from its own initialization stream; biases to zero.
    public func initialize(_ initialization: Initialization, seed: UInt64, trialIndex: UInt64) {
        for (l, layer) in layers.enumerated() {
            var stream = RandomStream(seed: seed, trial: trialIndex, purpose: .initialization, substream: UInt32(l))
            let weights = initialization.weights(outputs: layer.outputs, inputs: layer.inputs, stream: &stream)
            setWeights(layer: l, weights.map { Float($0) })
            for o in 0..<layer.outputs { parameters[layer.biasOffset + o] = 0 }
        }
    }

    /// Layer `layer`'s logical weights W[output][input], row-major.
    public func weights(layer: Int) -> [Float] {
        let g = layers[layer]
        var result: [Float] = []
        result.reserveCapacity(g.outputs * g.inputs)
        for o in 0..<g.outputs { for i in 0..<g.inputs { result.append(parameters[g.weightIndex(output: o, input: i)]) } }
        return result
    }

    public func setWeights(layer: Int, _ weights: [Float]) {
        let g = layers[layer]
        precondition(weights.count == g.outputs * g.inputs)
        for o in 0..<g.outputs { for i in 0..<g.inputs { parameters[g.weightIndex(output: o, input: i)] = weights[o * g.inputs + i] } }
    }

    public func biases(layer: Int) -> [Float] {
        let g = layers[layer]
        return Array(parameters[g.biasOffset ..< g.biasOffset + g.outputs])
    }

    public func setBiases(layer: Int, _ biases: [Float]) {
        let g = layers[layer]
        precondition(biases.count == g.outputs)
        for o in 0..<g.outputs { parameters[g.biasOffset + o] = biases[o] }
    }

    /// All parameters in canonical order: per layer, W[out][in] row-major, then the biases.
    public func canonicalParameters() -> [Float] {
        layers.indices.flatMap { weights(layer: $0) + biases(layer: $0) }
    }

    /// SHA-256 of ``canonicalParameters()`` as little-endian float32.
    public func parametersSHA256() -> String {
        let values = canonicalParameters()
        return values.withUnsafeBytes { SHA256.hex(of: $0) }
    }

    var allParametersFinite: Bool {
        for value in parameters where !value.isFinite { return false }
        return true
    }

    func copyParameters(into snapshot: UnsafeMutableBufferPointer<Float>) {
        _ = snapshot.update(fromContentsOf: parameters)
    }

    func restoreParameters(from snapshot: UnsafeMutableBufferPointer<Float>) {
        _ = parameters.update(fromContentsOf: snapshot)
    }

    func makeParameterBuffer() -> UnsafeMutableBufferPointer<Float> {
        allocateAligned(Float.self, count: parameters.count)
    }

    // MARK: Passes

    /// Forward pass over the first `rows` samples loaded in `workspace`.
    func forward(_ workspace: Workspace, rows: Int) {
        forward(workspace, rows: rows, fromLayer: 0)
    }

    /// Whether batch-1 training may fuse the first layer's update into the next forward pass.
    var canFuseFirstLayer: Bool { layers[0].layout == .inputMajor }

    /// Batch-1 forward pass that first applies the pending update of the first layer (the
    /// previous sample's input and delta), in the same pass over its weights.
    func forwardApplyingPendingUpdate<Rule: UpdateRule>(_ workspace: Workspace, pendingInput: UnsafePointer<Float>, pendingDelta: UnsafePointer<Float>, rule: Rule) {
        let layer = layers[0]
        let p = parameters.baseAddress!
        fusedUpdateAndForward(
            inputs: layer.inputs, chunks: layer.outputsPadded / 16, weights: p + layer.weightOffset,
            rowStride: layer.outputsPadded, previousInput: pendingInput, previousDelta: pendingDelta,
            nextInput: UnsafePointer(workspace.activations[0].baseAddress!), rule: rule.shifted(by: layer.weightOffset),
            epilogue: BiasActivationStore(bias: UnsafePointer(p + layer.biasOffset), output: workspace.activations[1].baseAddress!,
                                          outputStride: layer.outputsPadded, activation: layer.activation, width: layer.outputs))
        forward(workspace, rows: 1, fromLayer: 1)
    }

    /// The first layer's weight step for one sample (what a deferred update amounts to).
    func applyFirstLayerUpdate<Rule: UpdateRule>(input: UnsafePointer<Float>, delta: UnsafePointer<Float>, rule: Rule) {
        let layer = layers[0]
        let p = parameters.baseAddress!
        broadcastProduct(
            rows: layer.inputs, depth: 1, chunks: layer.outputsPadded / 16,
            a: BroadcastOperand(input, rowStride: 1, columnStride: layer.inputsPadded),
            b: VectorOperand(delta, rowStride: layer.outputsPadded),
            epilogue: WeightUpdate(weights: p + layer.weightOffset, rowStride: layer.outputsPadded, rule: rule.shifted(by: layer.weightOffset)))
    }

    private func forward(_ workspace: Workspace, rows: Int, fromLayer first: Int) {
        let p = UnsafePointer(parameters.baseAddress!)
        for (l, layer) in layers.enumerated() where l >= first {
            let input = UnsafePointer(workspace.activations[l].baseAddress!)
            let output = workspace.activations[l + 1].baseAddress!
            let weights = p + layer.weightOffset
            switch layer.layout {
            case .inputMajor:
                broadcastProduct(
                    rows: rows, depth: layer.inputs, chunks: layer.outputsPadded / 16,
                    a: BroadcastOperand(input, rowStride: layer.inputsPadded, columnStride: 1),
                    b: VectorOperand(weights, rowStride: layer.outputsPadded),
                    epilogue: BiasActivationStore(bias: p + layer.biasOffset, output: output, outputStride: layer.outputsPadded,
                                                  activation: layer.activation, width: layer.outputs))
            case .outputMajor:
                dotProduct(
                    rows: rows, columns: layer.outputs, chunks: layer.inputsPadded / 16,
                    a: VectorOperand(input, rowStride: layer.inputsPadded),
                    b: VectorOperand(weights, rowStride: layer.inputsPadded),
                    epilogue: DotBiasStore(bias: p + layer.biasOffset, output: output, stride: layer.outputsPadded))
                applyActivation(layer.activation, rows: rows, width: layer.outputs, stride: layer.outputsPadded, output)
            }
        }
    }

    /// Loss of the outputs of the last forward pass, accumulated into `result` sample by sample;
    /// with `deltaScale`, also writes ∂(deltaScale · Σ loss)/∂outputs for the backward pass.
    func evaluateLoss(_ loss: LossFunction, _ workspace: Workspace, rows: Int, deltaScale: Float?, into result: inout LossEvaluation) {
        let layer = layers[layers.count - 1]
        let block = loss.evaluate(
            outputs: UnsafePointer(workspace.activations[layers.count].baseAddress!), stride: layer.outputsPadded,
            rows: rows, classes: classes, targets: workspace.lossTargets,
            delta: deltaScale == nil ? nil : workspace.deltas[layers.count - 1].baseAddress!, scale: deltaScale ?? 0,
            startingFrom: result.lossSum)
        result.lossSum = block.lossSum
        result.errors += block.errors
    }

    /// Backward pass from the output deltas of the last ``evaluateLoss``: each layer's input delta
    /// is computed from its weights before `rule` updates them. With ``AccumulateGradient`` the
    /// gradients are added into `destination` (a buffer shaped like the parameters) instead.
    func backward<Rule: UpdateRule>(_ workspace: Workspace, rows: Int, rule: Rule, destination: UnsafeMutablePointer<Float>? = nil, deferFirstLayerWeights: Bool = false) {
        let p = parameters.baseAddress!
        let target = destination ?? p
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let inPadded = layer.inputsPadded, outPadded = layer.outputsPadded
            let delta = UnsafePointer(workspace.deltas[l].baseAddress!)
            let input = UnsafePointer(workspace.activations[l].baseAddress!)
            let weights = UnsafePointer(p + layer.weightOffset)
            if l > 0 {
                let previousDelta = workspace.deltas[l - 1].baseAddress!
                let previousActivation = layers[l - 1].activation
                switch layer.layout {
                case .inputMajor:
                    dotProduct(
                        rows: rows, columns: layer.inputs, chunks: outPadded / 16,
                        a: VectorOperand(delta, rowStride: outPadded), b: VectorOperand(weights, rowStride: outPadded),
                        epilogue: DotStore(output: previousDelta, stride: inPadded))
                    multiplyByActivationDerivative(previousActivation, rows: rows, chunks: inPadded / 16, stride: inPadded,
                                                   delta: previousDelta, activations: input)
                case .outputMajor:
                    broadcastProduct(
                        rows: rows, depth: layer.outputs, chunks: inPadded / 16,
                        a: BroadcastOperand(delta, rowStride: outPadded, columnStride: 1),
                        b: VectorOperand(weights, rowStride: inPadded),
                        epilogue: ActivationDerivativeStore(output: previousDelta, activations: input, stride: inPadded, activation: previousActivation))
                }
            }
            switch (layer.layout, l == 0 && deferFirstLayerWeights) {
            case (_, true):
                break   // the caller fuses this step into the next forward pass
            case (.inputMajor, false):
                broadcastProduct(
                    rows: layer.inputs, depth: rows, chunks: outPadded / 16,
                    a: BroadcastOperand(input, rowStride: 1, columnStride: inPadded),
                    b: VectorOperand(delta, rowStride: outPadded),
                    epilogue: WeightUpdate(weights: target + layer.weightOffset, rowStride: outPadded, rule: rule.shifted(by: layer.weightOffset)))
            case (.outputMajor, false):
                broadcastProduct(
                    rows: layer.outputs, depth: rows, chunks: inPadded / 16,
                    a: BroadcastOperand(delta, rowStride: 1, columnStride: outPadded),
                    b: VectorOperand(input, rowStride: inPadded),
                    epilogue: WeightUpdate(weights: target + layer.weightOffset, rowStride: inPadded, rule: rule.shifted(by: layer.weightOffset)))
            }
            updateBias(rows: rows, chunks: outPadded / 16, stride: outPadded, delta: delta,
                       bias: target + layer.biasOffset, rule: rule.shifted(by: layer.biasOffset))
        }
    }
}

/// The activations, deltas and labels of up to `capacity` samples for one network.
final class Workspace {
    let capacity: Int
    /// activations[0] holds the inputs; activations[l + 1] the outputs of layer l.
    let activations: [UnsafeMutableBufferPointer<Float>]
    /// deltas[l] holds ∂loss/∂(pre-activation outputs of layer l).
    let deltas: [UnsafeMutableBufferPointer<Float>]
    let labels: UnsafeMutableBufferPointer<Int32>
    /// The loaded rows' target values (regression sets), laid out like the outputs.
    let targetValues: UnsafeMutableBufferPointer<Float>
    /// Whether the loaded samples have target values (set by ``load(_:from:)``).
    private(set) var hasTargetValues = false

    init(network: Network, capacity: Int) {
        self.capacity = capacity
        activations = [allocateAligned(Float.self, count: capacity * network.layers[0].inputsPadded)]
            + network.layers.map { allocateAligned(Float.self, count: capacity * $0.outputsPadded) }
        deltas = network.layers.map { allocateAligned(Float.self, count: capacity * $0.outputsPadded) }
        labels = allocateAligned(Int32.self, count: capacity)
        targetValues = allocateAligned(Float.self, count: capacity * network.layers[network.layers.count - 1].outputsPadded)
    }

    deinit {
        activations.forEach { $0.deallocate() }
        deltas.forEach { $0.deallocate() }
        labels.deallocate()
        targetValues.deallocate()
    }

    var lossTargets: LossTargets {
        LossTargets(labels: UnsafePointer(labels.baseAddress!), values: hasTargetValues ? UnsafePointer(targetValues.baseAddress!) : nil)
    }

    /// Copies the features and targets of `samples` (at most `capacity`) into rows 0, 1, …
    func load(_ samples: ArraySlice<Int32>, from dataset: Dataset) {
        let stride = dataset.rowStride
        let inputs = activations[0].baseAddress!
        var row = 0
        for sample in samples {
            dataset.copyRow(Int(sample), into: inputs + row * stride)
            row += 1
        }
        loadTargets(samples, from: dataset)
    }

    /// Copies only the classes and target values of `samples` into rows 0, 1, …
    func loadTargets(_ samples: ArraySlice<Int32>, from dataset: Dataset) {
        hasTargetValues = dataset.targetValues != nil
        let targetStride = paddedWidth(dataset.outputCount)
        var row = 0
        for sample in samples {
            labels[row] = dataset.labels[Int(sample)]
            if let values = dataset.targetValues {
                (targetValues.baseAddress! + row * targetStride).update(from: values.baseAddress! + Int(sample) * targetStride, count: targetStride)
            }
            row += 1
        }
    }

    /// Starts fetching the rows of `samples` into the cache (the next batch, while this one trains:
    /// rows are read in random order, so the hardware prefetcher cannot guess them).
    func prefetch(_ samples: ArraySlice<Int32>, from dataset: Dataset) {
        for sample in samples {
            let (row, length) = dataset.storedRow(Int(sample))
            var offset = 0
            while offset < length {
                minima_prefetch(row + offset)
                offset += 64
            }
        }
    }
}
