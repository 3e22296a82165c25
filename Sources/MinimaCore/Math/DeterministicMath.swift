/// Transcendental functions built only from IEEE-754 basic operations and fused multiply-add in a
/// fixed order, so they return the same bits on every machine and every instruction-set level —
/// unlike the platform's libm, whose results differ between versions and vector widths.
public enum DeterministicMath {
    public typealias Vector = SIMD16<Float>

    // Cody–Waite split of ln 2: the high part has few enough bits that n·ln2Hi is exact.
    @usableFromInline static let ln2Hi: Float = 0.693_145_751_953_125
    @usableFromInline static let ln2Lo: Float = 1.428_606_765_330_187_045e-06
    @usableFromInline static let log2e: Float = 1.442_695_040_888_963_4

    /// e^x for each lane, relative error below 2·10⁻⁷ on [-87, 88]; inputs are clamped to that
    /// range (so the result is never infinite; NaN stays NaN).
    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        // Compare-and-blend rather than `clamped`/`pointwiseMax`, which the standard library
        // lowers to per-lane scalar code. NaN compares false and passes through.
        let low = Vector(repeating: -87.0), high = Vector(repeating: 88.0)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // Round x·log2(e) to an integer by adding 1.5·2²³: the sum lands in a binade whose ulp is 1,
        // so its low mantissa bits hold n (round to nearest even) and no float→int conversion is needed.
        let magic = Vector(repeating: 0x1.8p23)
        let shifted = clamped * Vector(repeating: log2e) + magic
        let n = shifted - magic
        var r = clamped.addingProduct(n, Vector(repeating: -ln2Hi))
        r = r.addingProduct(n, Vector(repeating: -ln2Lo))
        // Taylor polynomial of degree 7 for e^r on |r| ≤ ln2/2, Horner form.
        var p = Vector(repeating: 1.0 / 5040.0)
        p = Vector(repeating: 1.0 / 720.0).addingProduct(p, r)
        p = Vector(repeating: 1.0 / 120.0).addingProduct(p, r)
        p = Vector(repeating: 1.0 / 24.0).addingProduct(p, r)
        p = Vector(repeating: 1.0 / 6.0).addingProduct(p, r)
        p = Vector(repeating: 0.5).addingProduct(p, r)
        p = Vector(repeating: 1.0).addingProduct(p, r)
        p = Vector(repeating: 1.0).addingProduct(p, r)
        // 2^n by building the exponent field; n ∈ [-126, 127] after the clamp.
        let nBits = unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &- unsafeBitCast(magic, to: SIMD16<UInt32>.self)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Vector.self)
        let result = p * scale
        return result.replacing(with: x, where: x .!= x)
    }

    /// tanh for each lane as 1 − 2/(e^{2x} + 1); absolute error below 3·10⁻⁷.
    @inlinable @inline(__always)
    public static func tanh(_ x: Vector) -> Vector {
        let e = exp(x + x)
        return Vector(repeating: 1) - Vector(repeating: 2) / (e + Vector(repeating: 1))
    }

    /// The logistic function 1/(1 + e^{−x}) for each lane.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Vector) -> Vector {
        Vector(repeating: 1) / (Vector(repeating: 1) + exp(-x))
    }

    /// Lane sum in a fixed pairwise order (halves, then halves again).
    @inlinable @inline(__always)
    public static func sum(_ v: Vector) -> Float {
        let s8 = v.lowHalf + v.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }

    /// Lane maximum in a fixed pairwise order (NaN lanes propagate when compared first).
    @inlinable @inline(__always)
    public static func maximum(_ v: Vector) -> Float {
        let m8 = larger(v.lowHalf, v.highHalf)
        let m4 = larger(m8.lowHalf, m8.highHalf)
        let m2 = larger(m4.lowHalf, m4.highHalf)
        return m2[1] > m2[0] ? m2[1] : m2[0]
    }

    @inlinable @inline(__always)
    static func larger<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar: FloatingPoint {
        a.replacing(with: b, where: b .> a)
    }

    /// ln x for each lane of positive normal x (relative error below 3·10⁻⁷); 0 and negative
    /// lanes give NaN, +∞ and NaN pass through.
    @inlinable @inline(__always)
    public static func log(_ x: Vector) -> Vector {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        // x = m · 2^e, m ∈ [1, 2); the exponent becomes a float through the 1.5·2²³ trick.
        let magic = Vector(repeating: 0x1.8p23)
        let exponentBits = ((bits &>> 23) & 0xff) &+ unsafeBitCast(magic, to: SIMD16<UInt32>.self) &- 127
        var e = unsafeBitCast(exponentBits, to: Vector.self) - magic
        var m = unsafeBitCast((bits & 0x007f_ffff) | 0x3f80_0000, to: Vector.self)
        let high = m .> Vector(repeating: 1.414_213_5)
        m = m.replacing(with: m * 0.5, where: high)
        e = e.replacing(with: e + 1, where: high)
        let f = m - 1
        let s = f / (f + 2)
        let z = s * s
        var p = Vector(repeating: 1.0 / 9.0)
        p = Vector(repeating: 1.0 / 7.0).addingProduct(p, z)
        p = Vector(repeating: 1.0 / 5.0).addingProduct(p, z)
        p = Vector(repeating: 1.0 / 3.0).addingProduct(p, z)
        p = Vector(repeating: 1.0).addingProduct(p, z)
        let logM = (s + s) * p
        var result = logM.addingProduct(e, Vector(repeating: ln2Lo))
        result = result.addingProduct(e, Vector(repeating: ln2Hi))
        result = result.replacing(with: x, where: .!(x .< Vector(repeating: .infinity)))
        return result.replacing(with: .nan, where: x .<= 0)
    }

    /// Scalar e^x, bit-identical to one lane of the vector version.
    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

    /// The natural logarithm of a positive finite Double, accurate to about 1 ulp. log(0) is −∞,
    /// negative or NaN inputs give NaN, +∞ gives +∞.
    public static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return .infinity }
        // x = m · 2^e with m ∈ [√½, √2).
        var e = Double(x.exponent)
        var m = x.significand  // [1, 2)
        if !x.isNormal {
            let scaled = x * 0x1p60
            e = Double(scaled.exponent) - 60
            m = scaled.significand
        }
        if m > 1.414_213_562_373_095_1 { m *= 0.5; e += 1 }
        let f = m - 1
        let s = f / (2 + f)
        let s2 = s * s
        // 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …), truncated where s^22 < 2⁻⁵⁴ for |s| ≤ 0.1716.
        var series = 1.0 / 21.0
        series = 1.0 / 19.0 + series * s2
        series = 1.0 / 17.0 + series * s2
        series = 1.0 / 15.0 + series * s2
        series = 1.0 / 13.0 + series * s2
        series = 1.0 / 11.0 + series * s2
        series = 1.0 / 9.0 + series * s2
        series = 1.0 / 7.0 + series * s2
        series = 1.0 / 5.0 + series * s2
        series = 1.0 / 3.0 + series * s2
        series = 1 + series * s2
        let logM = 2 * s * series
        let ln2Hi = 6.931_471_803_691_238_164_90e-01
        let ln2Lo = 1.908_214_929_270_587_700_02e-10
        return e * ln2Hi + (logM + e * ln2Lo)
    }
}

extension DeterministicMath {
    /// e^x for a Double, accurate to about 1 ulp, from + and × only in a fixed order (no libm):
    /// x = k·ln 2 + r with |r| ≤ ½ln 2, e^r by its Taylor series to r¹⁴ (the next term is below
    /// 2⁻⁵⁴ of the sum), then scaled by 2^k exactly. Overflow gives +∞, underflow 0, NaN NaN.
    public static func exp(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x > 709.782_712_893_384 { return .infinity }
        if x < -745.2 { return 0 }
        let ln2Hi = 6.931_471_803_691_238_164_90e-01
        let ln2Lo = 1.908_214_929_270_587_700_02e-10
        let k = (x * 1.442_695_040_888_963_387_00).rounded(.toNearestOrEven)
        let r = (x - k * ln2Hi) - k * ln2Lo
        // 1 + r(1 + r/2(1 + r/3(… (1 + r/14)))).
        var series = 1.0
        for divisor in stride(from: 14.0, through: 1, by: -1) { series = 1 + series * r / divisor }
        // 2^k in two exact factors (k may reach −1075, below the smallest normal's exponent).
        let half = Int(k) / 2
        return series * Double(sign: .plus, exponent: half, significand: 1) * Double(sign: .plus, exponent: Int(k) - half, significand: 1)
    }

    /// base^exponent by repeated squaring (exact operation order, no libm `pow`).
    public static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        var factor = base
        var n = exponent.magnitude
        while n > 0 {
            if n & 1 == 1 { result *= factor }
            factor *= factor
            n >>= 1
        }
        return exponent < 0 ? 1 / result : result
    }
}

extension DeterministicMath {
    /// arccos x for x in [−1, 1] (clamped outside), from the arcsine series on |y| ≤ ½ after the
    /// half-angle reductions — plain arithmetic in a fixed order, so the bits do not depend on
    /// the platform's libm; accurate to a few ulp.
    public static func arccos(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        let c = min(1, max(-1, x))
        let halfPi = 1.570_796_326_794_896_6
        if c > 0.5 { return 2 * arcsineOfSmall(((1 - c) * 0.5).squareRoot()) }
        if c < -0.5 { return 2 * halfPi - 2 * arcsineOfSmall(((1 + c) * 0.5).squareRoot()) }
        return halfPi - arcsineOfSmall(c)
    }

    /// arcsin y for |y| ≤ ½: Σ cₙ y^{2n+1}, c₀ = 1, cₙ₊₁ = cₙ (2n+1)² / ((2n+2)(2n+3)); 30 terms
    /// (the ratio of terms is at most ¼).
    private static func arcsineOfSmall(_ y: Double) -> Double {
        let y2 = y * y
        var term = y, coefficientRatio = 1.0, sum = 0.0
        var terms: [Double] = []
        terms.reserveCapacity(30)
        for n in 0..<30 {
            terms.append(term * coefficientRatio)
            let k = Double(n)
            coefficientRatio *= (2 * k + 1) * (2 * k + 1) / ((2 * k + 2) * (2 * k + 3))
            term *= y2
        }
        // Smallest terms first.
        for value in terms.reversed() { sum += value }
        return sum
    }
}
