extension LossSurface {
    /// The objective at origin + α·first + β·second (canonical order) for every α of `alphas`
    /// and β of `betas`, β outer — a slice's grid.
    ///
    /// Along a plane the first layer's pre-activations are linear in (α, β):
    /// z(α, β) = z₀ + α·z₁ + β·z₂, where z₀ is the origin's and z₁, z₂ are the directions' (their
    /// weights applied to the inputs, plus their bias parts). They are computed once, by the
    /// forward kernel, so that each grid point costs the sum and the layers above the first — for
    /// 100 inputs and 10 classes about a tenth of a forward pass. Each value equals `value()` at
    /// that point up to float32 rounding: the sum, and the layers above the first run their own
    /// kernel calls (a short output-major layer transposed onto the broadcast kernel, whose order
    /// of summation differs from the dot product's) — the same order on every machine. A network
    /// without hidden layers is evaluated point by point. nil when
    /// `isCancelled` says so; the network's parameters above the first layer are left at the
    /// last point (the caller puts them back).
    func valuesOverPlane(origin: [Float], first: [Float], second: [Float], alphas: [Float], betas: [Float], isCancelled: () -> Bool) -> [Double]? {
        let count = bufferOffsets.count
        precondition(origin.count == count && first.count == count && second.count == count, "a plane's vectors must be shaped like the parameters")
        let parameters = network.parameters
        func place(_ alpha: Float, _ beta: Float, from k: Int) {
            for index in k..<count { parameters[bufferOffsets[index]] = origin[index] + alpha * first[index] + beta * second[index] }
        }
        func decay(_ alpha: Float, _ beta: Float) -> Double {
            guard weightDecay != 0 else { return 0 }
            var sum = 0.0
            for k in 0..<count where decayed[k] {
                let w = Double(origin[k] + alpha * first[k] + beta * second[k])
                sum += w * w
            }
            return 0.5 * weightDecay * sum
        }
        guard network.layers.count >= 2 else {
            var values: [Double] = []
            for beta in betas {
                for alpha in alphas {
                    if isCancelled() { return nil }
                    place(alpha, beta, from: 0)
                    values.append(value().loss)
                }
            }
            return values
        }

        // The first layer of the origin and of each direction, in buffer layout.
        let layer = network.layers[0]
        let width = layer.outputsPadded
        let firstLayerEnd = layer.inputs * layer.outputs + layer.outputs
        let sets = [origin, first, second].map { canonical -> UnsafeMutableBufferPointer<Float> in
            let buffer = network.makeParameterBuffer()
            buffer.update(repeating: 0)
            for k in 0..<firstLayerEnd { buffer[bufferOffsets[k]] = canonical[k] }
            return buffer
        }
        // z₀, z₁, z₂ of every block of samples, and the blocks' samples (for their targets).
        var blocks: [(rows: Int, samples: ArraySlice<Int32>, z: [UnsafeMutableBufferPointer<Float>])] = []
        defer {
            sets.forEach { $0.deallocate() }
            blocks.forEach { $0.z.forEach { $0.deallocate() } }
        }
        var start = 0
        while start < samples.count {
            let rows = min(workspace.capacity, samples.count - start)
            workspace.load(samples[start ..< start + rows], from: dataset)
            let z = sets.map { set -> UnsafeMutableBufferPointer<Float> in
                let out = allocateAligned(Float.self, count: rows * width)
                broadcastProduct(
                    rows: rows, depth: layer.inputs, chunks: width / 16,
                    a: BroadcastOperand(UnsafePointer(workspace.activations[0].baseAddress!), rowStride: layer.inputsPadded, columnStride: 1),
                    b: VectorOperand(UnsafePointer(set.baseAddress! + layer.weightOffset), rowStride: width),
                    epilogue: BiasActivationStore(bias: UnsafePointer(set.baseAddress! + layer.biasOffset), output: out.baseAddress!, outputStride: width,
                                                  activation: .linear, width: layer.outputs))
                return out
            }
            blocks.append((rows, samples[start ..< start + rows], z))
            start += rows
        }

        // The layers above the first. A layer the network stores output-major (its outputs fewer
        // than its inputs, as the 10-class output layer) with few inputs is transposed into its
        // own buffer at every grid point, so that it runs on the broadcast kernel instead of
        // short dot products with a horizontal sum each.
        var canonicalStart = firstLayerEnd
        let upper: [(layer: LayerGeometry, canonicalStart: Int, transposed: UnsafeMutableBufferPointer<Float>?)] = network.layers.dropFirst().map { layer in
            defer { canonicalStart += layer.inputs * layer.outputs + layer.outputs }
            // Transposing pays where the dot products are short (few inputs: the horizontal sums
            // dominate); with many inputs the network's own dot-product layout is faster.
            guard layer.layout == .outputMajor, layer.inputsPadded <= 64 else { return (layer, canonicalStart, nil) }
            let buffer = allocateAligned(Float.self, count: layer.inputs * layer.outputsPadded)
            buffer.update(repeating: 0)
            return (layer, canonicalStart, buffer)
        }
        defer { upper.forEach { $0.transposed?.deallocate() } }

        let lastChunk = (layer.outputs - 1) / 16, lastMask = lanesBelow(layer.outputs - lastChunk * 16)
        let hidden = workspace.activations[1].baseAddress!
        var values: [Double] = []
        values.reserveCapacity(alphas.count * betas.count)
        for beta in betas {
            for alpha in alphas {
                if isCancelled() { return nil }
                place(alpha, beta, from: firstLayerEnd)
                for entry in upper {
                    guard let transposed = entry.transposed else { continue }
                    let l = entry.layer, stride = l.outputsPadded
                    for o in 0..<l.outputs {
                        let row = entry.canonicalStart + o * l.inputs
                        for i in 0..<l.inputs { transposed[i * stride + o] = origin[row + i] + alpha * first[row + i] + beta * second[row + i] }
                    }
                }
                let a = Lanes(repeating: alpha), b = Lanes(repeating: beta)
                var total = LossEvaluation()
                for block in blocks {
                    let z0 = block.z[0].baseAddress!, z1 = block.z[1].baseAddress!, z2 = block.z[2].baseAddress!
                    for row in 0..<block.rows {
                        for chunk in 0 ..< width / 16 {
                            let at = row * width + chunk * 16
                            var y = layer.activation.apply(z0.lanes(at: at) + a * z1.lanes(at: at) + b * z2.lanes(at: at))
                            if chunk == lastChunk { y = y.replacing(with: 0, where: .!lastMask) }
                            hidden.storeLanes(y, at: at)
                        }
                    }
                    workspace.loadTargets(block.samples, from: dataset)
                    let p = UnsafePointer(parameters.baseAddress!)
                    for (index, entry) in upper.enumerated() {
                        let l = entry.layer, n = index + 1
                        if l.layout == .outputMajor && entry.transposed == nil {
                            // As Network's forward pass does it.
                            dotProduct(
                                rows: block.rows, columns: l.outputs, chunks: l.inputsPadded / 16,
                                a: VectorOperand(UnsafePointer(workspace.activations[n].baseAddress!), rowStride: l.inputsPadded),
                                b: VectorOperand(p + l.weightOffset, rowStride: l.inputsPadded),
                                epilogue: DotBiasStore(bias: p + l.biasOffset, output: workspace.activations[n + 1].baseAddress!, stride: l.outputsPadded))
                            applyActivation(l.activation, rows: block.rows, width: l.outputs, stride: l.outputsPadded, workspace.activations[n + 1].baseAddress!)
                            continue
                        }
                        broadcastProduct(
                            rows: block.rows, depth: l.inputs, chunks: l.outputsPadded / 16,
                            a: BroadcastOperand(UnsafePointer(workspace.activations[n].baseAddress!), rowStride: l.inputsPadded, columnStride: 1),
                            b: VectorOperand(entry.transposed.map { UnsafePointer($0.baseAddress!) } ?? p + l.weightOffset, rowStride: l.outputsPadded),
                            epilogue: BiasActivationStore(bias: p + l.biasOffset, output: workspace.activations[n + 1].baseAddress!, outputStride: l.outputsPadded,
                                                          activation: l.activation, width: l.outputs))
                    }
                    network.evaluateLoss(loss, workspace, rows: block.rows, deltaScale: nil, into: &total)
                }
                values.append(total.lossSum / Double(samples.count) + decay(alpha, beta))
            }
        }
        return values
    }
}
