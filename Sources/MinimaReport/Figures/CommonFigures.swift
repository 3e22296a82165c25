import Foundation

/// The figures every kind's report has: the distribution of the primary metric per sweep point
/// (overlaid, and stacked), and its spread against size — with the spread test and the summary
/// table on the page before them.
enum CommonFigures {
    static let all: [Figure] = [distributions, histograms, spread]

    static func primaryValues(_ input: FigureInput) -> [[Double]] {
        input.completedRows.map { $0.compactMap { input.kind.primary($0) } }
    }

    static let distributions = Figure(
        file: "distributions.svg",
        draw: { input in
            let report = input.report
            return SVGFigures.overlaid(labels: input.labels, values: primaryValues(input), bins: report.bins, quantity: report.primaryQuantity,
                                       title: "\(report.experiment): distribution of the \(report.primaryQuantity) per \(report.subject)", markers: input.kind.markers(report))
        },
        caption: { input in
            let report = input.report, markers = !input.kind.markers(report).isEmpty
            return "The \(SVGFigures.escape(report.primaryQuantity)) of every \(report.subject), one colour per size, as densities on shared bins: the band moves and narrows as the \(input.kind.subjects) grow\(markers ? "; the dashed lines are the ground state and the threshold of the theory" : "")."
        },
        before: { input in
            "<h2>Does the band of \(input.kind.bandNoun) narrow as the \(input.kind.subjects) grow?</h2>\n" + HTMLReport.spreadText(input) + "\n"
        })

    static let histograms = Figure(
        file: "histograms.svg",
        draw: { input in
            let report = input.report
            return SVGFigures.histograms(labels: input.labels, values: primaryValues(input), bins: report.bins, quantity: report.primaryQuantity,
                                         title: "\(report.experiment): \(report.primaryQuantity) of \(report.restarts) random restarts per \(report.subject)",
                                         markers: input.kind.markers(report), zoom: true)
        },
        caption: { _ in "The same values stacked per size on shared bins (left) and each on its own range (right), so that the narrow bands of the largest sizes are more than one bar wide." })

    static let spread = Figure(
        file: "spread.svg",
        draw: { input in
            let report = input.report
            return SVGFigures.spread(labels: input.labels, parameters: report.points.map(\.parameters),
                                     deviations: report.points.map { $0.metrics[report.primaryMetric]?.standardDeviation ?? .nan },
                                     ranges: report.points.map { p in p.metrics[report.primaryMetric].map { $0.p75 - $0.p25 } ?? .nan },
                                     title: "\(report.experiment): spread of \(report.primaryQuantity) against size",
                                     xLabel: "\(input.kind.sizeName) (log scale)", yLabel: "spread of \(report.primaryQuantity)")
        },
        caption: { input in "The spread (standard deviation and interquartile range) of the \(SVGFigures.escape(input.report.primaryQuantity)) against size, on a log scale: it falls where the band narrows." },
        before: { input in HTMLReport.summaryTable(input) + "\n" })
}
