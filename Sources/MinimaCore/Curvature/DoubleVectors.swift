/// Dense double-precision vector operations for the Krylov methods, with a fixed summation order
/// (four 4-lane accumulators, then a fixed reduction) so results are the same bits everywhere.
enum DoubleVectors {
    /// Σ a[i]·b[i].
    @inline(__always)
    static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
        var i = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        while i + 16 <= count {
            let offset = i * 8
            s0 = s0.addingProduct(rawA.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self), rawB.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self))
            s1 = s1.addingProduct(rawA.loadUnaligned(fromByteOffset: offset + 32, as: SIMD4<Double>.self), rawB.loadUnaligned(fromByteOffset: offset + 32, as: SIMD4<Double>.self))
            s2 = s2.addingProduct(rawA.loadUnaligned(fromByteOffset: offset + 64, as: SIMD4<Double>.self), rawB.loadUnaligned(fromByteOffset: offset + 64, as: SIMD4<Double>.self))
            s3 = s3.addingProduct(rawA.loadUnaligned(fromByteOffset: offset + 96, as: SIMD4<Double>.self), rawB.loadUnaligned(fromByteOffset: offset + 96, as: SIMD4<Double>.self))
            i += 16
        }
        let s = (s0 + s1) + (s2 + s3)
        var total = (s[0] + s[1]) + (s[2] + s[3])
        while i < count {
            total = total.addingProduct(a[i], b[i])
            i += 1
        }
        return total
    }

    /// y ← y + alpha·x (one fused multiply-add per element).
    @inline(__always)
    static func addScaled(_ alpha: Double, _ x: UnsafePointer<Double>, to y: UnsafeMutablePointer<Double>, count: Int) {
        let rawX = UnsafeRawPointer(x), rawY = UnsafeMutableRawPointer(y)
        let scale = SIMD4<Double>(repeating: alpha)
        var i = 0
        while i + 8 <= count {
            let offset = i * 8
            let y0 = rawY.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
            let y1 = rawY.loadUnaligned(fromByteOffset: offset + 32, as: SIMD4<Double>.self)
            rawY.storeBytes(of: y0.addingProduct(scale, rawX.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)), toByteOffset: offset, as: SIMD4<Double>.self)
            rawY.storeBytes(of: y1.addingProduct(scale, rawX.loadUnaligned(fromByteOffset: offset + 32, as: SIMD4<Double>.self)), toByteOffset: offset + 32, as: SIMD4<Double>.self)
            i += 8
        }
        while i < count {
            y[i] = y[i].addingProduct(alpha, x[i])
            i += 1
        }
    }

    /// y ← y − a·u − b·w (the symmetric rank-2 update of a row), fused multiply-adds in that order.
    @inline(__always)
    static func subtractRankTwo(_ a: Double, _ u: UnsafePointer<Double>, _ b: Double, _ w: UnsafePointer<Double>, from y: UnsafeMutablePointer<Double>, count: Int) {
        let rawU = UnsafeRawPointer(u), rawW = UnsafeRawPointer(w), rawY = UnsafeMutableRawPointer(y)
        let negativeA = SIMD4<Double>(repeating: -a), negativeB = SIMD4<Double>(repeating: -b)
        var i = 0
        while i + 4 <= count {
            let offset = i * 8
            let value = rawY.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                .addingProduct(negativeA, rawU.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self))
                .addingProduct(negativeB, rawW.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self))
            rawY.storeBytes(of: value, toByteOffset: offset, as: SIMD4<Double>.self)
            i += 4
        }
        while i < count {
            y[i] = y[i].addingProduct(-a, u[i]).addingProduct(-b, w[i])
            i += 1
        }
    }

    static func norm(_ a: UnsafePointer<Double>, count: Int) -> Double {
        dot(a, a, count: count).squareRoot()
    }
}

/// √(a² + b²) without overflow or underflow in the squares.
@inline(__always)
func hypotenuse(_ a: Double, _ b: Double) -> Double {
    let x = abs(a), y = abs(b)
    let large = max(x, y), small = min(x, y)
    if large == 0 { return 0 }
    let ratio = small / large
    return large * (1 + ratio * ratio).squareRoot()
}
