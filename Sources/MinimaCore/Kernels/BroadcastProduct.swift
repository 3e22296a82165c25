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
    if rows < 4 {
        broadcastProductFewRows(rows: rows, depth: depth, chunks: chunks, a: a, b: b, epilogue: epilogue)
        return
    }
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
        // One chunk (two ymm registers on AVX2): 6 rows keep 12 accumulators in flight, enough
        // to cover the FMA latency, and still leave room for the B vector and the broadcast.
        while panel == 1 && wideChunks == 1 && row + 6 <= rows {
            broadcastTile(Tile6x1.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            row += 6
        }
        while row + 4 <= rows {
            switch panel {
            case 4: broadcastTile(Tile4x4.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            case 2: broadcastTile(Tile4x2.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            default: broadcastTile(Tile4x1.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            }
            row += 4
        }
        while row < rows {
            switch panel {
            case 4: broadcastTile(Tile1x4.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            case 2: broadcastTile(Tile1x2.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            default: broadcastTile(Tile1x1.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            }
            row += 1
        }
        chunk += panel
    }
}

/// Fewer than 4 rows (batch-1 training): one row at a time over panels of up to 8 chunks, so
/// that 8 independent accumulators hide the FMA latency.
@inline(__always)
private func broadcastProductFewRows<E: BroadcastEpilogue>(
    rows: Int, depth: Int, chunks: Int, a: BroadcastOperand, b: VectorOperand, epilogue: E
) {
    for row in 0..<rows {
        var chunk = 0
        while chunk + 8 <= chunks {
            broadcastTile(Tile1x8.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
            chunk += 8
        }
        let rest = chunks - chunk
        switch rest {
        case 0: break
        case 1: broadcastTile(Tile1x1.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        case 2: broadcastTile(Tile1x2.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        case 3: broadcastTile(Tile1x3.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        case 4: broadcastTile(Tile1x4.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        case 5: broadcastTile(Tile1x5.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        case 6: broadcastTile(Tile1x6.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        default: broadcastTile(Tile1x7.self, row: row, chunk: chunk, depth: depth, a: a, b: b, epilogue: epilogue)
        }
    }
}

/// A tile shape as a type, so that every specialization of the tile function has its shape as
/// constants (and drops the unused accumulators) whether or not the compiler inlines it.
protocol TileShape {
    static var rows: Int { get }
    static var chunks: Int { get }
}

enum Tile6x1: TileShape { static var rows: Int { 6 }; static var chunks: Int { 1 } }
enum Tile4x4: TileShape { static var rows: Int { 4 }; static var chunks: Int { 4 } }
enum Tile4x2: TileShape { static var rows: Int { 4 }; static var chunks: Int { 2 } }
enum Tile4x1: TileShape { static var rows: Int { 4 }; static var chunks: Int { 1 } }
enum Tile1x8: TileShape { static var rows: Int { 1 }; static var chunks: Int { 8 } }
enum Tile1x7: TileShape { static var rows: Int { 1 }; static var chunks: Int { 7 } }
enum Tile1x6: TileShape { static var rows: Int { 1 }; static var chunks: Int { 6 } }
enum Tile1x5: TileShape { static var rows: Int { 1 }; static var chunks: Int { 5 } }
enum Tile1x4: TileShape { static var rows: Int { 1 }; static var chunks: Int { 4 } }
enum Tile1x3: TileShape { static var rows: Int { 1 }; static var chunks: Int { 3 } }
enum Tile1x2: TileShape { static var rows: Int { 1 }; static var chunks: Int { 2 } }
enum Tile1x1: TileShape { static var rows: Int { 1 }; static var chunks: Int { 1 } }
enum Tile2x2: TileShape { static var rows: Int { 2 }; static var chunks: Int { 2 } }
enum Tile2x1: TileShape { static var rows: Int { 2 }; static var chunks: Int { 1 } }

@inline(__always)
private func broadcastTile<Shape: TileShape, E: BroadcastEpilogue>(
    _ shape: Shape.Type, row: Int, chunk: Int, depth: Int,
    a: BroadcastOperand, b: VectorOperand, epilogue: E
) {
    let tileRows = Shape.rows, tileChunks = Shape.chunks
    var c00 = epilogue.initial(row: row + 0, chunk: chunk + 0)
    var c01 = tileChunks > 1 ? epilogue.initial(row: row + 0, chunk: chunk + 1) : Lanes()
    var c02 = tileChunks > 2 ? epilogue.initial(row: row + 0, chunk: chunk + 2) : Lanes()
    var c03 = tileChunks > 3 ? epilogue.initial(row: row + 0, chunk: chunk + 3) : Lanes()
    var c04 = tileChunks > 4 ? epilogue.initial(row: row + 0, chunk: chunk + 4) : Lanes()
    var c05 = tileChunks > 5 ? epilogue.initial(row: row + 0, chunk: chunk + 5) : Lanes()
    var c06 = tileChunks > 6 ? epilogue.initial(row: row + 0, chunk: chunk + 6) : Lanes()
    var c07 = tileChunks > 7 ? epilogue.initial(row: row + 0, chunk: chunk + 7) : Lanes()
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
    // Rows 4 and 5 exist only in single-chunk tiles.
    var c40 = tileRows > 4 ? epilogue.initial(row: row + 4, chunk: chunk) : Lanes()
    var c50 = tileRows > 5 ? epilogue.initial(row: row + 5, chunk: chunk) : Lanes()
    var aPointer = a.base + row * a.rowStride
    var bPointer = b.base + chunk * 16
    let aRow = a.rowStride, aColumn = a.columnStride, bRow = b.rowStride
    for _ in 0..<depth {
        let b0 = bPointer.lanes(at: 0)
        let b1 = tileChunks > 1 ? bPointer.lanes(at: 16) : Lanes()
        let b2 = tileChunks > 2 ? bPointer.lanes(at: 32) : Lanes()
        let b3 = tileChunks > 3 ? bPointer.lanes(at: 48) : Lanes()
        let b4 = tileChunks > 4 ? bPointer.lanes(at: 64) : Lanes()
        let b5 = tileChunks > 5 ? bPointer.lanes(at: 80) : Lanes()
        let b6 = tileChunks > 6 ? bPointer.lanes(at: 96) : Lanes()
        let b7 = tileChunks > 7 ? bPointer.lanes(at: 112) : Lanes()
        let a0 = Lanes(repeating: aPointer[0])
        c00 = c00.addingProduct(a0, b0)
        if tileChunks > 1 { c01 = c01.addingProduct(a0, b1) }
        if tileChunks > 2 { c02 = c02.addingProduct(a0, b2) }
        if tileChunks > 3 { c03 = c03.addingProduct(a0, b3) }
        if tileChunks > 4 { c04 = c04.addingProduct(a0, b4) }
        if tileChunks > 5 { c05 = c05.addingProduct(a0, b5) }
        if tileChunks > 6 { c06 = c06.addingProduct(a0, b6) }
        if tileChunks > 7 { c07 = c07.addingProduct(a0, b7) }
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
        if tileRows > 4 { c40 = c40.addingProduct(Lanes(repeating: aPointer[4 * aRow]), b0) }
        if tileRows > 5 { c50 = c50.addingProduct(Lanes(repeating: aPointer[5 * aRow]), b0) }
        aPointer += aColumn
        bPointer += bRow
    }
    epilogue.finish(row: row + 0, chunk: chunk + 0, c00)
    if tileChunks > 1 { epilogue.finish(row: row + 0, chunk: chunk + 1, c01) }
    if tileChunks > 2 { epilogue.finish(row: row + 0, chunk: chunk + 2, c02) }
    if tileChunks > 3 { epilogue.finish(row: row + 0, chunk: chunk + 3, c03) }
    if tileChunks > 4 { epilogue.finish(row: row + 0, chunk: chunk + 4, c04) }
    if tileChunks > 5 { epilogue.finish(row: row + 0, chunk: chunk + 5, c05) }
    if tileChunks > 6 { epilogue.finish(row: row + 0, chunk: chunk + 6, c06) }
    if tileChunks > 7 { epilogue.finish(row: row + 0, chunk: chunk + 7, c07) }
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
    if tileRows > 4 { epilogue.finish(row: row + 4, chunk: chunk, c40) }
    if tileRows > 5 { epilogue.finish(row: row + 5, chunk: chunk, c50) }
}
