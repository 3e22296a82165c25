/// The outliers of the Hessian's spectrum at the end point: the few large eigenvalues that stand
/// apart from the bulk near zero. Sagun, Evci, Güney, Dauphin & Bottou (2017) and Papyan (2019)
/// relate their number to the number of classes C (C or C − 1 for a C-class cross-entropy).
///
/// The top `top` eigenvalues λ₁ ≥ λ₂ ≥ … come from the exact spectrum when the network has at
/// most `exact` parameters (the dense Hessian, one product per coordinate), from `steps` Lanczos
/// steps otherwise (a Rademacher start from the probe's own stream). **The rule:** the number of
/// outliers is the m ∈ 1 … top − 1 with the largest ratio λ_m / λ_{m+1}, among the m whose
/// λ_{m+1} is above `floor`·λ₁ (so the near-zero bulk's relative gaps do not count); 0 when
/// no eigenvalue passes.
public enum HessianOutliers: ProbeMethod {
    static let top = NumericSetting("top", default: 30, in: 2, upTo: 501, integer: true, summary: "largest eigenvalues examined")
    static let steps = NumericSetting("steps", default: 120, in: 2, upTo: 5_001, integer: true, summary: "Lanczos steps when the spectrum is not computed exactly")
    static let exact = NumericSetting("exact", default: 3_000, in: 0, upTo: 20_001, integer: true, summary: "compute the exact spectrum up to this many parameters")
    static let floor = NumericSetting("floor", default: 1e-3, in: 0, upTo: 1, lowerExclusive: true, summary: "gaps below floor·λ₁ are the bulk's and do not count")

    public static let info = ProbeInfo(
        name: "outliers",
        summary: "the Hessian's outlier eigenvalues: how many stand apart from the bulk, to compare with the classes C and C − 1 (Sagun et al. 2017; Papyan 2019)",
        settings: [top, steps, exact, floor],
        values: [
            ProbeOutput("count", summary: "outliers: the m with the largest λ_m/λ_{m+1} above the floor"),
            ProbeOutput("gap", summary: "that ratio λ_m/λ_{m+1}"),
            ProbeOutput("lambda1", summary: "the largest eigenvalue λ₁"),
            ProbeOutput("edge", summary: "λ_{m+1}: the top of the bulk"),
            ProbeOutput("exact", summary: "1 when the eigenvalues are the exact spectrum's, 0 when Lanczos's"),
        ],
        series: [
            ProbeSeries("top", summary: "the largest eigenvalues, descending", xRange: { settings in 1 ... settings[top] },
                        xLabel: "rank m", yLabel: "eigenvalue λ_m"),
        ],
        evaluations: { settings in 3 * settings[steps] })

    public static func measure(at site: ProbeSite, settings: ProbeSettings) throws(ProbeSite.Cancelled) -> ProbeMeasurement {
        let surface = site.surface
        let n = surface.dimension, k = min(Int(settings[top]), n)
        site.setParameters(site.endPoint)
        var descending: [Double]
        let isExact = n <= Int(settings[exact])
        if isExact {
            guard var matrix = surface.denseHessian(isCancelled: site.isCancelled) else { throw ProbeSite.Cancelled() }
            let eigenvalues = try? SymmetricEigenvalues.dense(&matrix, dimension: n, isCancelled: site.isCancelled)
            if site.isCancelled() { throw ProbeSite.Cancelled() }
            descending = (eigenvalues ?? []).sorted(by: >)
        } else {
            var stream = site.stream(0)
            let start = (0..<n).map { _ in stream.nextUInt32() & 1 == 0 ? 1.0 : -1.0 }
            var lanczos = Lanczos(dimension: n, maximumSteps: Int(settings[steps]), start: start)
            while lanczos.canStep {
                if site.isCancelled() { throw ProbeSite.Cancelled() }
                lanczos.step { input, output in surface.hessianVectorProduct(input, into: output) }
            }
            descending = ((try? lanczos.ritzPairs()) ?? []).map(\.value).sorted(by: >)
        }
        descending = Array(descending.prefix(k))
        let (count, gap) = outliers(descending, floor: settings[floor])
        var top = descending
        top += repeatElement(Double.nan, count: max(0, Int(settings[Self.top]) - top.count))
        return ProbeMeasurement(
            values: ["count": Double(count), "gap": gap, "lambda1": descending.first ?? .nan,
                     "edge": count < descending.count ? descending[count] : .nan, "exact": isExact ? 1 : 0],
            series: ["top": top])
    }

    /// The rule: the m with the largest λ_m / λ_{m+1} among those with λ_{m+1} > floor·λ₁.
    static func outliers(_ descending: [Double], floor: Double) -> (count: Int, gap: Double) {
        guard let first = descending.first, first > 0 else { return (0, .nan) }
        var best = (count: 0, gap: Double.nan)
        for m in 1..<max(descending.count, 1) where descending[m] > floor * first {
            let ratio = descending[m - 1] / descending[m]
            if !(best.gap >= ratio) { best = (m, ratio) }
        }
        return best
    }
}
