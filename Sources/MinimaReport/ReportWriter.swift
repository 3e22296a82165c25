import Foundation
import MinimaData
import MinimaExperiment
import MinimaLedger

/// Writes the report files of an experiment into a directory.
public enum ReportWriter {
    /// The files written, in the order of the page.
    public struct Files: Sendable {
        public var summary: String
        public var trials: String
        public var html: String
        /// The SVG figures that had something to draw, in ``Figure`` order.
        public var figures: [String]
        /// The numbers behind figures that export them (`.npz`), in the same order.
        public var data: [String] = []
        /// The kind's long-format tables that have rows (`curves.csv`, …; ``LongTable``).
        public var tables: [String] = []
    }

    /// A report written from a ledger: what was written, and what the terminal shows.
    public struct Written: Sendable {
        public var report: ExperimentReport
        public var rows: [TrialRow]
        public var spec: ExperimentSpec
        public var files: Files
        /// The report for a terminal.
        public var terminal: String { TerminalReport.render(report: report, rows: rows, spec: spec) }
    }

    /// Regenerates everything from a ledger (also while the run is going).
    @discardableResult
    public static func write(ledgerPath: String, to directory: String) throws -> Written {
        let ledger = try Ledger(existingAt: ledgerPath)
        let stored: StoredSpec
        do throws(ExperimentLoadError) { stored = try StoredSpec.decode(ledgerSpecJSON: ledger.experiment.specJSON) } catch {
            throw LedgerError(path: ledgerPath, problem: "nothing to report: \(error.description)")
        }
        var (report, rows) = ExperimentReport.build(stored: stored, specSHA256: ledger.experiment.specSHA256, records: try ledger.allRecords())
        report.quarantinedWorkers = try ledger.quarantinedWorkers().map { ExperimentReport.QuarantinedWorker(worker: $0.worker, reason: $0.reason) }
        report.disputedResults = try ledger.disputedResultCount()
        return Written(report: report, rows: rows, spec: stored.spec, files: try write(report: report, rows: rows, spec: stored.spec, to: directory))
    }

    public static func write(report: ExperimentReport, rows: [TrialRow], spec: ExperimentSpec, to directory: String) throws -> Files {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let input = FigureInput(report: report, rows: rows, spec: spec, kind: ReportKinds.kind(of: spec))
        let drawn = draw(input)
        var files = Files(summary: path("summary.json"), trials: path("trials.csv"), html: path("report.html"), figures: [])
        try encoder.encode(report).write(to: URL(fileURLWithPath: files.summary), options: .atomic)
        try TrialsCSV.render(rows: rows, spec: spec).write(toFile: files.trials, atomically: true, encoding: .utf8)
        for table in input.kind.tables(spec: spec) {
            guard let text = table.render(rows) else { continue }
            try text.write(toFile: path(table.file), atomically: true, encoding: .utf8)
            files.tables.append(path(table.file))
        }
        for figure in drawn {
            try figure.svg.write(toFile: path(figure.file), atomically: true, encoding: .utf8)
            files.figures.append(path(figure.file))
            if let arrays = figure.figure.data?(input) {
                let name = path(String(figure.file.dropLast(".svg".count)) + ".npz")
                try NumPyArchive.write(arrays, to: name)
                files.data.append(name)
            }
        }
        try HTMLReport.render(input, figures: drawn).write(toFile: files.html, atomically: true, encoding: .utf8)
        return files
    }

    /// Every figure of the report's kind that has something to draw.
    public static func draw(_ input: FigureInput) -> [DrawnFigure] {
        Figure.all(for: input.kind).compactMap { figure in figure.draw(input).map { DrawnFigure(figure: figure, svg: $0) } }
    }
}

/// Several runs' reports side by side: each run's own report in its subdirectory, and one page
/// with their histograms next to each other (Choromanska et al. 2015, Fig. 2: the spin glass's
/// energies beside the networks' losses).
public enum CombinedReport {
    /// Returns the path of `combined.html`.
    public static func write(ledgerPaths: [String], to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var columns: [String] = []
        var used = Set<String>()
        for ledger in ledgerPaths {
            let probe = try Ledger(existingAt: ledger)
            var name = probe.experiment.name
            // The name comes from a file someone else may have written: it must stay a name.
            if let problem = ExperimentName.problem(name) {
                throw LedgerError(path: ledger, problem: "its experiment name cannot name a directory: \(problem)")
            }
            while used.contains(name) { name += "-2" }
            used.insert(name)
            let report = try ReportWriter.write(ledgerPath: ledger, to: directory + "/" + name).report
            let figures = try String(contentsOfFile: directory + "/" + name + "/distributions.svg", encoding: .utf8)
            let spread = report.spread.map {
                String(format: "std %.4f (%@) → %.4f (%@); Brown–Forsythe p = %.3g", $0.smallestStandardDeviation, $0.smallest, $0.largestStandardDeviation, $0.largest, $0.brownForsytheP)
            } ?? "not enough completed trials for a test of spread"
            columns.append("""
                <div class="run"><h2>\(SVGFigures.escape(report.experiment))</h2>
                <p>\(report.done) of \(report.trials) trials; \(SVGFigures.escape(report.primaryQuantity)) per \(report.subject). \(SVGFigures.escape(spread)).
                <a href="\(SVGFigures.escape(name))/report.html">Full report</a>.</p>
                <figure>\(figures)</figure></div>
                """)
        }
        let html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Minima — side by side</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
            .runs { display: flex; flex-wrap: wrap; gap: 1.5em; } .run { flex: 1 1 560px; min-width: 0; }
            .run svg { max-width: 100%; height: auto; } figure { margin: 0; }
            </style></head><body>
            <h1>Side by side</h1>
            <p>Each run's distribution of final values over random restarts, per size, on its own shared bins.</p>
            <div class="runs">
            \(columns.joined(separator: "\n"))
            </div></body></html>

            """
        let path = directory + "/combined.html"
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
