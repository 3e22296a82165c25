import Foundation

extension SVGFigures {
    /// One panel of a contour figure: a square grid of values (row by row, the second coordinate
    /// outer), the points to mark on it and a polyline to draw over it (a curve), all in the
    /// panel's coordinates.
    public struct ContourPanel: Sendable {
        public var title: String
        public var values: [Double]
        public var size: Int
        /// The coordinates of the first and last grid point, per axis.
        public var xRange: ClosedRange<Double>
        public var yRange: ClosedRange<Double>
        public var marks: [(x: Double, y: Double, label: String)]
        public var path: [(x: Double, y: Double)]

        public init(title: String, values: [Double], size: Int, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
                    marks: [(x: Double, y: Double, label: String)] = [], path: [(x: Double, y: Double)] = []) {
            self.title = title
            self.values = values
            self.size = size
            self.xRange = xRange
            self.yRange = yRange
            self.marks = marks
            self.path = path
        }
    }

    /// Filled contours of grids on one logarithmic colour scale (viridis), with isolines at ten
    /// levels, the marked points and paths; up to three panels a row and a colour bar.
    public static func contours(panels: [ContourPanel], title: String, xLabel: String, yLabel: String, quantity: String) -> String {
        let columns = min(max(panels.count, 1), 3), rows = (panels.count + columns - 1) / columns
        let side = 260, gap = 50, left = 70, top = 50, bar = 90
        let width = left + columns * side + (columns - 1) * gap + bar + 40, height = top + rows * (side + gap) + 30
        let all = panels.flatMap(\.values).filter { $0.isFinite && $0 > 0 }
        let low = log10(all.min() ?? 1e-3), high = max(low + 1e-9, log10(all.max() ?? 1))
        func fraction(_ v: Double) -> Double { v.isFinite && v > 0 ? min(1, max(0, (log10(v) - low) / (high - low))) : 1 }
        let levels = (1...10).map { pow(10, low + (high - low) * Double($0) / 11) }
        var body = "<text x=\"\((width - bar) / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        for (p, panel) in panels.enumerated() {
            let n = panel.size
            guard n >= 2, panel.values.count == n * n else { continue }
            let x0 = left + (p % columns) * (side + gap), y0 = top + (p / columns) * (side + gap)
            let cell = Double(side) / Double(n - 1)
            func px(_ x: Double) -> Double { Double(x0) + (x - panel.xRange.lowerBound) / (panel.xRange.upperBound - panel.xRange.lowerBound) * Double(side) }
            func py(_ y: Double) -> Double { Double(y0 + side) - (y - panel.yRange.lowerBound) / (panel.yRange.upperBound - panel.yRange.lowerBound) * Double(side) }
            // Cells centred on the grid points, clipped to the panel.
            body += "<g clip-path=\"url(#clip\(p))\"><clipPath id=\"clip\(p)\"><rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(side)\" height=\"\(side)\"/></clipPath>\n"
            for j in 0..<n {
                for i in 0..<n {
                    body += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>", Double(x0) + (Double(i) - 0.5) * cell,
                                   Double(y0 + side) - (Double(j) + 0.5) * cell, cell + 0.3, cell + 0.3, viridis(fraction(panel.values[j * n + i])))
                }
            }
            body += "\n"
            // Isolines by marching squares, in grid units.
            for level in levels {
                var segments = ""
                for j in 0..<(n - 1) {
                    for i in 0..<(n - 1) {
                        let corners = [(Double(i), Double(j), panel.values[j * n + i]), (Double(i + 1), Double(j), panel.values[j * n + i + 1]),
                                       (Double(i + 1), Double(j + 1), panel.values[(j + 1) * n + i + 1]), (Double(i), Double(j + 1), panel.values[(j + 1) * n + i])]
                        var crossings: [(Double, Double)] = []
                        for e in 0..<4 {
                            let a = corners[e], b = corners[(e + 1) % 4]
                            guard a.2.isFinite, b.2.isFinite, (a.2 < level) != (b.2 < level) else { continue }
                            let f = (level - a.2) / (b.2 - a.2)
                            crossings.append((a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1)))
                        }
                        var c = 0
                        while c + 1 < crossings.count {
                            segments += String(format: "M%.1f %.1fL%.1f %.1f", Double(x0) + crossings[c].0 * cell, Double(y0 + side) - crossings[c].1 * cell,
                                               Double(x0) + crossings[c + 1].0 * cell, Double(y0 + side) - crossings[c + 1].1 * cell)
                            c += 2
                        }
                    }
                }
                if !segments.isEmpty { body += "<path d=\"\(segments)\" fill=\"none\" stroke=\"white\" stroke-opacity=\"0.7\" stroke-width=\"0.8\"/>\n" }
            }
            if panel.path.count > 1 {
                body += "<polyline points=\"\(panel.path.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " "))\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n"
            }
            body += "</g>\n"
            for mark in panel.marks {
                body += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"white\" stroke=\"black\"/>", px(mark.x), py(mark.y))
                if !mark.label.isEmpty {
                    body += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"black\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">%@</text>",
                                   px(mark.x) + 6, py(mark.y) - 6, escape(mark.label))
                }
            }
            body += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(side)\" height=\"\(side)\" fill=\"none\" stroke=\"black\"/>\n"
            body += "<text x=\"\(x0 + side / 2)\" y=\"\(y0 - 6)\" text-anchor=\"middle\">\(escape(panel.title))</text>\n"
            for tick in ticks(panel.xRange.lowerBound, panel.xRange.upperBound, count: 4) {
                body += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%@</text>", px(tick), y0 + side + 13, format(tick))
            }
            for tick in ticks(panel.yRange.lowerBound, panel.yRange.upperBound, count: 4) {
                body += String(format: "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%@</text>", x0 - 4, py(tick) + 3, format(tick))
            }
            body += "\n"
        }
        // The colour bar.
        let barX = width - bar - 10, barHeight = min(260, height - top - 40)
        for k in 0..<50 {
            body += String(format: "<rect x=\"%d\" y=\"%.1f\" width=\"18\" height=\"%.1f\" fill=\"%@\"/>", barX, Double(top + barHeight) - Double(k + 1) * Double(barHeight) / 50, Double(barHeight) / 50 + 0.3, viridis(Double(k) / 49))
        }
        for tick in ticks(low, high, count: 5) {
            let y = Double(top + barHeight) - (tick - low) / (high - low) * Double(barHeight)
            body += String(format: "<text x=\"%d\" y=\"%.1f\" font-size=\"10\">%@</text>", barX + 22, y + 3, format(pow(10, tick)))
        }
        body += "<text x=\"\(barX)\" y=\"\(top - 8)\" font-size=\"11\">\(escape(quantity))</text>\n"
        body += "<text x=\"\((width - bar) / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        body += verticalLabel(yLabel, x: 16, y: top + rows * (side + gap) / 2)
        return document(width: width, height: height, title: title, body: body)
    }

    /// The viridis colour map at `f` ∈ [0, 1] (piecewise linear through nine of its colours).
    static func viridis(_ f: Double) -> String {
        let stops: [(Double, Double, Double)] = [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                                                 (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]
        let x = min(1, max(0, f)) * Double(stops.count - 1)
        let k = min(Int(x), stops.count - 2), t = x - Double(k)
        let a = stops[k], b = stops[k + 1]
        return String(format: "#%02x%02x%02x", Int(a.0 + t * (b.0 - a.0)), Int(a.1 + t * (b.1 - a.1)), Int(a.2 + t * (b.2 - a.2)))
    }
}
