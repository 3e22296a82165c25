import Foundation
import MinimaExperiment
import MinimaLedger

/// Writes the report files of an experiment into a directory.
public enum ReportWriter {
    public struct Files: Sendable {
        public var summary: String
        public var trials: String
        public var distributions: String
        public var histograms: String
        public var spread: String
        public var scatter: String
        public var html: String
        /// The probe figures (nil without probes): index against loss, spectral densities,
        /// extreme eigenvalues, barrier heights.
        public var probeFigures: [String]?
        /// Critical points, learning curves and learning times, when the spec asks for them.
        public var dynamicsFigures: [String] = []
    }

    /// Regenerates everything from a ledger (also while the run is going). Returns the report,
    /// its trial rows (for the terminal rendering) and the files written.
    @discardableResult
    public static func write(ledgerPath: String, to directory: String) throws -> (report: ExperimentReport, rows: [TrialRow], files: Files) {
        let ledger = try Ledger(existingAt: ledgerPath)
        let decoder = JSONDecoder()
        guard let stored = try? decoder.decode(StoredSpec.self, from: Data(ledger.experiment.specJSON.utf8)) else {
            throw LedgerError(path: ledgerPath, problem: "this ledger was not made by minima run (its spec is not an experiment spec), so there is no sweep to report")
        }
        var (report, rows) = ExperimentReport.build(stored: stored, specSHA256: ledger.experiment.specSHA256, records: try ledger.allRecords())
        report.quarantinedWorkers = try ledger.quarantinedWorkers().map { ExperimentReport.QuarantinedWorker(worker: $0.worker, reason: $0.reason) }
        report.disputedResults = try ledger.disputedResultCount()
        return (report, rows, try write(report: report, rows: rows, spec: stored.spec, to: directory))
    }

    public static func write(report: ExperimentReport, rows: [TrialRow], spec: ExperimentSpec, to directory: String) throws -> Files {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let figures = Figures(report: report, rows: rows, spec: spec)
        let files = Files(summary: path("summary.json"), trials: path("trials.csv"), distributions: path("distributions.svg"), histograms: path("histograms.svg"),
                          spread: path("spread.svg"), scatter: path("scatter.svg"), html: path("report.html"))
        try encoder.encode(report).write(to: URL(fileURLWithPath: files.summary), options: .atomic)
        try TrialsCSV.render(rows: rows, spec: spec).write(toFile: files.trials, atomically: true, encoding: .utf8)
        try figures.distributions.write(toFile: files.distributions, atomically: true, encoding: .utf8)
        try figures.histograms.write(toFile: files.histograms, atomically: true, encoding: .utf8)
        try figures.spread.write(toFile: files.spread, atomically: true, encoding: .utf8)
        try figures.scatter.write(toFile: files.scatter, atomically: true, encoding: .utf8)
        var written = files
        if let probes = figures.probes {
            let named = [("index.svg", probes.index), ("spectra.svg", probes.spectra), ("eigenvalues.svg", probes.eigenvalues), ("barriers.svg", probes.barriers)]
            for (name, svg) in named { try svg.write(toFile: path(name), atomically: true, encoding: .utf8) }
            written.probeFigures = named.map { path($0.0) }
        }
        let dynamics = [("criticalpoints.svg", figures.criticalPoints), ("curves.svg", figures.curves), ("learning-time.svg", figures.learningTime)]
        for case (let name, let svg?) in dynamics {
            try svg.write(toFile: path(name), atomically: true, encoding: .utf8)
            written.dynamicsFigures.append(path(name))
        }
        try HTMLReport.render(report: report, figures: figures).write(toFile: files.html, atomically: true, encoding: .utf8)
        return written
    }
}

/// The figures of a report.
public struct Figures: Sendable {
    /// The main figure: every point's distribution overlaid on one axis.
    public var distributions: String
    public var histograms: String
    public var spread: String
    public var scatter: String
    public var probes: ProbeFigures?
    /// Training error against index of the Newton searches' end points (Dauphin et al. 2014, Fig. 1).
    public var criticalPoints: String?
    /// Learning curves, median and quartiles per sweep point.
    public var curves: String?
    /// Epochs to the target loss against depth (Saxe et al. 2014).
    public var learningTime: String?

    /// The figures of the end-point probes.
    public struct ProbeFigures: Sendable {
        public var index: String
        public var spectra: String
        public var eigenvalues: String
        public var barriers: String
    }

    public init(report: ExperimentReport, rows: [TrialRow], spec: ExperimentSpec? = nil) {
        self.init(report: report, rows: rows)
        guard let spec else { return }
        criticalPoints = DynamicsReport.criticalPointFigure(spec: spec, rows: rows, title: "\(report.experiment): training error against index of the points Newton's method found")
        curves = DynamicsReport.curveFigure(spec: spec, rows: rows, title: "\(report.experiment): learning curves (median and quartiles over restarts)")
        if let times = report.learningTimes {
            learningTime = DynamicsReport.learningTimeFigure(points: times, maximumEpochs: spec.stopping.epochs.max() ?? 1,
                                                             title: "\(report.experiment): epochs to reach training loss \(report.targetLoss.map { SVGFigures.format($0) } ?? "") against depth")
        }
    }

    public init(report: ExperimentReport, rows: [TrialRow]) {
        let labels = report.points.map(\.label)
        let completedRows = report.points.map { point in rows.filter { $0.point == point.index && $0.isCompleted } }
        let completed = completedRows.map { $0.compactMap(\.result) }
        let isSpinGlass = report.primaryMetric == "energy"
        let primary = completedRows.map { $0.compactMap { isSpinGlass ? $0.spinGlass?.energy : $0.result?.test.loss } }
        var markers: [(value: Double, label: String)] = []
        if let band = report.spinGlassBand {
            if let ground = band.groundState, abs(ground - band.threshold) > 1e-9 { markers.append((ground, String(format: "ground state −E₀ ≈ %.3f", ground))) }
            markers.append((band.threshold, String(format: "threshold −E∞ = %.3f", band.threshold)))
        }
        distributions = SVGFigures.overlaid(labels: labels, values: primary, bins: report.bins, quantity: report.primaryQuantity,
                                            title: "\(report.experiment): distribution of the \(report.primaryQuantity) per \(report.subject)", markers: markers)
        histograms = SVGFigures.histograms(labels: labels, values: primary, bins: report.bins, quantity: report.primaryQuantity,
                                           title: "\(report.experiment): \(report.primaryQuantity) of \(report.restarts) random restarts per \(report.subject)",
                                           markers: markers, zoom: true)
        spread = SVGFigures.spread(labels: labels, parameters: report.points.map(\.parameters),
                                   deviations: report.points.map { $0.metrics[report.primaryMetric]?.standardDeviation ?? .nan },
                                   ranges: report.points.map { p in p.metrics[report.primaryMetric].map { $0.p75 - $0.p25 } ?? .nan },
                                   title: "\(report.experiment): spread of \(report.primaryQuantity) against size",
                                   xLabel: isSpinGlass ? "spins Λ (log scale)" : "parameters (log scale)", yLabel: "spread of \(report.primaryQuantity)")
        scatter = isSpinGlass
            ? SVGFigures.scatter(labels: labels, pairs: completedRows.map { $0.compactMap { row in row.spinGlass.map { ($0.energy, log10(max($0.gradientNorm, 1e-300))) } } },
                                 title: "\(report.experiment): final energy against the gradient's norm", xLabel: "final energy H(w)/Λ", yLabel: "log₁₀ ‖Riemannian gradient‖")
            : SVGFigures.scatter(labels: labels, pairs: completed.map { $0.map { ($0.train.loss, $0.test.loss) } },
                                 title: "\(report.experiment): final train against test loss")
        guard completed.contains(where: { $0.contains { $0.probes != nil } }) else { return }
        let hessians = completed.map { $0.compactMap { result in result.probes?.hessian.map { (result, $0) } } }
        let index = SVGFigures.indexAgainstLoss(labels: labels, pairs: hessians.map { $0.compactMap { pair in pair.1.index.map { ($0.value, pair.0.train.loss) } } },
                                                title: "\(report.experiment): index of the end points against training loss")
        let spectra = SVGFigures.spectralDensities(labels: labels, densities: hessians.map { $0.compactMap(\.1.density) },
                                                   title: "\(report.experiment): Hessian spectral density at the end points")
        let eigenvalues = SVGFigures.histograms(
            labels: labels, values: hessians.map { $0.map { $0.1.lambdaMin / abs($0.1.lambdaMax) } }, bins: report.bins,
            quantity: "λmin / λmax (a minimum has λmin/λmax ≥ −tolerance)", title: "\(report.experiment): smallest over largest Hessian eigenvalue per end point")
        let barrierLabels = labels.flatMap { ["\($0): init → end", "\($0): restart ↔ restart"] }
        let barriers = SVGFigures.histograms(
            labels: barrierLabels,
            values: completed.flatMap { group in [group.compactMap { $0.probes?.paths?.initToEnd?.barrier }, group.compactMap { $0.probes?.paths?.toPartner?.profile.barrier }] },
            bins: report.bins, quantity: "barrier: max loss on the line − mean of its ends",
            title: "\(report.experiment): loss barriers along straight lines")
        probes = ProbeFigures(index: index, spectra: spectra, eigenvalues: eigenvalues, barriers: barriers)
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
            while used.contains(name) { name += "-2" }
            used.insert(name)
            let (report, _, _) = try ReportWriter.write(ledgerPath: ledger, to: directory + "/" + name)
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
