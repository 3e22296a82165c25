import MinimaCore
import MinimaData
import MinimaExperiment

/// The report of the listed probes (``ProbeMethods``), read from their declarations: a column per
/// declared value (`slice_rise`), its summary per sweep point (summary.json, the terminal and the
/// page's table), and a figure per declared profile (median and quartiles over the restarts, one
/// line per sweep point). Nothing here names a probe: a new probe gets all of this from its
/// `ProbeInfo`.
enum ListedProbeReport {
    /// The listed probes the spec asks for, in the list's order.
    static func requested(_ spec: ExperimentSpec) -> [ProbeInfo] {
        guard let asked = spec.probes?.registered else { return [] }
        return ProbeMethods.infos.filter { asked[$0.name] != nil }
    }

    static func columnName(_ probe: ProbeInfo, _ value: ProbeOutput) -> String { "\(probe.name)_\(value.name)" }

    static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        requested(spec).flatMap { probe in
            probe.values.map { value in
                ReportColumn(columnName(probe, value)) { row, _ in ReportColumn.number(row.result?.probes?.registered?[probe.name]?.values[value.name]) }
            }
        }
    }

    /// Per probe, per value: the summary over a sweep point's completed end points (nil: none measured).
    static func summaries(_ results: [TrialResult]) -> [String: [String: Summary]]? {
        var summaries: [String: [String: Summary]] = [:]
        for probe in ProbeMethods.infos {
            let measured = results.compactMap { $0.probes?.registered?[probe.name] }
            guard !measured.isEmpty else { continue }
            var values: [String: Summary] = [:]
            for value in probe.values { values[value.name] = Statistics.summarize(measured.compactMap { $0.values[value.name] }) }
            summaries[probe.name] = values
        }
        return summaries.isEmpty ? nil : summaries
    }

    static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        let pad = TerminalReport.pad
        var out = ""
        for probe in ProbeMethods.infos where report.points.contains(where: { $0.listedProbes?[probe.name] != nil }) {
            out += "\n\(probe.name): \(probe.summary) (medians)\n"
            out += pad("network", labelWidth) + probe.values.map { " " + pad(columnName(probe, $0), 12) }.joined() + "\n"
            for point in report.points {
                guard let values = point.listedProbes?[probe.name] else { continue }
                out += pad(point.label, labelWidth) + probe.values.map { " " + pad(HTMLReport.format(values[$0.name]?.median), 12) }.joined() + "\n"
            }
        }
        return out
    }

    /// A figure per declared profile of every listed probe (drawn when the run measured it).
    static var figures: [Figure] {
        ProbeMethods.infos.flatMap { probe in
            probe.series.enumerated().map { s, series -> Figure in
                var data: (@Sendable (FigureInput) -> [NumPyArchive.Array]?)?
                if series.isGrid { data = { input in gridData(input, probe: probe, series: series) } }
                return Figure(
                    file: "\(probe.name)-\(series.name).svg",
                    draw: { input in series.isGrid ? gridFigure(input, probe: probe, series: series) : profileFigure(input, probe: probe, series: series) },
                    caption: { _ in series.isGrid
                        ? "\(series.summary): the median over the restarts of each grid point, one panel per sweep point (colours: a logarithmic scale shared by the panels; white lines: ten levels of it; the dot: the end point)."
                        : "\(series.summary): median over the restarts (band: quartiles) per sweep point." },
                    before: { input in s == 0 ? section(input, probe: probe) : "" },
                    data: data)
            }
        }
    }

    static func profileFigure(_ input: FigureInput, probe: ProbeInfo, series: ProbeSeries) -> String? {
        guard let settings = input.spec.probes?.registered?[probe.name] else { return nil }
        var bands: [SVGFigures.Band] = []
        for (label, rows) in zip(input.labels, input.completedRows) {
            let profiles = rows.compactMap { $0.result?.probes?.registered?[probe.name]?.series[series.name] }.filter { !$0.isEmpty }
            guard !profiles.isEmpty else { continue }
            bands.append(SVGFigures.Band(label: label, profiles: profiles) ?? SVGFigures.Band(label: label, median: [], low: [], high: []))
        }
        guard !bands.isEmpty else { return nil }
        return SVGFigures.bands(panels: [("", bands)], title: "\(input.report.experiment): \(series.summary)", xLabel: series.xLabel,
                                yLabel: "\(series.yLabel) (log scale)", xRange: series.xRange(settings))
    }

    /// A grid series: per sweep point, the median over the restarts of each grid point, as contours.
    static func gridFigure(_ input: FigureInput, probe: ProbeInfo, series: ProbeSeries) -> String? {
        guard let settings = input.spec.probes?.registered?[probe.name] else { return nil }
        let range = series.xRange(settings)
        var panels: [SVGFigures.ContourPanel] = []
        for (label, rows) in zip(input.labels, input.completedRows) {
            let grids = rows.compactMap { $0.result?.probes?.registered?[probe.name]?.series[series.name] }
            guard let count = grids.first?.count, count > 0, grids.allSatisfy({ $0.count == count }) else { continue }
            let size = Int(Double(count).squareRoot().rounded())
            guard size * size == count else { continue }
            let median = (0..<count).map { k -> Double in
                let values = grids.map { $0[k] }.filter(\.isFinite).sorted()
                return values.isEmpty ? .nan : Statistics.percentile(values, 50)
            }
            panels.append(.init(title: label, values: median, size: size, xRange: range, yRange: range, marks: [(0, 0, "")]))
        }
        guard !panels.isEmpty else { return nil }
        return SVGFigures.contours(panels: panels, title: "\(input.report.experiment): \(series.summary)", xLabel: series.xLabel, yLabel: series.xLabel,
                                   quantity: "\(series.yLabel) (log)")
    }

    /// Every trial's grid: `grids` (trials × n × n, float32, row by row with the second coordinate
    /// outer), `trials` and `points` (each grid's trial index and sweep point), `axis` (the n
    /// coordinates of both axes).
    static func gridData(_ input: FigureInput, probe: ProbeInfo, series: ProbeSeries) -> [NumPyArchive.Array]? {
        guard let settings = input.spec.probes?.registered?[probe.name] else { return nil }
        let measured = input.rows.compactMap { row in row.result?.probes?.registered?[probe.name]?.series[series.name].map { (row, $0) } }
        guard let count = measured.first?.1.count, count > 0 else { return nil }
        let size = Int(Double(count).squareRoot().rounded())
        let kept = measured.filter { $0.1.count == size * size }
        guard size * size == count, !kept.isEmpty else { return nil }
        let range = series.xRange(settings)
        return [
            NumPyArchive.Array(name: "grids", shape: [kept.count, size, size], values: kept.flatMap { $0.1.map(Float.init) }),
            NumPyArchive.Array(name: "trials", shape: [kept.count], values: kept.map { Float($0.0.trial) }),
            NumPyArchive.Array(name: "points", shape: [kept.count], values: kept.map { Float($0.0.point) }),
            NumPyArchive.Array(name: "axis", shape: [size], values: (0..<size).map { Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(size - 1)) }),
        ]
    }

    /// The probe's heading, what it measures and its table of medians per sweep point.
    static func section(_ input: FigureInput, probe: ProbeInfo) -> String {
        let e = SVGFigures.escape, format = HTMLReport.format
        let settings = input.spec.probes?.registered?[probe.name]?.values.sorted { $0.key < $1.key }.map { "\($0.key) = \(SVGFigures.format($0.value))" }.joined(separator: ", ") ?? ""
        var rows = ""
        for point in input.report.points {
            guard let values = point.listedProbes?[probe.name] else { continue }
            rows += "<tr><td>\(e(point.label))</td><td>\(values.values.first?.count ?? 0)</td>"
                + probe.values.map { "<td>\(format(values[$0.name]?.median, 4))</td><td>\(format(values[$0.name]?.p25, 4))–\(format(values[$0.name]?.p75, 4))</td>" }.joined() + "</tr>\n"
        }
        let header = probe.values.map { "<th>\(e(columnName(probe, $0))) median</th><th>quartiles</th>" }.joined()
        let meanings = probe.values.map { "<code>\(e(columnName(probe, $0)))</code>: \(e($0.summary))" }.joined(separator: "; ")
        return """
        <h2>Probe: \(e(probe.name))</h2>
        <p>\(e(probe.summary)) (\(e(settings))). \(meanings).</p>
        <div class="scroll"><table><tr><th>network</th><th>probed</th>\(header)</tr>
        \(rows)</table></div>

        """
    }
}
