/// Plain scalar versions of the kernels, written as the textbook formulas, for the tests to
/// compare the SIMD kernels against.
package enum ScalarReference {
    /// C[r][n] = initial[n] + Σ_k A[r][k] · B[k][n], each term added with one fused multiply-add
    /// in order k = 0, 1, … (the order the SIMD kernel promises, so results must match exactly).
    package static func broadcastProduct(a: [Float], b: [Float], initial: [Float], rows: Int, depth: Int, width: Int) -> [Float] {
        var c = [Float](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for n in 0..<width {
                var sum = initial[n]
                for k in 0..<depth { sum = sum.addingProduct(a[r * depth + k], b[k * width + n]) }
                c[r * width + n] = sum
            }
        }
        return c
    }

    /// C[r][j] = Σ_k A[r][k] · B[j][k], summed in Double.
    package static func dotProduct(a: [Float], b: [Float], rows: Int, columns: Int, depth: Int) -> [Double] {
        var c = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for j in 0..<columns {
                var sum = 0.0
                for k in 0..<depth { sum += Double(a[r * depth + k]) * Double(b[j * depth + k]) }
                c[r * columns + j] = sum
            }
        }
        return c
    }

    /// Mean loss of a network written out with plain loops in Double: forward pass, then the loss.
    /// `targets`: each sample's target vector (one-hot for a class); cross-entropy reads the class
    /// as the index of the largest.
    package static func meanLoss(network: Network, inputs: [[Float]], targets: [[Float]], loss: LossFunction) -> Double {
        var total = 0.0
        for (x, target) in zip(inputs, targets) {
            let label = target.indices.max(by: { target[$0] < target[$1] })!
            var activation = x.map(Double.init)
            for (l, layer) in network.layers.enumerated() {
                let w = network.weights(layer: l), bias = network.biases(layer: l)
                var z = [Double](repeating: 0, count: layer.outputs)
                for o in 0..<layer.outputs {
                    var sum = Double(bias[o])
                    for i in 0..<layer.inputs { sum += Double(w[o * layer.inputs + i]) * activation[i] }
                    z[o] = sum
                }
                activation = z.map { value in
                    switch layer.activation {
                    case .relu: max(0, value)
                    case .tanh: Foundationless.tanh(value)
                    case .sigmoid: 1 / (1 + Foundationless.exp(-value))
                    case .linear: value
                    }
                }
            }
            switch loss {
            case .softmaxCrossEntropy:
                let m = activation.max()!
                let total_ = activation.reduce(0) { $0 + Foundationless.exp($1 - m) }
                total += DeterministicMath.log(total_) + m - activation[label]
            case .meanSquaredError:
                total += 0.5 * activation.enumerated().reduce(0) { sum, item in
                    let d = item.element - Double(target[item.offset])
                    return sum + d * d
                }
            }
        }
        return total / Double(inputs.count)
    }
}

/// Double-precision exp and tanh for the reference (accurate, not bit-reproducible).
enum Foundationless {
    static func exp(_ x: Double) -> Double {
        if x < -700 { return 0 }
        let n = (x / 0.693_147_180_559_945_3).rounded()
        let r = x - n * 0.693_147_180_559_945_3
        var term = 1.0, sum = 1.0
        for k in 1..<30 { term *= r / Double(k); sum += term }
        return sum * DeterministicMath.power(2, Int(n))
    }

    static func tanh(_ x: Double) -> Double {
        let e = exp(2 * x)
        return (e - 1) / (e + 1)
    }
}

/// Runs the production kernels on plain arrays, for the tests.
package enum KernelHarness {
    /// The SIMD broadcast product of row-major A (rows × depth) and B (depth × width), starting
    /// from `initial` (width values). `width` need not be a multiple of 16: B and the result are
    /// padded internally.
    package static func broadcastProduct(a: [Float], b: [Float], initial: [Float], rows: Int, depth: Int, width: Int) -> [Float] {
        let padded = paddedWidth(width)
        var paddedB = [Float](repeating: 0, count: depth * padded)
        for k in 0..<depth { for n in 0..<width { paddedB[k * padded + n] = b[k * width + n] } }
        var paddedInitial = [Float](repeating: 0, count: padded)
        for n in 0..<width { paddedInitial[n] = initial[n] }
        var c = [Float](repeating: .nan, count: rows * padded)
        a.withUnsafeBufferPointer { a in
            paddedB.withUnsafeBufferPointer { b in
                paddedInitial.withUnsafeBufferPointer { initial in
                    c.withUnsafeMutableBufferPointer { c in
                        MinimaCore.broadcastProduct(
                            rows: rows, depth: depth, chunks: padded / 16,
                            a: BroadcastOperand(a.baseAddress!, rowStride: depth, columnStride: 1),
                            b: VectorOperand(b.baseAddress!, rowStride: padded),
                            epilogue: BiasActivationStore(bias: initial.baseAddress!, output: c.baseAddress!, outputStride: padded, activation: .linear, width: width))
                    }
                }
            }
        }
        return (0..<rows).flatMap { r in c[r * padded ..< r * padded + width] }
    }

    /// The SIMD dot product of the rows of A (rows × depth) with the rows of B (columns × depth).
    package static func dotProduct(a: [Float], b: [Float], rows: Int, columns: Int, depth: Int) -> [Float] {
        let padded = paddedWidth(depth)
        func pad(_ m: [Float], _ count: Int) -> [Float] {
            var out = [Float](repeating: 0, count: count * padded)
            for r in 0..<count { for k in 0..<depth { out[r * padded + k] = m[r * depth + k] } }
            return out
        }
        let pa = pad(a, rows), pb = pad(b, columns)
        var c = [Float](repeating: .nan, count: rows * columns)
        pa.withUnsafeBufferPointer { a in
            pb.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    MinimaCore.dotProduct(rows: rows, columns: columns, chunks: padded / 16,
                               a: VectorOperand(a.baseAddress!, rowStride: padded), b: VectorOperand(b.baseAddress!, rowStride: padded),
                               epilogue: DotStore(output: c.baseAddress!, stride: columns))
                }
            }
        }
        return c
    }
}

extension Network {
    /// Mean loss over `samples` of `dataset` and its gradient with respect to every parameter, in
    /// the order of ``canonicalParameters()``, computed by the production kernels.
    package func meanLossAndGradient(on dataset: Dataset, samples: [Int32], loss: LossFunction) -> (loss: Double, gradient: [Float]) {
        let workspace = Workspace(network: self, capacity: samples.count)
        workspace.load(samples[...], from: dataset)
        forward(workspace, rows: samples.count)
        var total = LossEvaluation()
        evaluateLoss(loss, workspace, rows: samples.count, deltaScale: 1 / Float(samples.count), into: &total)
        let gradient = makeParameterBuffer()
        defer { gradient.deallocate() }
        backward(workspace, rows: samples.count, rule: AccumulateGradient(), destination: gradient.baseAddress!)
        var canonical: [Float] = []
        for layer in layers {
            for o in 0..<layer.outputs { for i in 0..<layer.inputs { canonical.append(gradient[layer.weightIndex(output: o, input: i)]) } }
            for o in 0..<layer.outputs { canonical.append(gradient[layer.biasOffset + o]) }
        }
        return (total.lossSum / Double(samples.count), canonical)
    }

    /// Mean loss over `samples` of `dataset` by the production kernels.
    package func meanLoss(on dataset: Dataset, samples: [Int32], loss: LossFunction) -> Double {
        let workspace = Workspace(network: self, capacity: samples.count)
        workspace.load(samples[...], from: dataset)
        forward(workspace, rows: samples.count)
        var total = LossEvaluation()
        evaluateLoss(loss, workspace, rows: samples.count, deltaScale: nil, into: &total)
        return total.lossSum / Double(samples.count)
    }

    /// Sets every parameter from a list in the order of ``canonicalParameters()``.
    package func setCanonicalParameters(_ values: [Float]) {
        var index = 0
        for (l, layer) in layers.enumerated() {
            setWeights(layer: l, Array(values[index ..< index + layer.inputs * layer.outputs]))
            index += layer.inputs * layer.outputs
            setBiases(layer: l, Array(values[index ..< index + layer.outputs]))
            index += layer.outputs
        }
    }
}
