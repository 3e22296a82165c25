import Foundation

/// The report's figures as self-contained SVG (no fonts, scripts or images from outside).
public enum SVGFigures {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1000 || magnitude < 0.001 { return String(format: "%.2g", value) }
        if magnitude >= 10 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    /// "Nice" tick positions covering [low, high].
    static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let power = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        var tick = (low / step).rounded(.up) * step
        var result: [Double] = []
        while tick <= high + step * 1e-9 { result.append(tick); tick += step }
        return result
    }

    /// A legend entry: a 12 px swatch at (x, y) and the label beside it.
    static func legendEntry(x: Int, y: Int, color: String, label: String) -> String {
        "<rect x=\"\(x)\" y=\"\(y)\" width=\"12\" height=\"12\" fill=\"\(color)\"/><text x=\"\(x + 18)\" y=\"\(y + 10)\">\(escape(label))</text>\n"
    }

    /// A y-axis title, rotated, centred on (x, y).
    static func verticalLabel(_ text: String, x: Int, y: Int) -> String {
        "<text transform=\"translate(\(x) \(y)) rotate(-90)\" text-anchor=\"middle\">\(escape(text))</text>\n"
    }

    static func document(width: Int, height: Int, title: String, body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="\(escape(title))">
        <title>\(escape(title))</title>
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
        \(body)
        </svg>
        """
    }

    /// The bin of `value` among `bins` equal intervals of [low, high], clamped to 0 … bins − 1,
    /// for any finite values — also when the span overflows a Double (±1e308 in a ledger), where
    /// it is halved first, instead of trapping on a conversion of infinity or NaN to Int.
    public static func bin(_ value: Double, low: Double, high: Double, bins: Int) -> Int {
        var fraction = (value - low) / (high - low)
        if !fraction.isFinite { fraction = (value / 2 - low / 2) / (high / 2 - low / 2) }
        guard fraction.isFinite, bins > 0 else { return 0 }
        return min(bins - 1, Int(min(max(fraction, 0), 1) * Double(bins)))
    }

    /// Shared bins over all points' values: `bins` equal intervals from the lowest to the highest.
    public static func sharedBins(_ groups: [[Double]], bins: Int) -> (low: Double, high: Double, counts: [[Int]]) {
        let all = groups.flatMap { $0 }.filter(\.isFinite)
        guard let low = all.min(), var high = all.max() else { return (0, 1, groups.map { _ in [Int](repeating: 0, count: bins) }) }
        if high == low { high = low + 1e-9 }
        let counts = groups.map { group -> [Int] in
            var counts = [Int](repeating: 0, count: bins)
            for value in group where value.isFinite {
                counts[bin(value, low: low, high: high, bins: bins)] += 1
            }
            return counts
        }
        return (low, high, counts)
    }

    /// One histogram of final test loss per sweep point, stacked, on a shared loss axis and
    /// shared bins (in the manner of Choromanska et al. 2015, Fig. 2).
    ///
    /// `markers` are drawn as labelled dashed lines across all panels (e.g. the spin glass's
    /// ground state and threshold); the axis is widened to show them.
    ///
    /// With `zoom`, each row also gets a panel on the right with the same values on their own
    /// range, so that a narrow band (a large network's) is more than one bar wide.
    public static func histograms(labels: [String], values: [[Double]], bins: Int, quantity: String = "final test loss", title: String,
                                  markers: [(value: Double, label: String)] = [], zoom: Bool = false) -> String {
        let zoomWidth = zoom ? 250 : 0, zoomGap = zoom ? 40 : 0
        let width = 720 + zoomWidth + zoomGap, left = 170, right = 30 + zoomWidth + zoomGap, panel = 90, gap = 14, top = 46
        let withMarkers = markers.isEmpty ? values : values + [markers.map(\.value)]
        var (low, high, counts) = sharedBins(withMarkers, bins: bins)
        if !markers.isEmpty {
            // The values alone, binned on the axis widened to show the markers.
            let margin = (high - low) * 0.02
            low -= margin
            high += margin
            counts = values.map { group in
                var row = [Int](repeating: 0, count: bins)
                for value in group where value.isFinite { row[bin(value, low: low, high: high, bins: bins)] += 1 }
                return row
            }
        }
        let height = top + labels.count * (panel + gap) + 50
        let plotWidth = Double(width - left - right)
        var body = "<text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        for (i, label) in labels.enumerated() {
            let y0 = top + i * (panel + gap)
            let peak = max(1, counts[i].max() ?? 1)
            let runs = values[i].filter(\.isFinite).count
            body += "<text x=\"\(left - 10)\" y=\"\(y0 + panel / 2)\" text-anchor=\"end\">\(escape(label))</text>\n"
            body += "<text x=\"\(left - 10)\" y=\"\(y0 + panel / 2 + 15)\" text-anchor=\"end\" fill=\"#666\" font-size=\"10\">\(runs) runs</text>\n"
            body += "<line x1=\"\(left)\" y1=\"\(y0 + panel)\" x2=\"\(width - right)\" y2=\"\(y0 + panel)\" stroke=\"#999\"/>\n"
            let barWidth = plotWidth / Double(bins)
            for (b, count) in counts[i].enumerated() where count > 0 {
                let h = Double(panel - 6) * Double(count) / Double(peak)
                body += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\"><title>%d runs</title></rect>\n",
                               Double(left) + Double(b) * barWidth + 0.5, Double(y0 + panel) - h, max(0.5, barWidth - 1), h, palette[i % palette.count], count)
            }
        }
        let axisY = top + labels.count * (panel + gap) - gap + 4
        body += "<line x1=\"\(left)\" y1=\"\(axisY)\" x2=\"\(width - right)\" y2=\"\(axisY)\" stroke=\"black\"/>\n"
        for tick in ticks(low, high) {
            let x = Double(left) + (tick - low) / (high - low) * plotWidth
            body += String(format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/>", x, axisY, x, axisY + 5)
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", x, axisY + 18, format(tick))
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(axisY + 38)\" text-anchor=\"middle\">\(escape(quantity)) (shared bins)</text>\n"
        if zoom {
            let zoomLeft = width - 30 - zoomWidth
            body += "<text x=\"\(zoomLeft + zoomWidth / 2)\" y=\"\(top - 8)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444\">each on its own range</text>\n"
            for (i, group) in values.enumerated() {
                let finite = group.filter(\.isFinite)
                guard let lo = finite.min(), var hi = finite.max() else { continue }
                if hi == lo { hi = lo + 1e-9 }
                let zoomBins = max(5, min(bins, 20))
                var zoomCounts = [Int](repeating: 0, count: zoomBins)
                for value in finite { zoomCounts[bin(value, low: lo, high: hi, bins: zoomBins)] += 1 }
                let peak = max(1, zoomCounts.max() ?? 1)
                let y0 = top + i * (panel + gap)
                let barWidth = Double(zoomWidth) / Double(zoomBins)
                body += "<line x1=\"\(zoomLeft)\" y1=\"\(y0 + panel)\" x2=\"\(zoomLeft + zoomWidth)\" y2=\"\(y0 + panel)\" stroke=\"#999\"/>\n"
                for (b, count) in zoomCounts.enumerated() where count > 0 {
                    let h = Double(panel - 22) * Double(count) / Double(peak)
                    body += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\" fill-opacity=\"0.75\"><title>%d runs</title></rect>\n",
                                   Double(zoomLeft) + Double(b) * barWidth + 0.5, Double(y0 + panel) - h, max(0.5, barWidth - 1), h, palette[i % palette.count], count)
                }
                body += "<text x=\"\(zoomLeft)\" y=\"\(y0 + panel + 12)\" font-size=\"10\" fill=\"#444\">\(format(lo))</text>"
                body += "<text x=\"\(zoomLeft + zoomWidth)\" y=\"\(y0 + panel + 12)\" font-size=\"10\" fill=\"#444\" text-anchor=\"end\">\(format(hi))</text>\n"
            }
        }
        for (m, marker) in markers.enumerated() where marker.value.isFinite {
            let x = Double(left) + (marker.value - low) / (high - low) * plotWidth
            body += String(format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#444\" stroke-dasharray=\"5 4\"/>", x, top - 4, x, axisY)
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"%@\" font-size=\"11\" fill=\"#444\">%@</text>\n",
                           x + (m % 2 == 0 ? -4 : 4), top - 8, m % 2 == 0 ? "end" : "start", escape(marker.label))
        }
        return document(width: width, height: height, title: title, body: body)
    }

    /// The distributions of all sweep points overlaid on one axis as step histograms (densities on
    /// shared bins, one colour per point) — the form of Choromanska et al.'s Fig. 2.
    public static func overlaid(labels: [String], values: [[Double]], bins: Int, quantity: String, title: String,
                                markers: [(value: Double, label: String)] = []) -> String {
        let width = 720, height = 420, left = 70, right = 170, top = 50, bottom = 60
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        var (low, high, counts) = sharedBins(values + (markers.isEmpty ? [] : [markers.map(\.value)]), bins: bins)
        counts = values.map { group in
            var row = [Int](repeating: 0, count: bins)
            for value in group where value.isFinite { row[bin(value, low: low, high: high, bins: bins)] += 1 }
            return row
        }
        let binWidth = (high - low) / Double(bins)
        let densities = counts.map { row -> [Double] in
            let total = Double(max(1, row.reduce(0, +)))
            return row.map { Double($0) / total / binWidth }
        }
        // The axes leave room around the data: a narrow band's spike sits neither on the frame's
        // left or right edge nor against its top, and the y axis is the density's own scale.
        let margin = (high - low) * 0.03
        let histogramLow = low
        low -= margin
        high += margin
        let (peak, densityTicks) = densityAxis(densities.flatMap { $0 })
        func px(_ x: Double) -> Double { Double(left) + (x - low) / (high - low) * plotWidth }
        func py(_ y: Double) -> Double { Double(top) + plotHeight - min(y, peak) / peak * plotHeight }
        var body = "<text x=\"\((width - right + left) / 2)\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        body += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(Int(plotWidth))\" height=\"\(Int(plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        for tick in ticks(low, high) {
            body += String(format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/><text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n",
                           px(tick), top + Int(plotHeight), px(tick), top + Int(plotHeight) + 5, px(tick), top + Int(plotHeight) + 18, format(tick))
        }
        for tick in densityTicks {
            body += String(format: "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"black\"/><text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%@</text>\n",
                           left - 5, py(tick), left, py(tick), left - 8, py(tick) + 4, format(tick))
        }
        for (i, density) in densities.enumerated() {
            let color = palette[i % palette.count]
            // Each histogram rises from the axis at its first bin's edge and falls back at its last.
            var points = [String(format: "%.2f,%.2f", px(histogramLow), py(0))]
            for (b, d) in density.enumerated() {
                let x0 = histogramLow + Double(b) * binWidth, x1 = x0 + binWidth
                points.append(String(format: "%.2f,%.2f %.2f,%.2f", px(x0), py(d), px(x1), py(d)))
            }
            points.append(String(format: "%.2f,%.2f", px(histogramLow + Double(bins) * binWidth), py(0)))
            body += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"/>\n"
            body += legendEntry(x: width - right + 16, y: top + i * 20, color: color, label: labels[i])
        }
        for (m, marker) in markers.enumerated() where marker.value.isFinite {
            body += String(format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#444\" stroke-dasharray=\"5 4\"/>", px(marker.value), top, px(marker.value), top + Int(plotHeight))
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"%@\" font-size=\"11\" fill=\"#444\">%@</text>\n",
                           px(marker.value) + (m % 2 == 0 ? -4 : 4), top + 14 + 14 * m, m % 2 == 0 ? "end" : "start", escape(marker.label))
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">\(escape(quantity))</text>\n"
        body += verticalLabel("density", x: 18, y: top + Int(plotHeight) / 2)
        return document(width: width, height: height, title: title, body: body)
    }

    /// The top of a density axis and its ticks: the smallest "nice" tick at or above the highest
    /// density plus 5%, so that the tallest histogram never reaches the frame.
    public static func densityAxis(_ densities: [Double]) -> (top: Double, ticks: [Double]) {
        let highest = densities.filter(\.isFinite).max() ?? 0
        guard highest > 0 else { return (1, [0, 1]) }
        let wanted = highest * 1.05
        let candidates = ticks(0, wanted * 1.5)
        let step = candidates.count > 1 ? candidates[1] - candidates[0] : wanted
        let steps = Int((wanted / step).rounded(.up))
        return (Double(steps) * step, (0...steps).map { Double($0) * step })
    }

    /// Standard deviation (and interquartile range) of final test loss against parameter count.
    public static func spread(labels: [String], parameters: [Int], deviations: [Double], ranges: [Double], title: String,
                              xLabel: String = "parameters (log scale)", yLabel: String = "spread of final test loss") -> String {
        let width = 640, height = 400, left = 80, right = 30, top = 50, bottom = 60
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        let xs = parameters.map { log10(Double(max(1, $0))) }
        let xLow = (xs.min() ?? 0) - 0.15, xHigh = (xs.max() ?? 1) + 0.15
        let yHigh = max(1e-9, (deviations + ranges).filter(\.isFinite).max() ?? 1) * 1.1
        func px(_ x: Double) -> Double { Double(left) + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { Double(top) + plotHeight - y / yHigh * plotHeight }
        var body = "<text x=\"\(width / 2)\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        body += "<line x1=\"\(left)\" y1=\"\(top + Int(plotHeight))\" x2=\"\(width - right)\" y2=\"\(top + Int(plotHeight))\" stroke=\"black\"/>\n"
        body += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + Int(plotHeight))\" stroke=\"black\"/>\n"
        for tick in ticks(0, yHigh) {
            body += String(format: "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%@</text><line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#ddd\"/>\n",
                           left - 8, py(tick) + 4, format(tick), left, py(tick), width - right, py(tick))
        }
        for (series, values, color, name) in [(0, deviations, palette[0], "standard deviation"), (1, ranges, palette[1], "interquartile range")] {
            let points = zip(xs, values).filter { $0.1.isFinite }.map { String(format: "%.2f,%.2f", px($0.0), py($0.1)) }
            body += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for (x, y) in zip(xs, values) where y.isFinite {
                body += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%@\"/>\n", px(x), py(y), color)
            }
            body += legendEntry(x: width - right - 170, y: top + 8 + series * 18, color: color, label: name)
        }
        for (x, label) in zip(xs, labels) {
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%@</text>\n", px(x), top + Int(plotHeight) + 16, escape(label))
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        body += verticalLabel(yLabel, x: 18, y: top + Int(plotHeight) / 2)
        return document(width: width, height: height, title: title, body: body)
    }

    /// Final train loss against final test loss, one colour per sweep point.
    public static func scatter(labels: [String], pairs: [[(Double, Double)]], title: String, xLabel: String = "final train loss", yLabel: String = "final test loss") -> String {
        let width = 640, height = 480, left = 80, right = 170, top = 50, bottom = 60
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        let all = pairs.flatMap { $0 }.filter { $0.0.isFinite && $0.1.isFinite }
        let xLow = all.map(\.0).min() ?? 0, xHigh = max(xLow + 1e-9, all.map(\.0).max() ?? 1)
        let yLow = all.map(\.1).min() ?? 0, yHigh = max(yLow + 1e-9, all.map(\.1).max() ?? 1)
        func px(_ x: Double) -> Double { Double(left) + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { Double(top) + plotHeight - (y - yLow) / (yHigh - yLow) * plotHeight }
        var body = "<text x=\"\((width - right + left) / 2)\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        body += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(Int(plotWidth))\" height=\"\(Int(plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        for tick in ticks(xLow, xHigh) {
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px(tick), top + Int(plotHeight) + 18, format(tick))
        }
        for tick in ticks(yLow, yHigh) {
            body += String(format: "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%@</text>\n", left - 8, py(tick) + 4, format(tick))
        }
        for (i, group) in pairs.enumerated() {
            let color = palette[i % palette.count]
            for (x, y) in group where x.isFinite && y.isFinite {
                body += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%@\" fill-opacity=\"0.6\"/>", px(x), py(y), color)
            }
            body += "\n" + legendEntry(x: width - right + 16, y: top + i * 20, color: color, label: labels[i])
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        body += verticalLabel(yLabel, x: 18, y: top + Int(plotHeight) / 2)
        return document(width: width, height: height, title: title, body: body)
    }

    /// A median line with a quartile band, one value per epoch.
    public struct Band: Sendable {
        public var label: String
        public var median: [Double]
        public var low: [Double]
        public var high: [Double]

        public init(label: String, median: [Double], low: [Double], high: [Double]) {
            self.label = label
            self.median = median
            self.low = low
            self.high = high
        }

        /// The median and quartiles, point by point, of `profiles` (one per trial), as far as
        /// every profile reaches and some value is finite; nil when that is nowhere.
        public init?(label: String, profiles: [[Double]]) {
            guard let length = profiles.map(\.count).min() else { return nil }
            var median: [Double] = [], low: [Double] = [], high: [Double] = []
            for i in 0..<length {
                let values = profiles.map { $0[i] }.filter(\.isFinite).sorted()
                guard !values.isEmpty else { break }
                median.append(Statistics.percentile(values, 50)); low.append(Statistics.percentile(values, 25)); high.append(Statistics.percentile(values, 75))
            }
            guard !median.isEmpty else { return nil }
            self.init(label: label, median: median, low: low, high: high)
        }
    }

    /// Panels side by side, each with bands over the epochs on a log-scale y axis shared by all.
    /// `xRange`: the x of the first and last value (nil: the index, 0, 1, 2, …).
    public static func bands(panels: [(title: String, bands: [Band])], title: String, xLabel: String, yLabel: String,
                             xRange: ClosedRange<Double>? = nil) -> String {
        let columns = min(panels.count, 3), rows = (panels.count + columns - 1) / columns
        let panelWidth = 300, panelHeight = 220, left = 70, top = 50, gap = 40, legend = 170
        let width: Int = left + columns * panelWidth + (columns - 1) * gap + legend
        let height: Int = top + rows * (panelHeight + gap) + 30
        var values: [Double] = []
        for panel in panels { for band in panel.bands { values += band.low; values += band.high; values += band.median } }
        values = values.filter { $0.isFinite && $0 > 0 }
        let yLow = log10(values.min() ?? 1e-3), yHigh = max(yLow + 1e-6, log10(values.max() ?? 1))
        let epochs = max(1, panels.flatMap { $0.bands.map { $0.median.count - 1 } }.max() ?? 1)
        var body = "<text x=\"\((width - legend) / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        var labels: [String] = []
        for panel in panels { for band in panel.bands where !labels.contains(band.label) { labels.append(band.label) } }
        for (p, panel) in panels.enumerated() {
            let x0: Int = left + (p % columns) * (panelWidth + gap)
            let y0: Int = top + (p / columns) * (panelHeight + gap)
            func px(_ e: Double) -> Double { Double(x0) + e / Double(epochs) * Double(panelWidth) }
            // An x coordinate (of `xRange`) as a fractional index.
            func index(_ x: Double) -> Double { xRange.map { ($0.upperBound > $0.lowerBound ? (x - $0.lowerBound) / ($0.upperBound - $0.lowerBound) : 0) * Double(epochs) } ?? x }
            func py(_ v: Double) -> Double { Double(y0 + panelHeight) - (log10(max(v, 1e-300)) - yLow) / (yHigh - yLow) * Double(panelHeight) }
            body += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"black\"/>\n"
            if !panel.title.isEmpty { body += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 - 6)\" text-anchor=\"middle\">\(escape(panel.title))</text>\n" }
            for tick in ticks(xRange?.lowerBound ?? 0, xRange?.upperBound ?? Double(epochs)) where xRange != nil || tick == tick.rounded() {
                body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%@</text>\n", px(index(tick)), y0 + panelHeight + 14, format(tick))
            }
            if p % columns == 0 {
                for tick in ticks(yLow, yHigh) {
                    body += String(format: "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\" font-size=\"11\">%@</text>\n", x0 - 6, py(pow(10, tick)) + 4, format(pow(10, tick)))
                }
            }
            for band in panel.bands {
                let color = palette[(labels.firstIndex(of: band.label) ?? 0) % palette.count]
                let n = band.median.count
                guard n > 0 else { continue }
                let upper = (0..<n).map { String(format: "%.2f,%.2f", px(Double($0)), py(band.high[$0])) }
                let lower = (0..<n).reversed().map { String(format: "%.2f,%.2f", px(Double($0)), py(band.low[$0])) }
                body += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.2\" stroke=\"none\"/>\n"
                body += "<polyline points=\"\((0..<n).map { String(format: "%.2f,%.2f", px(Double($0)), py(band.median[$0])) }.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
        }
        for (i, label) in labels.enumerated() {
            let x = width - legend + 12
            body += legendEntry(x: x, y: top + i * 20, color: palette[i % palette.count], label: label)
        }
        body += "<text x=\"\((width - legend) / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        body += verticalLabel(yLabel, x: 16, y: top + rows * (panelHeight + gap) / 2)
        return document(width: width, height: height, title: title, body: body)
    }

    /// One point of a line: its median (nil: not reached, drawn at the ceiling) and quartiles.
    public struct LinePoint: Sendable {
        public var x: Double
        public var y: Double?
        public var low: Double?
        public var high: Double?
    }

    /// Lines of medians with quartile bars against x (log₂ axis); values that were never
    /// reached sit on a dashed ceiling.
    /// `unreached`: the ceiling's label (nil: every value is reached; no ceiling is drawn).
    public static func lines(labels: [String], lines: [[LinePoint]], ceiling: Double, title: String, xLabel: String, yLabel: String,
                             unreached: String? = "not reached in %@ epochs") -> String {
        let width = 720, height = 460, left = 80, right = 200, top = 50, bottom = 60
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        let xs = lines.flatMap { $0.map(\.x) }.filter { $0 > 0 }
        let xLow = log2(xs.min() ?? 1), xHigh = max(xLow + 1, log2(xs.max() ?? 2))
        let yHigh = ceiling * 1.05
        func px(_ x: Double) -> Double { Double(left) + (log2(x) - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { Double(top) + plotHeight - min(y, yHigh) / yHigh * plotHeight }
        var body = "<text x=\"\((width - right + left) / 2)\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        body += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(Int(plotWidth))\" height=\"\(Int(plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        for x in Set(xs).sorted() {
            body += String(format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px(x), top + Int(plotHeight) + 18, x == x.rounded() ? "\(Int(x))" : format(x))
        }
        for tick in ticks(0, yHigh) {
            body += String(format: "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%@</text>\n", left - 8, py(tick) + 4, format(tick))
        }
        if let unreached {
            body += String(format: "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>", left, py(ceiling), left + Int(plotWidth), py(ceiling))
            body += String(format: "<text x=\"%d\" y=\"%.2f\" font-size=\"11\" fill=\"#666\">" + unreached + "</text>\n", left + 6, py(ceiling) - 4, format(ceiling))
        }
        for (i, line) in lines.enumerated() {
            let color = palette[i % palette.count]
            let placed = line.map { ($0, $0.y ?? ceiling) }
            body += "<polyline points=\"\(placed.map { String(format: "%.2f,%.2f", px($0.0.x), py($0.1)) }.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for (point, y) in placed {
                if point.y != nil, let low = point.low, let high = point.high {
                    body += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\"/>", px(point.x), py(low), px(point.x), py(high), color)
                }
                body += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%@\" stroke=\"%@\"/>\n", px(point.x), py(y), point.y == nil ? "white" : color, color)
            }
            body += legendEntry(x: width - right + 16, y: top + i * 20, color: color, label: labels[i])
        }
        body += "<text x=\"\(left + Int(plotWidth) / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        body += verticalLabel(yLabel, x: 18, y: top + Int(plotHeight) / 2)
        return document(width: width, height: height, title: title, body: body)
    }
}
