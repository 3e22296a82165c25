import Foundation
import MinimaExperiment

/// A single HTML page with the summary table, the spread test and the figures inline: it opens
/// offline and refers to nothing outside itself.
public enum HTMLReport {
    static func format(_ value: Double?, digits: Int = 4) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    /// The spread test's paragraphs (before the first figure).
    static func spreadText(_ input: FigureInput) -> String {
        let e = SVGFigures.escape, report = input.report
        guard let s = report.spread else { return "<p>Not enough completed trials for a test of spread yet.</p>" }
        return """
        <p>Standard deviation of the \(e(report.primaryQuantity)): \(format(s.smallestStandardDeviation)) for \(e(s.smallest)), \(format(s.largestStandardDeviation)) for \(e(s.largest)).
        Brown–Forsythe test of equal spread between them: F = \(format(s.brownForsytheF, digits: 2)), p = \(String(format: "%.3g", s.brownForsytheP)).
        Across all sizes: F = \(format(s.allPointsF, digits: 2)), p = \(s.allPointsP.map { String(format: "%.3g", $0) } ?? "–").
        Spearman rank correlation of spread with parameter count: ρ = \(format(s.spearmanRho, digits: 2)) (p = \(s.spearmanP.map { String(format: "%.3g", $0) } ?? "–")).</p>
        <p class="verdict">\(s.narrows ? "The spread narrows as the \(input.kind.subjects) grow." : "No significant narrowing of the spread (yet).")</p>
        \(input.kind.spreadNote(report))
        """
    }

    /// The summary table of the primary metric per sweep point.
    static func summaryTable(_ input: FigureInput) -> String {
        let e = SVGFigures.escape, report = input.report, kind = input.kind
        var rows = ""
        for p in report.points {
            let value = p.metrics[report.primaryMetric]
            let kindCells: String = kind.summaryColumns.map { column -> String in "<td>" + format(column.value(p)) + "</td>" }.joined()
            let percentiles: [String] = [value?.mean, value?.standardDeviation, value?.minimum, value?.p5].map { format($0) }
            let upper: [String] = [value?.p25, value?.median, value?.p75, value?.p95, value?.maximum].map { format($0) }
            rows += """
            <tr><td>\(e(p.label))</td><td>\(p.parameters)</td><td>\(p.completed)</td><td>\(p.diverged)</td><td>\(p.failed)</td><td>\(p.pending)</td>
            <td>\(percentiles[0])</td><td>\(percentiles[1])</td><td>\(percentiles[2])</td><td>\(percentiles[3])</td>
            <td>\(upper[0])</td><td>\(upper[1])</td><td>\(upper[2])</td><td>\(upper[3])</td><td>\(upper[4])</td>
            \(kindCells)<td>\(format(p.trainTestLossCorrelation, digits: 3))</td>
            <td>\(format(p.withinEpsilonOfBest.map { $0 * 100 }, digits: 1))%</td></tr>

            """
        }
        return """
        <h2>Summary of the \(e(report.primaryQuantity))</h2>
        <div class="scroll"><table><tr><th>\(report.subject)</th><th>\(kind.sizeName)</th><th>completed</th><th>diverged</th><th>failed</th><th>pending</th><th>mean</th><th>std</th><th>min</th><th>p5</th><th>p25</th><th>median</th><th>p75</th><th>p95</th><th>max</th>\(kind.summaryColumns.map { "<th>\($0.header)</th>" }.joined())<th>corr(train, test)</th><th>within ε=\(report.epsilon) of best</th></tr>
        \(rows)</table></div>
        """
    }

    /// The page's style sheet (also the live page's).
    static let styles = """
        body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        table { border-collapse: collapse; font-size: 13px; } th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
        .scroll { max-width: 100%; overflow-x: auto; } svg { max-width: 100%; height: auto; }
        figcaption { color: #444; font-size: 13px; max-width: 760px; }
        th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
        .verdict { font-weight: bold; } figure { margin: 1.5em 0; } .meta { color: #666; font-size: 13px; }
        """

    /// Every drawn figure in order with the HTML around it (the page's body after its header).
    static func figuresHTML(_ input: FigureInput, figures: [DrawnFigure]) -> String {
        figures.map { drawn in
            drawn.figure.before(input) + "<figure>\(drawn.svg)<figcaption>\(drawn.figure.caption(input))</figcaption></figure>\n" + drawn.figure.after(input)
        }.joined()
    }

    /// The page: the header, then every drawn figure in order with the HTML around it.
    public static func render(_ input: FigureInput, figures: [DrawnFigure]) -> String {
        let e = SVGFigures.escape, report = input.report
        let body = figuresHTML(input, figures: figures)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(e(report.experiment)) — Minima report</title>
        <style>
        \(styles)
        </style></head><body>
        <h1>\(e(report.experiment))</h1>
        <p class="meta">\(report.trials) trials (\(report.restarts) random restarts per \(report.subject)): \(report.done) done, \(report.failed) failed, \(report.pending) pending.
        Dataset \(e(report.dataset)) (SHA-256 \(report.datasetSHA256.prefix(16))…); spec SHA-256 \(report.specSHA256.prefix(16))…; generated \(report.generatedAt).</p>
        \(report.quarantinedWorkers.isEmpty ? "" : "<p class=\"verdict\">Verification quarantined " + report.quarantinedWorkers.map { "\(e($0.worker)) (\(e($0.reason)))" }.joined(separator: "; ") + ": their \(report.disputedResults) results were taken back and the trials run again on other workers.</p>")
        \(body)<p class="meta">Made by Minima. Choromanska, Henaff, Mathieu, Ben Arous, LeCun: The Loss Surfaces of Multilayer Networks (AISTATS 2015).</p>
        </body></html>

        """
    }
}

/// The report for a terminal: a histogram per network in block characters, the summary table
/// and the verdict.
public enum TerminalReport {
    static let blocks: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }

    public static func render(report: ExperimentReport, rows: [TrialRow], spec: ExperimentSpec, width: Int = 60) -> String {
        let kind = ReportKinds.kind(of: spec)
        let values = report.points.map { point in rows.filter { $0.point == point.index && $0.isCompleted }.compactMap { kind.primary($0) } }
        let bins = max(10, min(width, 60))
        let (low, high, counts) = SVGFigures.sharedBins(values, bins: bins)
        let labelWidth = max(12, report.points.map(\.label.count).max() ?? 12)
        var out = "\(report.experiment): \(report.primaryQuantity), \(report.restarts) restarts per \(report.subject) (shared bins \(HTMLReport.format(low)) … \(HTMLReport.format(high)))\n"
        for (i, point) in report.points.enumerated() {
            let peak = max(1, counts[i].max() ?? 1)
            let bars = String(counts[i].map { count in blocks[count == 0 ? 0 : max(1, Int((Double(count) / Double(peak) * 8).rounded()))] })
            out += "\(pad(point.label, labelWidth)) │\(bars)│ \(values[i].count) runs\n"
        }
        out += "\n" + kind.terminalHeader(labelWidth: labelWidth)
        for point in report.points {
            let loss = point.metrics[report.primaryMetric]
            out += pad(point.label, labelWidth) + "  " + pad("\(point.completed)", 4)
            for value in [loss?.mean, loss?.standardDeviation, loss?.minimum, loss?.p5, loss?.median, loss?.p95, loss?.maximum] {
                out += " " + pad(HTMLReport.format(value), 8)
            }
            out += kind.terminalColumns(point)
        }
        if let s = report.spread {
            out += "\nspread of \(kind.shortQuantity): std \(HTMLReport.format(s.smallestStandardDeviation)) (\(s.smallest)) → \(HTMLReport.format(s.largestStandardDeviation)) (\(s.largest)); "
            out += "Brown–Forsythe p = \(String(format: "%.3g", s.brownForsytheP)); Spearman ρ(spread, size) = \(HTMLReport.format(s.spearmanRho, digits: 2))\n"
            out += s.narrows ? "→ the band of \(kind.bandNoun) narrows as the \(kind.subjects) grow.\n" : "→ no significant narrowing (yet).\n"
        }
        out += kind.terminalNotes(report, labelWidth: labelWidth)
        for quarantined in report.quarantinedWorkers {
            out += "verification quarantined worker \(quarantined.worker): \(quarantined.reason)\n"
        }
        if !report.quarantinedWorkers.isEmpty { out += "\(report.disputedResults) results taken back and run again on other workers\n" }
        return out
    }
}
