import Foundation
import MinimaReport
import Testing

@Suite("The overlaid distribution figure")
struct DistributionFigureTests {
    /// Every y coordinate of the figure's histogram lines (polyline points).
    static func histogramYs(_ svg: String) -> [Double] {
        svg.components(separatedBy: "<polyline points=\"").dropFirst().flatMap { line in
            line.prefix { $0 != "\"" }.split(separator: " ").compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
        }
    }

    @Test func theNarrowestBandStaysInsideTheFrameWithADensityScale() throws {
        // A wide band and two very narrow ones (the shape of n1 = 5 against n1 = 50 and 100).
        let wide = (0..<100).map { 0.3 + 0.3 * Double($0) / 100 }
        let narrow = (0..<100).map { 0.25 + 0.001 * Double($0 % 3) }
        let narrowest = [Double](repeating: 0.2501, count: 100)
        let svg = SVGFigures.overlaid(labels: ["wide", "narrow", "narrowest"], values: [wide, narrow, narrowest], bins: 30, quantity: "loss", title: "t")
        let frameTop = 50.0
        let highest = try #require(Self.histogramYs(svg).min())
        #expect(highest > frameTop + 5, "the tallest histogram reaches y = \(highest), the frame's top is \(frameTop)")
        // The y axis has labelled ticks (right-aligned numbers left of the frame), 0 among them.
        let tickLabels = svg.components(separatedBy: "text-anchor=\"end\">").dropFirst().map { $0.prefix { $0 != "<" } }
        #expect(tickLabels.count >= 3)
        #expect(tickLabels.first == "0")
        // No histogram starts on the frame's left edge: the axis has room before the lowest value.
        for line in svg.components(separatedBy: "<polyline points=\"").dropFirst() {
            let points = line.prefix { $0 != "\"" }.split(separator: " ").map { $0.split(separator: ",").compactMap { Double($0) } }
            if let rising = points.first(where: { $0[1] < 360 }) { #expect(rising[0] > 70, "a histogram rises at the frame's left edge") }
            // Steps only: every segment is horizontal or vertical (no diagonal from the frame's edge).
            for (a, b) in zip(points, points.dropFirst()) { #expect(a[0] == b[0] || a[1] == b[1], "a slanted segment \(a) → \(b)") }
        }
    }

    @Test func densityAxisTopIsANiceNumberAboveThePeak() {
        for peak in [0.3, 1, 7.3, 64, 99.9, 1234.5] {
            let axis = SVGFigures.densityAxis([peak / 2, peak])
            #expect(axis.top >= peak * 1.05 && axis.top <= peak * 2.5, "peak \(peak) → top \(axis.top)")
            #expect(axis.ticks.first == 0 && axis.ticks.last == axis.top)
        }
        #expect(SVGFigures.densityAxis([]).top == 1)
    }
}
