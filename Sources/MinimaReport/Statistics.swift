import Foundation

/// Descriptive statistics of a sample.
public struct Summary: Codable, Equatable, Sendable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single value).
    public var standardDeviation: Double
    public var minimum: Double
    public var p5: Double
    public var p25: Double
    public var median: Double
    public var p75: Double
    public var p95: Double
    public var maximum: Double
}

public enum Statistics {
    /// Summary of the finite values (nil when there are none).
    public static func summarize(_ values: [Double]) -> Summary? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let n = Double(sorted.count)
        let mean = sorted.reduce(0, +) / n
        let variance = sorted.count > 1 ? sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return Summary(count: sorted.count, mean: mean, standardDeviation: variance.squareRoot(), minimum: sorted.first!,
                       p5: percentile(sorted, 5), p25: percentile(sorted, 25), median: percentile(sorted, 50),
                       p75: percentile(sorted, 75), p95: percentile(sorted, 95), maximum: sorted.last!)
    }

    /// The p-th percentile of sorted values by linear interpolation between closest ranks
    /// (Hyndman & Fan type 7, numpy's default).
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty)
        let position = p / 100 * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Int(position.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    /// Pearson's correlation coefficient (nil with fewer than 3 pairs or no variance).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        guard pairs.count >= 3 else { return nil }
        let n = Double(pairs.count)
        let mx = pairs.reduce(0) { $0 + $1.0 } / n, my = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in pairs { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        guard sxx > 0 && syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Ranks from 1, ties sharing their average rank.
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = average }
            i = j + 1
        }
        return ranks
    }

    /// Spearman's rank correlation and a two-sided p-value: exact (all permutations) for up to
    /// 8 points, otherwise from Student's t with n − 2 degrees of freedom.
    public static func spearman(_ x: [Double], _ y: [Double]) -> (rho: Double, pValue: Double)? {
        guard x.count == y.count, x.count >= 3, let rho = pearson(ranks(x), ranks(y)) else { return nil }
        let n = x.count
        if n <= 8 {
            let rx = ranks(x), ry = ranks(y)
            var extreme = 0, total = 0
            var permutation = Array(0..<n)
            func visit(_ k: Int) {
                if k == n {
                    total += 1
                    if let r = pearson(rx, permutation.map { ry[$0] }), abs(r) >= abs(rho) - 1e-12 { extreme += 1 }
                    return
                }
                for i in k..<n {
                    permutation.swapAt(k, i)
                    visit(k + 1)
                    permutation.swapAt(k, i)
                }
            }
            visit(0)
            return (rho, Double(extreme) / Double(total))
        }
        let df = Double(n - 2)
        let t = rho * (df / max(1e-300, 1 - rho * rho)).squareRoot()
        return (rho, studentTTwoSided(t, df))
    }

    /// The Brown–Forsythe test for equal spread (Levene's test on absolute deviations from the
    /// group medians): the one-way ANOVA F statistic of those deviations and its p-value from
    /// F(k − 1, N − k). Small p: the groups' spreads differ.
    public static func brownForsythe(_ groups: [[Double]]) -> (statistic: Double, pValue: Double)? {
        let clean = groups.map { $0.filter(\.isFinite) }.filter { $0.count >= 2 }
        guard clean.count >= 2 else { return nil }
        let deviations = clean.map { group -> [Double] in
            let median = percentile(group.sorted(), 50)
            return group.map { abs($0 - median) }
        }
        let k = Double(deviations.count)
        let total = Double(deviations.reduce(0) { $0 + $1.count })
        let grand = deviations.reduce(0) { $0 + $1.reduce(0, +) } / total
        var between = 0.0, within = 0.0
        for group in deviations {
            let mean = group.reduce(0, +) / Double(group.count)
            between += Double(group.count) * (mean - grand) * (mean - grand)
            within += group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        }
        let d1 = k - 1, d2 = total - k
        guard d2 > 0 else { return nil }
        guard within > 0 else { return (between > 0 ? .infinity : 0, between > 0 ? 0 : 1) }
        let f = (between / d1) / (within / d2)
        return (f, fSurvival(f, d1, d2))
    }

    /// P(F ≥ f) for F(d1, d2).
    public static func fSurvival(_ f: Double, _ d1: Double, _ d2: Double) -> Double {
        guard f > 0 else { return 1 }
        return regularizedIncompleteBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2)
    }

    /// Two-sided p-value of Student's t with `df` degrees of freedom.
    public static func studentTTwoSided(_ t: Double, _ df: Double) -> Double {
        regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5)
    }

    /// I_x(a, b), by the continued fraction of Numerical Recipes (§6.4), accurate to ~1e-12.
    public static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * Foundation.log(x) + b * Foundation.log(1 - x)
        let logFront = logGammas + logPowers
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a, b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-14 { break }
        }
        return h
    }
}
