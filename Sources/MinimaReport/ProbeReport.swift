import Foundation
import MinimaCore

/// What the probes found at the end points of one sweep point.
public struct PointProbes: Codable, Sendable {
    /// Trials with probe results.
    public var probed: Int
    public var gradientNorm: Summary?
    public var lambdaMax: Summary?
    public var lambdaMin: Summary?
    /// The index α (fraction of eigenvalues below −ε·λmax) by stochastic Lanczos quadrature.
    public var index: Summary?
    /// The exact index, for networks small enough for the dense spectrum.
    public var exactIndex: Summary?
    /// Fraction of probed end points that are minima (λmin ≥ −tolerance·λmax).
    public var minimumFraction: Double?
    /// Barrier heights along the line from the initial point to the end point.
    public var initToEndBarrier: Summary?
    /// Fraction of those lines along which the loss only falls (Goodfellow et al. 2015).
    public var initToEndMonotone: Double?
    /// Spearman's ρ between index and final training loss within this sweep point.
    public var indexLossSpearman: Double?
    /// Barrier heights along the line between the end points of two restarts.
    public var betweenRestartsBarrier: Summary?
    /// Between-restart paths whose partner, trained again by the probing worker, did not end on
    /// the bits its own trial recorded (should be 0: training is deterministic).
    public var partnerMismatches: Int

    static func build(_ results: [TrialResult], partnerSHA256: (UInt64) -> String?) -> PointProbes? {
        let probes = results.compactMap(\.probes)
        guard !probes.isEmpty else { return nil }
        let hessians = probes.compactMap(\.hessian)
        let partners = probes.compactMap { $0.paths?.toPartner }
        let lines = probes.compactMap { $0.paths?.initToEnd }
        let indexed = results.compactMap { result in result.probes?.hessian?.index.map { ($0.value, result.train.loss) } }
        return PointProbes(
            probed: probes.count,
            gradientNorm: Statistics.summarize(probes.map(\.gradientNorm)),
            lambdaMax: Statistics.summarize(hessians.map(\.lambdaMax)),
            lambdaMin: Statistics.summarize(hessians.map(\.lambdaMin)),
            index: Statistics.summarize(hessians.compactMap { $0.index?.value }),
            exactIndex: Statistics.summarize(hessians.compactMap { $0.exact?.index }),
            minimumFraction: hessians.isEmpty ? nil : Double(hessians.count { $0.isMinimum }) / Double(hessians.count),
            initToEndBarrier: Statistics.summarize(probes.compactMap { $0.paths?.initToEnd?.barrier }),
            initToEndMonotone: lines.isEmpty ? nil : Double(lines.count(where: \.isMonotone)) / Double(lines.count),
            indexLossSpearman: Statistics.spearman(indexed.map(\.0), indexed.map(\.1))?.rho,
            betweenRestartsBarrier: Statistics.summarize(partners.map(\.profile.barrier)),
            partnerMismatches: partners.count { path in partnerSHA256(path.partner).map { $0 != path.partnerParametersSHA256 } ?? false })
    }
}

/// Across all probed end points: does the training loss rise with the index (Dauphin et al.
/// 2014, Fig. 1)?
public struct IndexLossCorrelation: Codable, Sendable {
    public var points: Int
    public var spearmanRho: Double
    public var spearmanP: Double
}

extension SVGFigures {
    /// The index α of each end point against its final training loss, one colour per sweep
    /// point (Dauphin et al. 2014, Fig. 1: error against index of critical points).
    public static func indexAgainstLoss(labels: [String], pairs: [[(Double, Double)]], title: String) -> String {
        scatter(labels: labels, pairs: pairs, title: title, xLabel: "index α (fraction of eigenvalues below −ε·λmax)", yLabel: "final training loss")
    }

    /// The spectral density of the Hessian at the end points, averaged over the probed trials of
    /// each sweep point: each quadrature node spread by a Gaussian of width σ = 1% of the range,
    /// on a log scale (the bulk near zero and the outliers both visible).
    public static func spectralDensities(labels: [String], densities: [[SpectralDensity]], title: String) -> String {
        let width = 720, height = 440, left = 80, right = 170, top = 50, bottom = 60
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        let nodes = densities.flatMap { $0.flatMap { $0.nodes.flatMap { $0 } } }.map(Double.init).filter(\.isFinite)
        var body = "<text x=\"\((width - right + left) / 2)\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        guard var low = nodes.min(), var high = nodes.max() else { return document(width: width, height: height, title: title, body: body) }
        let margin = max(1e-9, (high - low) * 0.03)
        low -= margin
        high += margin
        let sigma = (high - low) * 0.01
        let grid = (0..<400).map { low + (high - low) * Double($0) / 399 }
        var curves: [[Double]] = []
        for group in densities {
            var curve = [Double](repeating: 0, count: grid.count)
            var total = 0.0
            for density in group {
                for (nodeList, weightList) in zip(density.nodes, density.weights) {
                    for (node, weight) in zip(nodeList, weightList) {
                        total += Double(weight)
                        for (g, x) in grid.enumerated() {
                            let z = (x - Double(node)) / sigma
                            if abs(z) < 6 { curve[g] += Double(weight) * exp(-0.5 * z * z) }
                        }
                    }
                }
            }
            let norm = total > 0 ? total * sigma * (2 * Double.pi).squareRoot() : 1
            curves.append(curve.map { $0 / norm })
        }
        let peak = curves.flatMap { $0 }.max() ?? 1
        let floor = max(peak * 1e-6, 1e-300)
        let yHigh = log10(max(peak, floor * 10)), yLow = log10(floor)
        func px(_ x: Double) -> Double { Double(left) + (x - low) / (high - low) * plotWidth }
        func py(_ y: Double) -> Double { Double(top) + plotHeight - (log10(max(y, floor)) - yLow) / (yHigh - yLow) * plotHeight }
        body += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(Int(plotWidth))\" height=\"\(Int(plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        for tick in ticks(low, high) {
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px(tick), top + Int(plotHeight) + 18, format(tick))
        }
        var decade = yLow.rounded(.up)
        while decade <= yHigh {
            body += String(format: "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">1e%d</text>\n", left - 8, py(pow(10, decade)) + 4, Int(decade))
            decade += 1
        }
        if low < 0 && high > 0 {
            body += String(format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n", px(0), top, px(0), top + Int(plotHeight))
        }
        for (i, curve) in curves.enumerated() {
            let color = palette[i % palette.count]
            let points = zip(grid, curve).map { String(format: "%.2f,%.2f", px($0.0), py($0.1)) }
            body += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
            body += legendEntry(x: width - right + 16, y: top + i * 20, color: color, label: labels[i])
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">eigenvalue of the Hessian</text>\n"
        body += verticalLabel("density (log scale)", x: 18, y: top + Int(plotHeight) / 2)
        return document(width: width, height: height, title: title, body: body)
    }
}
