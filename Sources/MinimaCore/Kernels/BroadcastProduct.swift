/// Receives each 16-lane chunk of a broadcast product: the value to start accumulating from,
/// and what to do with the finished sum (store it, apply an activation, update weights, …).
@usableFromInline
protocol BroadcastEpilogue {
    func initial(row: Int, chunk: Int) -> Lanes
    func finish(row: Int, chunk: Int, _ value: Lanes)
}

/// C(r, chunk) = finish(initial(r, chunk) + Σ_{k < depth} A(r, k) · B[k, chunk]) for every row
/// r < rows and every 16-lane chunk < chunks.
///
/// Each output element adds its terms in order k = 0, 1, 2, … with one fused multiply-add each,
/// whatever the tile shape, so results are bit-identical to ``ScalarReference/broadcastProduct``
/// and across instruction-set levels. Tiles of up to 4 rows × 4 chunks keep up to 16 independent
/// accumulators in registers (enough to hide FMA latency), reading one vector of B per chunk and
/// one broadcast of A per row for each k.
@inline(__always)
func broadcastProduct<E: BroadcastEpilogue>(
    rows: Int, depth: Int, chunks: Int, a: BroadcastOperand, b: VectorOperand, epilogue: E
) {
    #if MINIMA_WIDE_REGISTER_FILE
    let wideChunks = 4
    #else
    let wideChunks = 1  // SIMD16 spans two ymm registers on AVX2: 4 × 1 tiles use 8 + 2 + 1 of 16.
    #endif
    // Chunk columns outside, rows inside: the depth × (16·wideChunks) panel of B stays in L1
    // while every row of A passes over it (B is the weight matrix in the forward pass and the
    // largest operand in general).
    var chunk = 0
    while chunk < chunks {
        let panel = chunks - chunk >= wideChunks ? wideChunks : (chunks - chunk >= 2 && wideChunks >= 2 ? 2 : 1)
        var row = 0
        while row + 4 <= rows {
            switch panel {
            case 4: broadcastTile(4, 4, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            case 2: broadcastTile(4, 2, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            default: broadcastTile(4, 1, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            }
            row += 4
        }
        while row < rows {
            switch panel {
            case 4: broadcastTile(1, 4, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            case 2: broadcastTile(1, 2, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            default: broadcastTile(1, 1, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            }
            row += 1
        }
        chunk += panel
    }
}

@inline(__always)
private func broadcastTile<E: BroadcastEpilogue>(
    _ tileRows: Int, _ tileChunks: Int, row: Int, chunk: Int, depth: Int,
    a: BroadcastOperand, b: VectorOperand, epilogue: E
) {
    var c00 = epilogue.initial(row: row + 0, chunk: chunk + 0)
    var c01 = tileChunks > 1 ? epilogue.initial(row: row + 0, chunk: chunk + 1) : Lanes()
    var c02 = tileChunks > 2 ? epilogue.initial(row: row + 0, chunk: chunk + 2) : Lanes()
    var c03 = tileChunks > 3 ? epilogue.initial(row: row + 0, chunk: chunk + 3) : Lanes()
    var c10 = tileRows > 1 ? epilogue.initial(row: row + 1, chunk: chunk + 0) : Lanes()
    var c11 = tileRows > 1 && tileChunks > 1 ? epilogue.initial(row: row + 1, chunk: chunk + 1) : Lanes()
    var c12 = tileRows > 1 && tileChunks > 2 ? epilogue.initial(row: row + 1, chunk: chunk + 2) : Lanes()
    var c13 = tileRows > 1 && tileChunks > 3 ? epilogue.initial(row: row + 1, chunk: chunk + 3) : Lanes()
    var c20 = tileRows > 2 ? epilogue.initial(row: row + 2, chunk: chunk + 0) : Lanes()
    var c21 = tileRows > 2 && tileChunks > 1 ? epilogue.initial(row: row + 2, chunk: chunk + 1) : Lanes()
    var c22 = tileRows > 2 && tileChunks > 2 ? epilogue.initial(row: row + 2, chunk: chunk + 2) : Lanes()
    var c23 = tileRows > 2 && tileChunks > 3 ? epilogue.initial(row: row + 2, chunk: chunk + 3) : Lanes()
    var c30 = tileRows > 3 ? epilogue.initial(row: row + 3, chunk: chunk + 0) : Lanes()
    var c31 = tileRows > 3 && tileChunks > 1 ? epilogue.initial(row: row + 3, chunk: chunk + 1) : Lanes()
    var c32 = tileRows > 3 && tileChunks > 2 ? epilogue.initial(row: row + 3, chunk: chunk + 2) : Lanes()
    var c33 = tileRows > 3 && tileChunks > 3 ? epilogue.initial(row: row + 3, chunk: chunk + 3) : Lanes()
    var aPointer = a.base + row * a.rowStride
    var bPointer = b.base + chunk * 16
    let aRow = a.rowStride, aColumn = a.columnStride, bRow = b.rowStride
    for _ in 0..<depth {
        let b0 = bPointer.lanes(at: 0)
        let b1 = tileChunks > 1 ? bPointer.lanes(at: 16) : Lanes()
        let b2 = tileChunks > 2 ? bPointer.lanes(at: 32) : Lanes()
        let b3 = tileChunks > 3 ? bPointer.lanes(at: 48) : Lanes()
        let a0 = Lanes(repeating: aPointer[0])
        c00 = c00.addingProduct(a0, b0)
        if tileChunks > 1 { c01 = c01.addingProduct(a0, b1) }
        if tileChunks > 2 { c02 = c02.addingProduct(a0, b2) }
        if tileChunks > 3 { c03 = c03.addingProduct(a0, b3) }
        if tileRows > 1 {
            let a1 = Lanes(repeating: aPointer[1 * aRow])
            c10 = c10.addingProduct(a1, b0)
            if tileChunks > 1 { c11 = c11.addingProduct(a1, b1) }
            if tileChunks > 2 { c12 = c12.addingProduct(a1, b2) }
            if tileChunks > 3 { c13 = c13.addingProduct(a1, b3) }
        }
        if tileRows > 2 {
            let a2 = Lanes(repeating: aPointer[2 * aRow])
            c20 = c20.addingProduct(a2, b0)
            if tileChunks > 1 { c21 = c21.addingProduct(a2, b1) }
            if tileChunks > 2 { c22 = c22.addingProduct(a2, b2) }
            if tileChunks > 3 { c23 = c23.addingProduct(a2, b3) }
        }
        if tileRows > 3 {
            let a3 = Lanes(repeating: aPointer[3 * aRow])
            c30 = c30.addingProduct(a3, b0)
            if tileChunks > 1 { c31 = c31.addingProduct(a3, b1) }
            if tileChunks > 2 { c32 = c32.addingProduct(a3, b2) }
            if tileChunks > 3 { c33 = c33.addingProduct(a3, b3) }
        }
        aPointer += aColumn
        bPointer += bRow
    }
    epilogue.finish(row: row + 0, chunk: chunk + 0, c00)
    if tileChunks > 1 { epilogue.finish(row: row + 0, chunk: chunk + 1, c01) }
    if tileChunks > 2 { epilogue.finish(row: row + 0, chunk: chunk + 2, c02) }
    if tileChunks > 3 { epilogue.finish(row: row + 0, chunk: chunk + 3, c03) }
    if tileRows > 1 { epilogue.finish(row: row + 1, chunk: chunk + 0, c10) }
    if tileRows > 1 && tileChunks > 1 { epilogue.finish(row: row + 1, chunk: chunk + 1, c11) }
    if tileRows > 1 && tileChunks > 2 { epilogue.finish(row: row + 1, chunk: chunk + 2, c12) }
    if tileRows > 1 && tileChunks > 3 { epilogue.finish(row: row + 1, chunk: chunk + 3, c13) }
    if tileRows > 2 { epilogue.finish(row: row + 2, chunk: chunk + 0, c20) }
    if tileRows > 2 && tileChunks > 1 { epilogue.finish(row: row + 2, chunk: chunk + 1, c21) }
    if tileRows > 2 && tileChunks > 2 { epilogue.finish(row: row + 2, chunk: chunk + 2, c22) }
    if tileRows > 2 && tileChunks > 3 { epilogue.finish(row: row + 2, chunk: chunk + 3, c23) }
    if tileRows > 3 { epilogue.finish(row: row + 3, chunk: chunk + 0, c30) }
    if tileRows > 3 && tileChunks > 1 { epilogue.finish(row: row + 3, chunk: chunk + 1, c31) }
    if tileRows > 3 && tileChunks > 2 { epilogue.finish(row: row + 3, chunk: chunk + 2, c32) }
    if tileRows > 3 && tileChunks > 3 { epilogue.finish(row: row + 3, chunk: chunk + 3, c33) }
}
