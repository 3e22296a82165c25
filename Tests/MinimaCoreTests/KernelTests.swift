import MinimaCore
import Testing

@Suite("SIMD kernels against the scalar reference")
struct KernelTests {
    /// Shapes that exercise every tile: 4-row and 1-row tiles, 4-, 2- and 1-chunk panels, padding.
    static let broadcastShapes: [(rows: Int, depth: Int, width: Int)] = [
        (1, 1, 1), (1, 7, 16), (2, 3, 17), (3, 5, 33), (4, 1, 64), (4, 9, 65), (5, 17, 100), (7, 2, 128),
        (9, 31, 112), (12, 100, 512), (13, 4, 48),
    ]

    @Test(arguments: broadcastShapes)
    func broadcastProductEqualsTheReferenceBitForBit(shape: (rows: Int, depth: Int, width: Int)) {
        let a = randomFloats(shape.rows * shape.depth, substream: 1)
        let b = randomFloats(shape.depth * shape.width, substream: 2)
        let initial = randomFloats(shape.width, substream: 3)
        let simd = KernelHarness.broadcastProduct(a: a, b: b, initial: initial, rows: shape.rows, depth: shape.depth, width: shape.width)
        let reference = ScalarReference.broadcastProduct(a: a, b: b, initial: initial, rows: shape.rows, depth: shape.depth, width: shape.width)
        #expect(simd.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    static let dotShapes: [(rows: Int, columns: Int, depth: Int)] = [
        (1, 1, 1), (1, 10, 16), (2, 3, 17), (3, 5, 100), (4, 4, 32), (5, 9, 500), (8, 10, 25), (9, 2, 48),
    ]

    @Test(arguments: dotShapes)
    func dotProductMatchesTheReference(shape: (rows: Int, columns: Int, depth: Int)) {
        let a = randomFloats(shape.rows * shape.depth, substream: 4)
        let b = randomFloats(shape.columns * shape.depth, substream: 5)
        let simd = KernelHarness.dotProduct(a: a, b: b, rows: shape.rows, columns: shape.columns, depth: shape.depth)
        let reference = ScalarReference.dotProduct(a: a, b: b, rows: shape.rows, columns: shape.columns, depth: shape.depth)
        for (x, y) in zip(simd, reference) {
            #expect(abs(Double(x) - y) <= 1e-5 * Double(shape.depth).squareRoot() + 1e-6 * abs(y))
        }
    }

    @Test func dotProductDoesNotDependOnTheTile() {
        // The same dot product computed as part of a 4×4 tile and alone must agree on every bit.
        let depth = 77
        let a = randomFloats(5 * depth, substream: 6), b = randomFloats(5 * depth, substream: 7)
        let tiled = KernelHarness.dotProduct(a: a, b: b, rows: 5, columns: 5, depth: depth)
        for r in 0..<5 {
            for c in 0..<5 {
                let alone = KernelHarness.dotProduct(a: Array(a[r * depth ..< (r + 1) * depth]), b: Array(b[c * depth ..< (c + 1) * depth]), rows: 1, columns: 1, depth: depth)
                #expect(alone[0].bitPattern == tiled[r * 5 + c].bitPattern)
            }
        }
    }
}
