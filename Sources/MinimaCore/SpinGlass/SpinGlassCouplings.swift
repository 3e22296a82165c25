/// The couplings of one spin-glass realization, stored once per distinct multiset of indices.
///
/// Σ X_{i₁…i_H} w_{i₁}⋯w_{i_H} over all H-tuples equals Σ_{i₁≤…≤i_H} J_S w_{i₁}⋯w_{i_H} with J_S
/// the sum of X over the permutations of the multiset S — a normal with variance
/// H!/∏(multiplicity!) — so J is drawn directly from that law, and only the Λ^H/H! (about)
/// non-decreasing index tuples are kept: for H = 3 and Λ = 500, 21 million floats (84 MB) instead
/// of 125 million. Regenerating them at every evaluation from the counter-based generator would
/// cost ~20 ns each against ~0.5 ns to stream them (measured: `Scripts/bench/spinglass`).
///
/// Layout: for H = 3, rows (i, j) with i ≤ j, each holding J_{ijk} for k = j … Λ−1, in order
/// i, then j; likewise one index more or less for H = 4 and 2.
public final class SpinGlassCouplings {
    public let order: Int
    public let spins: Int
    let values: UnsafeMutableBufferPointer<Float>

    /// The number of non-decreasing index tuples: C(Λ + H − 1, H).
    public static func count(order: Int, spins: Int) -> Int {
        var result = 1.0
        for r in 0..<order { result = result * Double(spins + r) / Double(r + 1) }
        return result > Double(Int.max / 2) ? Int.max / 2 : Int(result.rounded())
    }

    /// Draws the realization `realization` of the experiment `seed`.
    public init(order: Int, spins: Int, seed: UInt64, realization: UInt64) {
        precondition((2...4).contains(order) && spins >= 2)
        self.order = order
        self.spins = spins
        values = allocateAligned(Float.self, count: Self.count(order: order, spins: spins))
        var stream = RandomStream(seed: seed, trial: realization, purpose: .couplings)
        var offset = 0
        let n = spins
        // √(H!/∏ multiplicity!) for each pattern of equal neighbours.
        switch order {
        case 2:
            for i in 0..<n { for j in i..<n {
                values[offset] = Float(stream.nextGaussian() * (i == j ? 1 : 2.0.squareRoot())); offset += 1
            } }
        case 3:
            for i in 0..<n { for j in i..<n { for k in j..<n {
                let variance: Double = i == k ? 1 : (i == j || j == k ? 3 : 6)
                values[offset] = Float(stream.nextGaussian() * variance.squareRoot()); offset += 1
            } } }
        default:
            for i in 0..<n { for j in i..<n { for k in j..<n { for l in k..<n {
                // 4!/∏m!: all equal 1; three equal 4; two pairs 6; one pair 12; all distinct 24.
                let runs = [i == j, j == k, k == l]
                let variance: Double = switch (runs[0], runs[1], runs[2]) {
                case (true, true, true): 1
                case (true, true, false), (false, true, true): 4
                case (true, false, true): 6
                case (false, false, false): 24
                default: 12
                }
                values[offset] = Float(stream.nextGaussian() * variance.squareRoot()); offset += 1
            } } } }
        }
    }

    /// Couplings given explicitly in the packed order (tests).
    package init(order: Int, spins: Int, packed: [Float]) {
        precondition(packed.count == Self.count(order: order, spins: spins))
        self.order = order
        self.spins = spins
        values = allocateAligned(Float.self, count: packed.count)
        _ = values.update(fromContentsOf: packed)
    }

    deinit { values.deallocate() }

    /// Λ^{−(H−1)/2}.
    var scale: Double { 1 / DeterministicMath.power(Double(spins).squareRoot(), order - 1) }

    /// H(w) (unnormalized) and ∇H into `gradient` (Λ values), in double precision with a fixed
    /// order of summation.
    ///
    /// Each stored row is one fused pass: its dot product with w (the energy term and the
    /// gradient of the row's leading indices) and its scaled copy added into the gradient (the
    /// gradient of the last index). 4 FLOP per stored coupling.
    public func energy(_ w: UnsafePointer<Double>, gradient: UnsafeMutablePointer<Double>) -> Double {
        let n = spins
        for i in 0..<n { gradient[i] = 0 }
        var energy = 0.0
        var row = UnsafePointer(values.baseAddress!)
        switch order {
        case 2:
            for i in 0..<n {
                let length = n - i
                let s = rowPass(row, w + i, gradient + i, coefficient: w[i], count: length)
                energy = energy.addingProduct(w[i], s)
                gradient[i] += s
                row += length
            }
        case 3:
            for i in 0..<n {
                for j in i..<n {
                    let length = n - j
                    let c = w[i] * w[j]
                    let s = rowPass(row, w + j, gradient + j, coefficient: c, count: length)
                    energy = energy.addingProduct(c, s)
                    gradient[i] = gradient[i].addingProduct(w[j], s)
                    gradient[j] = gradient[j].addingProduct(w[i], s)
                    row += length
                }
            }
        default:
            for i in 0..<n {
                for j in i..<n {
                    for k in j..<n {
                        let length = n - k
                        let c = w[i] * w[j] * w[k]
                        let s = rowPass(row, w + k, gradient + k, coefficient: c, count: length)
                        energy = energy.addingProduct(c, s)
                        gradient[i] = gradient[i].addingProduct(w[j] * w[k], s)
                        gradient[j] = gradient[j].addingProduct(w[i] * w[k], s)
                        gradient[k] = gradient[k].addingProduct(w[i] * w[j], s)
                        row += length
                    }
                }
            }
        }
        let scale = self.scale
        for i in 0..<n { gradient[i] *= scale }
        return energy * scale
    }

    /// Σ_t row[t]·w[t], while adding coefficient·row[t] into g[t]. Eight lanes at a time in two
    /// 4-lane accumulators, reduced in a fixed order, then the scalar tail.
    @inline(__always)
    private func rowPass(_ row: UnsafePointer<Float>, _ w: UnsafePointer<Double>, _ g: UnsafeMutablePointer<Double>, coefficient: Double, count: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        let c = SIMD4<Double>(repeating: coefficient)
        let rawRow = UnsafeRawPointer(row), rawW = UnsafeRawPointer(w), rawG = UnsafeMutableRawPointer(g)
        var t = 0
        while t + 8 <= count {
            let j0 = SIMD4<Double>(rawRow.loadUnaligned(fromByteOffset: t * 4, as: SIMD4<Float>.self))
            let j1 = SIMD4<Double>(rawRow.loadUnaligned(fromByteOffset: t * 4 + 16, as: SIMD4<Float>.self))
            let w0 = rawW.loadUnaligned(fromByteOffset: t * 8, as: SIMD4<Double>.self)
            let w1 = rawW.loadUnaligned(fromByteOffset: t * 8 + 32, as: SIMD4<Double>.self)
            s0 = s0.addingProduct(j0, w0)
            s1 = s1.addingProduct(j1, w1)
            rawG.storeBytes(of: rawG.loadUnaligned(fromByteOffset: t * 8, as: SIMD4<Double>.self).addingProduct(c, j0), toByteOffset: t * 8, as: SIMD4<Double>.self)
            rawG.storeBytes(of: rawG.loadUnaligned(fromByteOffset: t * 8 + 32, as: SIMD4<Double>.self).addingProduct(c, j1), toByteOffset: t * 8 + 32, as: SIMD4<Double>.self)
            t += 8
        }
        let s = s0 + s1
        var total = (s[0] + s[1]) + (s[2] + s[3])
        while t < count {
            let j = Double(row[t])
            total = total.addingProduct(j, w[t])
            g[t] = g[t].addingProduct(coefficient, j)
            t += 1
        }
        return total
    }

    /// The dense Euclidean Hessian ∇²H (Λ × Λ, row-major): each stored term adds, for every
    /// ordered pair of its index slots, the coupling times the other slots' spins.
    public func hessian(_ w: UnsafePointer<Double>) -> [Double] {
        let n = spins
        var h = [Double](repeating: 0, count: n * n)
        var offset = 0
        h.withUnsafeMutableBufferPointer { m in
            func add(_ a: Int, _ b: Int, _ value: Double) { m[a * n + b] += value; m[b * n + a] += value }
            switch order {
            case 2:
                for i in 0..<n { for j in i..<n { add(i, j, Double(values[offset])); offset += 1 } }
            case 3:
                for i in 0..<n { for j in i..<n { for k in j..<n {
                    let J = Double(values[offset]); offset += 1
                    add(i, j, J * w[k]); add(i, k, J * w[j]); add(j, k, J * w[i])
                } } }
            default:
                for i in 0..<n { for j in i..<n { for k in j..<n { for l in k..<n {
                    let J = Double(values[offset]); offset += 1
                    add(i, j, J * w[k] * w[l]); add(i, k, J * w[j] * w[l]); add(i, l, J * w[j] * w[k])
                    add(j, k, J * w[i] * w[l]); add(j, l, J * w[i] * w[k]); add(k, l, J * w[i] * w[j])
                } } } }
            }
            let scale = self.scale
            for index in 0 ..< n * n { m[index] *= scale }
        }
        return h
    }
}
