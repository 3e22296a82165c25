/// Batch-1 training of the first layer in one pass over its weights: the rank-1 update of the
/// previous sample (g = x_prev ⊗ δ_prev, one optimizer step) fused with the forward pass of the
/// next sample. Unfused, every sample reads the weights for the forward pass and then reads and
/// writes them for the update; at n1 = 500 that is 600 KB of L2 traffic per sample.
///
/// The arithmetic is exactly that of the unfused kernels — the same fused multiply-adds on the same
/// values in the same order (each weight is updated before the next sample reads it) — so the
/// results are bit-identical; a test checks it. `rule` is already shifted to the layer's weights.
@inline(__always)
func fusedUpdateAndForward<Rule: UpdateRule>(
    inputs: Int, chunks: Int, weights: UnsafeMutablePointer<Float>, rowStride: Int,
    previousInput: UnsafePointer<Float>, previousDelta: UnsafePointer<Float>, nextInput: UnsafePointer<Float>,
    rule: Rule, epilogue: BiasActivationStore
) {
    var chunk = 0
    while chunk < chunks {
        let panel = min(4, chunks - chunk)
        switch panel {
        case 4: fusedPanel(Tile1x4.self, chunk: chunk, inputs: inputs, weights: weights, rowStride: rowStride,
                           previousInput: previousInput, previousDelta: previousDelta, nextInput: nextInput, rule: rule, epilogue: epilogue)
        case 3: fusedPanel(Tile1x3.self, chunk: chunk, inputs: inputs, weights: weights, rowStride: rowStride,
                           previousInput: previousInput, previousDelta: previousDelta, nextInput: nextInput, rule: rule, epilogue: epilogue)
        case 2: fusedPanel(Tile1x2.self, chunk: chunk, inputs: inputs, weights: weights, rowStride: rowStride,
                           previousInput: previousInput, previousDelta: previousDelta, nextInput: nextInput, rule: rule, epilogue: epilogue)
        default: fusedPanel(Tile1x1.self, chunk: chunk, inputs: inputs, weights: weights, rowStride: rowStride,
                            previousInput: previousInput, previousDelta: previousDelta, nextInput: nextInput, rule: rule, epilogue: epilogue)
        }
        chunk += panel
    }
}

@inline(__always)
private func fusedPanel<Shape: TileShape, Rule: UpdateRule>(
    _ shape: Shape.Type, chunk: Int, inputs: Int, weights: UnsafeMutablePointer<Float>, rowStride: Int,
    previousInput: UnsafePointer<Float>, previousDelta: UnsafePointer<Float>, nextInput: UnsafePointer<Float>,
    rule: Rule, epilogue: BiasActivationStore
) {
    let width = Shape.chunks
    let d0 = previousDelta.lanes(at: chunk * 16)
    let d1 = width > 1 ? previousDelta.lanes(at: chunk * 16 + 16) : Lanes()
    let d2 = width > 2 ? previousDelta.lanes(at: chunk * 16 + 32) : Lanes()
    let d3 = width > 3 ? previousDelta.lanes(at: chunk * 16 + 48) : Lanes()
    var a0 = epilogue.initial(row: 0, chunk: chunk)
    var a1 = width > 1 ? epilogue.initial(row: 0, chunk: chunk + 1) : Lanes()
    var a2 = width > 2 ? epilogue.initial(row: 0, chunk: chunk + 2) : Lanes()
    var a3 = width > 3 ? epilogue.initial(row: 0, chunk: chunk + 3) : Lanes()
    for k in 0..<inputs {
        let offset = k * rowStride + chunk * 16
        // The gradient of the previous sample, as the unfused kernel computes it: 0 + x·δ.
        let xp = Lanes(repeating: previousInput[k])
        let xn = Lanes(repeating: nextInput[k])
        rule.apply(Lanes().addingProduct(xp, d0), parameters: weights, offset: offset, decays: true)
        a0 = a0.addingProduct(xn, weights.lanes(at: offset))
        if width > 1 {
            rule.apply(Lanes().addingProduct(xp, d1), parameters: weights, offset: offset + 16, decays: true)
            a1 = a1.addingProduct(xn, weights.lanes(at: offset + 16))
        }
        if width > 2 {
            rule.apply(Lanes().addingProduct(xp, d2), parameters: weights, offset: offset + 32, decays: true)
            a2 = a2.addingProduct(xn, weights.lanes(at: offset + 32))
        }
        if width > 3 {
            rule.apply(Lanes().addingProduct(xp, d3), parameters: weights, offset: offset + 48, decays: true)
            a3 = a3.addingProduct(xn, weights.lanes(at: offset + 48))
        }
    }
    epilogue.finish(row: 0, chunk: chunk, a0)
    if width > 1 { epilogue.finish(row: 0, chunk: chunk + 1, a1) }
    if width > 2 { epilogue.finish(row: 0, chunk: chunk + 2, a2) }
    if width > 3 { epilogue.finish(row: 0, chunk: chunk + 3, a3) }
}
