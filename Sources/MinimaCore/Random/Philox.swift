/// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel random numbers:
/// as easy as 1, 2, 3"). Output block i is a pure function of (key, counter i): any stream of a
/// trial can be produced on any machine, in any order, with no shared state.
public struct Philox4x32: Sendable, Hashable {
    public var key: SIMD2<UInt32>

    public init(key: SIMD2<UInt32>) { self.key = key }

    @inline(__always)
    private static func mulhilo(_ a: UInt32, _ b: UInt32) -> (hi: UInt32, lo: UInt32) {
        let product = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: product >> 32), UInt32(truncatingIfNeeded: product))
    }

    /// The 128 random bits of counter `counter`.
    public func block(_ counter: SIMD4<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 { k &+= SIMD2(0x9E37_79B9, 0xBB67_AE85) }
            let (hi0, lo0) = Self.mulhilo(0xD251_1F53, c[0])
            let (hi1, lo1) = Self.mulhilo(0xCD9E_8D57, c[2])
            c = SIMD4(hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0)
        }
        return c
    }
}

/// What a random stream is used for. Each purpose has its own counter space, so adding a use of
/// randomness never shifts the numbers another use sees.
public enum RandomPurpose: UInt32, Sendable {
    case initialization = 1
    case trainingSubset = 2
    case validationSplit = 3
    case epochShuffle = 4
    /// Start and probe vectors of the Hessian probes (Lanczos, stochastic Lanczos quadrature).
    case curvatureProbe = 5
    /// The couplings of a spin-glass realization (keyed by the realization, not the trial).
    case couplings = 6
    /// The noise of noisy descent on the sphere.
    case descentNoise = 7
    /// The draws of the registered end-point probes (each probe its own substreams; see
    /// ``ProbeSite/stream(_:)``).
    case endPointProbe = 8
    /// The draws of t and the minibatch order of a connectivity trial's curve fits.
    case curveFit = 9
    /// The training samples on which a Newton step measures curvature (subsampled curvature).
    case curvatureSamples = 10
    /// A synthetic dataset's inputs and its teacher's weights (keyed by the dataset's own seed).
    case syntheticData = 11
    /// The starting points of a teacher–student trial on the population loss.
    case studentStart = 12
    case testing = 255
}

/// A deterministic stream of random numbers for one (experiment seed, trial index, purpose,
/// substream). The key is the experiment seed; the counter is (block, purpose·2²⁴ + substream,
/// trial index low, trial index high), so distinct trials never share a counter.
public struct RandomStream: RandomNumberGenerator, Sendable {
    private let generator: Philox4x32
    private let counterHigh: SIMD3<UInt32>
    private var blockIndex: UInt32 = 0
    private var buffered: SIMD4<UInt32> = .zero
    private var bufferedCount = 0

    public init(seed: UInt64, trial: UInt64, purpose: RandomPurpose, substream: UInt32 = 0) {
        precondition(substream < 1 << 24, "substream must fit in 24 bits")
        generator = Philox4x32(key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        counterHigh = SIMD3(purpose.rawValue << 24 | substream, UInt32(truncatingIfNeeded: trial), UInt32(truncatingIfNeeded: trial >> 32))
    }

    public mutating func nextUInt32() -> UInt32 {
        if bufferedCount == 0 {
            precondition(blockIndex != .max, "random stream exhausted (2^34 values)")
            buffered = generator.block(SIMD4(blockIndex, counterHigh[0], counterHigh[1], counterHigh[2]))
            blockIndex += 1
            bufferedCount = 4
        }
        bufferedCount -= 1
        return buffered[3 - bufferedCount]
    }

    public mutating func next() -> UInt64 {
        UInt64(nextUInt32()) | UInt64(nextUInt32()) << 32
    }

    /// A uniform integer in 0..<bound (Lemire's nearly-divisionless method, exact).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max))
        let range = UInt32(bound)
        var product = UInt64(nextUInt32()) &* UInt64(range)
        if UInt32(truncatingIfNeeded: product) < range {
            let threshold = (0 &- range) % range
            while UInt32(truncatingIfNeeded: product) < threshold {
                product = UInt64(nextUInt32()) &* UInt64(range)
            }
        }
        return Int(product >> 32)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform Double in (-1, 1).
    public mutating func nextSignedUnitDouble() -> Double {
        while true {
            let value = 2 * nextUnitDouble() - 1
            if value != -1 { return value }
        }
    }

    /// A standard normal deviate (Marsaglia's polar method with ``DeterministicMath/log(_:)``),
    /// so the bits do not depend on the platform's libm.
    public mutating func nextGaussian() -> Double {
        while true {
            let u = nextSignedUnitDouble()
            let v = nextSignedUnitDouble()
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * DeterministicMath.log(s) / s).squareRoot()
            }
        }
    }

    /// Two independent standard normal deviates from one draw of the polar method (both of its
    /// outputs: half the logarithms of two ``nextGaussian()`` calls; a different sequence).
    public mutating func nextGaussianPair() -> (Double, Double) {
        while true {
            let u = nextSignedUnitDouble()
            let v = nextSignedUnitDouble()
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * DeterministicMath.log(s) / s).squareRoot()
                return (u * factor, v * factor)
            }
        }
    }

    /// Standard normal deviates taking both outputs of each ``nextGaussianPair()``, in order.
    public struct PairedGaussians {
        var stream: RandomStream
        var spare: Double?
        public init(_ stream: RandomStream) { self.stream = stream }
        public mutating func next() -> Double {
            if let waiting = spare { spare = nil; return waiting }
            let pair = stream.nextGaussianPair()
            spare = pair.1
            return pair.0
        }
    }

    /// Shuffles `indices` in place (Fisher–Yates, from the last element down).
    public mutating func shuffle(_ indices: inout [Int32]) {
        var i = indices.count - 1
        while i > 0 {
            let j = nextIndex(below: i + 1)
            indices.swapAt(i, j)
            i -= 1
        }
    }
}
