/// The loss over a plane through the end point spanned by two filter-normalized random
/// directions (Li, Xu, Taylor, Studer & Goldstein 2018, Fig. 1 and the contour plots):
/// L(θ + α·d₁ + β·d₂) on a points × points grid, α, β ∈ [−radius, radius]. The directions are
/// made as ``FilterNormalizedSlice`` makes them (each neuron's row scaled to the norm of its
/// weights, biases 0), from this probe's own streams 0 and 1.
///
/// Measures per end point the rise max L − L(θ) over the grid and the mean rise over it, and the
/// grid itself (row by row, β outer), which the report draws as contours.
public enum FilterNormalizedPlane: ProbeMethod {
    static let points = NumericSetting("points", default: 21, in: 3, upTo: 1_002, integer: true, summary: "grid points along each direction, ends included (points² evaluations)")
    static let radius = NumericSetting("radius", default: 1, in: 0, upTo: 1_000, lowerExclusive: true, summary: "α and β run from −radius to radius (filter-normalized units)")

    public static let info = ProbeInfo(
        name: "slice2d",
        summary: "the loss over a plane of two filter-normalized random directions through the end point (Li et al. 2018)",
        settings: [points, radius],
        values: [
            ProbeOutput("rise", summary: "max over the grid of L − L(θ)"),
            ProbeOutput("mean_rise", summary: "mean over the grid of L − L(θ)"),
        ],
        series: [
            ProbeSeries("grid", summary: "L(θ + αd₁ + βd₂) over the plane", xRange: { settings in -settings[radius] ... settings[radius] },
                        xLabel: "α, β (filter-normalized units)", yLabel: "training objective", isGrid: true),
        ],
        evaluations: { settings in 1 + settings[points] * settings[points] })

    public static func measure(at site: ProbeSite, settings: ProbeSettings) throws(ProbeSite.Cancelled) -> ProbeMeasurement {
        let n = Int(settings[points]), r = settings[radius]
        let first = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 0)
        let second = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 1)
        let center = try site.loss(at: site.endPoint)
        let axis = (0..<n).map { Float(-r + 2 * r * Double($0) / Double(n - 1)) }
        let grid = try site.losses(overPlane: first, second, alphas: axis, betas: axis)
        let rise = (grid.max() ?? center) - center
        let meanRise = grid.reduce(0, +) / Double(grid.count) - center
        return ProbeMeasurement(values: ["rise": rise, "mean_rise": meanRise], series: ["grid": grid])
    }
}
