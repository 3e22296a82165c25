/// The loss along random directions through the end point, each direction filter-normalized
/// (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape of neural nets"):
/// L(θ + α·d) for α ∈ [−radius, radius].
///
/// Filter normalization makes slices of different networks comparable: a Gaussian direction's
/// row for each neuron (its incoming weights — a fully connected layer's "filter") is scaled to
/// the norm of that neuron's weights, d_row ← g_row · ‖θ_row‖ / (‖g_row‖ + 10⁻¹⁰), so α = 1 moves
/// every neuron by its own size. Bias directions are zero (their `ignore biasbn` option). The
/// directions come from the probe's own random streams (direction k: substream k).
///
/// Measures per end point the mean over the directions of the rise max_α L(θ + αd) − L(θ) and of
/// the rise at α = ±radius/2 (a curvature at a fixed normalized distance: flat minima rise
/// little), and the mean profile.
public enum FilterNormalizedSlice: ProbeMethod {
    static let directions = NumericSetting("directions", default: 2, in: 1, upTo: 257, integer: true, summary: "random directions (the results are their means)")
    static let points = NumericSetting("points", default: 41, in: 3, upTo: 10_001, integer: true, summary: "points along each direction, ends included")
    static let radius = NumericSetting("radius", default: 1, in: 0, upTo: 1_000, lowerExclusive: true, summary: "α runs from −radius to radius (filter-normalized units)")

    public static let info = ProbeInfo(
        name: "slice",
        summary: "the loss along filter-normalized random directions through the end point (Li et al. 2018)",
        settings: [directions, points, radius],
        values: [
            ProbeOutput("rise", summary: "max over α of L(θ + αd) − L(θ), mean over directions"),
            ProbeOutput("half_rise", summary: "(L(θ − r/2·d) + L(θ + r/2·d))/2 − L(θ), mean over directions"),
        ],
        series: [
            ProbeSeries("profile", summary: "L(θ + αd), mean over directions", xRange: { settings in -settings[radius] ... settings[radius] },
                        xLabel: "α (filter-normalized units)", yLabel: "training objective"),
        ],
        evaluations: { settings in 1 + settings[directions] * (settings[points] + 2) })

    public static func measure(at site: ProbeSite, settings: ProbeSettings) throws(ProbeSite.Cancelled) -> ProbeMeasurement {
        let count = Int(settings[directions]), gridPoints = Int(settings[points]), r = settings[radius]
        let center = try site.loss(at: site.endPoint)
        var profile = [Double](repeating: 0, count: gridPoints)
        var rise = 0.0, halfRise = 0.0
        for k in 0..<count {
            let direction = filterNormalizedDirection(site, substream: UInt32(k))
            func loss(_ alpha: Double) throws(ProbeSite.Cancelled) -> Double {
                let step = Float(alpha)
                return try site.loss(at: zip(site.endPoint, direction).map { theta, d in theta + step * d })
            }
            var highest = -Double.infinity
            for i in 0..<gridPoints {
                let value = try loss(-r + 2 * r * Double(i) / Double(gridPoints - 1))
                profile[i] += value / Double(count)
                highest = max(highest, value)
            }
            rise += (highest - center) / Double(count)
            halfRise += ((try loss(-r / 2)) + (try loss(r / 2)) - 2 * center) / (2 * Double(count))
        }
        return ProbeMeasurement(values: ["rise": rise, "half_rise": halfRise], series: ["profile": profile])
    }

    /// A Gaussian direction, each neuron's incoming row scaled to the norm of its weights; biases 0.
    static func filterNormalizedDirection(_ site: ProbeSite, substream: UInt32) -> [Float] {
        var stream = site.stream(substream)
        var direction: [Float] = []
        direction.reserveCapacity(site.endPoint.count)
        var k = 0
        for layer in site.layers {
            for _ in 0..<layer.outputs {
                let row = site.endPoint[k ..< k + layer.inputs]
                let gaussian = (0..<layer.inputs).map { _ in stream.nextGaussian() }
                let weightNorm = row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let gaussianNorm = gaussian.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                let scale = weightNorm / (gaussianNorm + 1e-10)
                direction += gaussian.map { Float($0 * scale) }
                k += layer.inputs
            }
            direction += repeatElement(0, count: layer.outputs)
            k += layer.outputs
        }
        return direction
    }
}
