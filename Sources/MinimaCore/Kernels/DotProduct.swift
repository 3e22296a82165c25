/// Receives each finished dot product.
@usableFromInline
protocol DotEpilogue {
    func finish(row: Int, column: Int, _ dot: Float)
}

/// finish(r, j, A[r, :] · B[j, :]) for r < rows and j < columns, where both operands are rows
/// of `chunks` 16-lane vectors (their padding zero).
///
/// Each dot product accumulates lane-wise over the chunks in order with fused multiply-adds, then
/// sums its 16 lanes in the fixed pairwise order of ``DeterministicMath/sum(_:)`` — the same for
/// every tile shape, so results do not depend on the tiling or the instruction-set level. Tiles of
/// up to 4 × 4 dot products load each operand vector once for up to 4 uses.
@inline(__always)
func dotProduct<E: DotEpilogue>(rows: Int, columns: Int, chunks: Int, a: VectorOperand, b: VectorOperand, epilogue: E) {
    #if MINIMA_WIDE_REGISTER_FILE
    let wide = 4
    #else
    let wide = 2
    #endif
    var row = 0
    while row < rows {
        let tileRows = rows - row >= wide ? wide : 1
        var column = 0
        while column < columns {
            let tileColumns = columns - column >= wide ? wide : 1
            switch (tileRows, tileColumns) {
            case (4, 4): dotTile(Tile4x4.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            case (2, 2): dotTile(Tile2x2.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            case (4, 1): dotTile(Tile4x1.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            case (2, 1): dotTile(Tile2x1.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            case (1, 4): dotTile(Tile1x4.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            case (1, 2): dotTile(Tile1x2.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            default: dotTile(Tile1x1.self, row: row, column: column, chunks: chunks, a: a, b: b, epilogue: epilogue)
            }
            column += tileColumns
        }
        row += tileRows
    }
}

@inline(__always)
private func dotTile<Shape: TileShape, E: DotEpilogue>(
    _ shape: Shape.Type, row: Int, column: Int, chunks: Int,
    a: VectorOperand, b: VectorOperand, epilogue: E
) {
    let tileRows = Shape.rows, tileColumns = Shape.chunks
    var s00 = Lanes()
    var s01 = Lanes()
    var s02 = Lanes()
    var s03 = Lanes()
    var s10 = Lanes()
    var s11 = Lanes()
    var s12 = Lanes()
    var s13 = Lanes()
    var s20 = Lanes()
    var s21 = Lanes()
    var s22 = Lanes()
    var s23 = Lanes()
    var s30 = Lanes()
    var s31 = Lanes()
    var s32 = Lanes()
    var s33 = Lanes()
    let aBase = a.base + row * a.rowStride, bBase = b.base + column * b.rowStride
    let aRow = a.rowStride, bRow = b.rowStride
    var offset = 0
    for _ in 0..<chunks {
        let a0 = aBase.lanes(at: offset)
        let a1 = tileRows > 1 ? aBase.lanes(at: offset + 1 * aRow) : Lanes()
        let a2 = tileRows > 2 ? aBase.lanes(at: offset + 2 * aRow) : Lanes()
        let a3 = tileRows > 3 ? aBase.lanes(at: offset + 3 * aRow) : Lanes()
        let b0 = bBase.lanes(at: offset)
        let b1 = tileColumns > 1 ? bBase.lanes(at: offset + 1 * bRow) : Lanes()
        let b2 = tileColumns > 2 ? bBase.lanes(at: offset + 2 * bRow) : Lanes()
        let b3 = tileColumns > 3 ? bBase.lanes(at: offset + 3 * bRow) : Lanes()
        s00 = s00.addingProduct(a0, b0)
        if tileColumns > 1 { s01 = s01.addingProduct(a0, b1) }
        if tileColumns > 2 { s02 = s02.addingProduct(a0, b2) }
        if tileColumns > 3 { s03 = s03.addingProduct(a0, b3) }
        if tileRows > 1 { s10 = s10.addingProduct(a1, b0) }
        if tileRows > 1 && tileColumns > 1 { s11 = s11.addingProduct(a1, b1) }
        if tileRows > 1 && tileColumns > 2 { s12 = s12.addingProduct(a1, b2) }
        if tileRows > 1 && tileColumns > 3 { s13 = s13.addingProduct(a1, b3) }
        if tileRows > 2 { s20 = s20.addingProduct(a2, b0) }
        if tileRows > 2 && tileColumns > 1 { s21 = s21.addingProduct(a2, b1) }
        if tileRows > 2 && tileColumns > 2 { s22 = s22.addingProduct(a2, b2) }
        if tileRows > 2 && tileColumns > 3 { s23 = s23.addingProduct(a2, b3) }
        if tileRows > 3 { s30 = s30.addingProduct(a3, b0) }
        if tileRows > 3 && tileColumns > 1 { s31 = s31.addingProduct(a3, b1) }
        if tileRows > 3 && tileColumns > 2 { s32 = s32.addingProduct(a3, b2) }
        if tileRows > 3 && tileColumns > 3 { s33 = s33.addingProduct(a3, b3) }
        offset += 16
    }
    epilogue.finish(row: row + 0, column: column + 0, DeterministicMath.sum(s00))
    if tileColumns > 1 { epilogue.finish(row: row + 0, column: column + 1, DeterministicMath.sum(s01)) }
    if tileColumns > 2 { epilogue.finish(row: row + 0, column: column + 2, DeterministicMath.sum(s02)) }
    if tileColumns > 3 { epilogue.finish(row: row + 0, column: column + 3, DeterministicMath.sum(s03)) }
    if tileRows > 1 { epilogue.finish(row: row + 1, column: column + 0, DeterministicMath.sum(s10)) }
    if tileRows > 1 && tileColumns > 1 { epilogue.finish(row: row + 1, column: column + 1, DeterministicMath.sum(s11)) }
    if tileRows > 1 && tileColumns > 2 { epilogue.finish(row: row + 1, column: column + 2, DeterministicMath.sum(s12)) }
    if tileRows > 1 && tileColumns > 3 { epilogue.finish(row: row + 1, column: column + 3, DeterministicMath.sum(s13)) }
    if tileRows > 2 { epilogue.finish(row: row + 2, column: column + 0, DeterministicMath.sum(s20)) }
    if tileRows > 2 && tileColumns > 1 { epilogue.finish(row: row + 2, column: column + 1, DeterministicMath.sum(s21)) }
    if tileRows > 2 && tileColumns > 2 { epilogue.finish(row: row + 2, column: column + 2, DeterministicMath.sum(s22)) }
    if tileRows > 2 && tileColumns > 3 { epilogue.finish(row: row + 2, column: column + 3, DeterministicMath.sum(s23)) }
    if tileRows > 3 { epilogue.finish(row: row + 3, column: column + 0, DeterministicMath.sum(s30)) }
    if tileRows > 3 && tileColumns > 1 { epilogue.finish(row: row + 3, column: column + 1, DeterministicMath.sum(s31)) }
    if tileRows > 3 && tileColumns > 2 { epilogue.finish(row: row + 3, column: column + 2, DeterministicMath.sum(s32)) }
    if tileRows > 3 && tileColumns > 3 { epilogue.finish(row: row + 3, column: column + 3, DeterministicMath.sum(s33)) }
}
