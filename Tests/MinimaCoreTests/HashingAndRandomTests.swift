import Foundation
import MinimaCore
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    @Test func matchesTheFIPSExamples() {
        #expect(SHA256.hex(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func givesTheSameDigestForAnyChunking() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        for chunk in stride(from: 0, to: bytes.count, by: 37) { hasher.update(bytes[chunk ..< min(chunk + 37, bytes.count)]) }
        #expect(hexString(hasher.finalize()) == SHA256.hex(of: bytes))
    }
}

@Suite("Philox4x32-10 and random streams")
struct RandomTests {
    /// Known-answer vectors from Random123's kat_vectors.
    @Test func matchesTheRandom123KnownAnswers() {
        #expect(Philox4x32(key: SIMD2(0, 0)).block(SIMD4(0, 0, 0, 0)) == SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        #expect(Philox4x32(key: SIMD2(0xffff_ffff, 0xffff_ffff)).block(SIMD4(repeating: 0xffff_ffff))
                == SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        #expect(Philox4x32(key: SIMD2(0xa409_3822, 0x299f_31d0)).block(SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344))
                == SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    @Test func streamsOfDifferentTrialsAndPurposesDiffer() {
        var a = RandomStream(seed: 1, trial: 0, purpose: .initialization)
        var b = RandomStream(seed: 1, trial: 1, purpose: .initialization)
        var c = RandomStream(seed: 1, trial: 0, purpose: .epochShuffle)
        let first = (0..<8).map { _ in a.nextUInt32() }
        #expect(first != (0..<8).map { _ in b.nextUInt32() })
        #expect(first != (0..<8).map { _ in c.nextUInt32() })
        var again = RandomStream(seed: 1, trial: 0, purpose: .initialization)
        #expect(first == (0..<8).map { _ in again.nextUInt32() })
    }

    @Test func boundedIndicesAreUniform() {
        var stream = RandomStream(seed: 5, trial: 0, purpose: .testing)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[stream.nextIndex(below: 7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }

    @Test func gaussianDeviatesHaveMeanZeroAndVarianceOne() {
        var stream = RandomStream(seed: 5, trial: 0, purpose: .testing)
        let values = (0..<100_000).map { _ in stream.nextGaussian() }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
    }

    @Test func shuffleIsAPermutation() {
        var stream = RandomStream(seed: 3, trial: 9, purpose: .epochShuffle)
        var values = (0..<Int32(1000)).map { $0 }
        stream.shuffle(&values)
        #expect(values.sorted() == (0..<Int32(1000)).map { $0 })
        #expect(values != (0..<Int32(1000)).map { $0 })
    }
}

@Suite("Deterministic math")
struct DeterministicMathTests {
    @Test func expIsAccurate() {
        for x in stride(from: Float(-80), through: 80, by: 0.37) {
            let expected = Double(x).exponentialReference
            let actual = Double(DeterministicMath.exp(x))
            #expect(abs(actual - expected) <= 3e-7 * expected, "exp(\(x))")
        }
        #expect(DeterministicMath.exp(Float.nan).isNaN)
        #expect(DeterministicMath.exp(Float(-1000)) >= 0)
        #expect(DeterministicMath.exp(Float(1000)).isFinite)
    }

    @Test func doubleExpIsAccurateAndStaysInRange() {
        for x in [-745.0, -700, -50, -1, -0.3466, -1e-12, 0, 1e-12, 0.3466, 0.5, 1, 2.5, 20, 300, 709.7] {
            let y = DeterministicMath.exp(x), reference = Foundation.exp(x)
            #expect(abs(y - reference) <= 4e-16 * reference + Double.leastNonzeroMagnitude * 2, "exp(\(x)) = \(y), libm \(reference)")
        }
        #expect(DeterministicMath.exp(0.0) == 1)
        #expect(DeterministicMath.exp(710.0) == .infinity && DeterministicMath.exp(-800.0) == 0 && DeterministicMath.exp(Double.nan).isNaN)
        #expect(abs(DeterministicMath.log(DeterministicMath.exp(3.25)) - 3.25) < 1e-15)
    }

    @Test func doubleLogIsAccurate() {
        for x in [1e-300, 1e-10, 0.1, 0.5, 0.999, 1, 1.0001, 2, 3, 10, 12345.678, 1e300] {
            let y = DeterministicMath.log(x)
            #expect(abs(DeterministicMath.exponentialOfDouble(y) - x) <= 1e-14 * x * max(1, abs(y)), "log(\(x))")
        }
        #expect(DeterministicMath.log(1) == 0)
        #expect(DeterministicMath.log(0) == -.infinity)
        #expect(DeterministicMath.log(-1).isNaN)
        #expect(abs(DeterministicMath.log(Double.leastNonzeroMagnitude) - -744.4400719213812) < 1e-12)
    }

    @Test func vectorLogIsAccurateOnPositiveNormals() {
        let values: [Float] = [1e-30, 1e-5, 0.3, 0.7071, 0.7072, 1, 1.4142, 1.4143, 2, 9.99, 10, 1000, 3e38, 5, 6, 7]
        let logs = DeterministicMath.log(SIMD16<Float>(values))
        for (i, x) in values.enumerated() {
            #expect(abs(Double(logs[i]) - DeterministicMath.log(Double(x))) <= 3e-7 * max(1, abs(DeterministicMath.log(Double(x)))), "log(\(x))")
        }
    }

    @Test func powerMultipliesExactly() {
        #expect(DeterministicMath.power(0.5, 3) == 0.125)
        #expect(DeterministicMath.power(2, -2) == 0.25)
        #expect(DeterministicMath.power(7, 0) == 1)
    }
}

extension Double {
    /// e^self by a long Taylor series after range reduction (reference only).
    var exponentialReference: Double { DeterministicMath.exponentialOfDouble(self) }
}

extension DeterministicMath {
    static func exponentialOfDouble(_ x: Double) -> Double {
        let n = (x / 0.693_147_180_559_945_3).rounded()
        let r = x - n * 0.693_147_180_559_945_3
        var term = 1.0, sum = 1.0
        for k in 1..<40 { term *= r / Double(k); sum += term }
        return sum * power(2, Int(n))
    }
}
