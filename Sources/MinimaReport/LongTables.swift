import Foundation
import MinimaCore
import MinimaExperiment

/// A long-format table beside `trials.csv`, for what does not fit one row per trial (learning
/// curves per epoch, spectral densities, path and curve profiles, slices): one row per trial and
/// entry, starting with `trial,point,restart` so that it joins `trials.csv` on `trial`. pandas
/// reads it as it is (`pandas.read_csv`); README "Results as tables" lists every column.
///
/// A kind declares its tables in ``ReportKind/tables(spec:)``; a table is written only when some
/// trial has a row in it.
public struct LongTable: Sendable {
    public struct Column: Sendable {
        public var name: String
        public var meaning: String
        public init(_ name: String, _ meaning: String) {
            self.name = name
            self.meaning = meaning
        }
    }

    /// The file name (`curves.csv`).
    public var file: String
    /// What one row is.
    public var summary: String
    /// The columns after `trial,point,restart`.
    public var columns: [Column]
    /// A trial's rows, each with one value per column (empty: the trial has none).
    public var rows: @Sendable (TrialRow) -> [[String]]

    public init(file: String, summary: String, columns: [Column], rows: @escaping @Sendable (TrialRow) -> [[String]]) {
        self.file = file
        self.summary = summary
        self.columns = columns
        self.rows = rows
    }

    /// The table as CSV, or nil when no trial has a row in it.
    public func render(_ trials: [TrialRow]) -> String? {
        var lines = [(["trial", "point", "restart"] + columns.map(\.name)).joined(separator: ",")]
        for trial in trials {
            let prefix = "\(trial.trial),\(trial.point),\(trial.restart),"
            for row in rows(trial) { lines.append(prefix + row.joined(separator: ",")) }
        }
        return lines.count > 1 ? lines.joined(separator: "\n") + "\n" : nil
    }

    static let number = ReportColumn.number
    static let quote = ReportColumn.quote

    /// The points t = 0, 1/(n−1), …, 1 of a profile of n values, as text.
    static func fractions(_ count: Int) -> [String] {
        (0..<count).map { count > 1 ? "\(Double($0) / Double(count - 1))" : "0.0" }
    }
}

// MARK: - The network kind's tables

extension NetworkReport {
    public static func tables(spec: ExperimentSpec) -> [LongTable] {
        typealias C = LongTable.Column
        let number = LongTable.number
        var tables = [
            LongTable(
                file: "curves.csv", summary: "one row per trial and epoch of its learning curve (specs with `curve:`)",
                columns: [C("epoch", "epochs of the trial's optimizer (0: its start, after any warm start)"),
                          C("train_loss", "mean training loss (with weight decay: the objective)"), C("train_error", "training error rate"),
                          C("test_loss", "mean test loss"), C("test_error", "test error rate"),
                          C("gradient_norm", "‖∇L‖ of the training objective (`curve: {gradient-norm: true}`)"),
                          C("index", "fraction of the Hessian's eigenvalues below −ε·λmax (`curve: {index: …}`)")]) { row in
                guard let curve = row.result?.curve else { return [] }
                return curve.trainingLoss.indices.map { e in
                    ["\(e)", number(curve.trainingLoss[e]), number(curve.trainingError[safe: e]), number(curve.testLoss[safe: e]), number(curve.testError[safe: e]),
                     number(curve.gradientNorm?[safe: e]), number(curve.index?[safe: e])]
                }
            },
            LongTable(
                file: "spectra.csv", summary: "one row per node of the Hessian's spectral density at a trial's end point (stochastic Lanczos quadrature, `probes.hessian.density`)",
                columns: [C("probe_vector", "which random probe vector's quadrature (0-based)"), C("eigenvalue", "a quadrature node"),
                          C("weight", "its weight: the density is (1/probe vectors) Σ weight · δ(λ − eigenvalue)")]) { row in
                guard let density = row.result?.probes?.hessian?.density else { return [] }
                return zip(density.nodes, density.weights).enumerated().flatMap { v, vector in
                    zip(vector.0, vector.1).map { ["\(v)", "\($0)", "\($1)"] }
                }
            },
            LongTable(
                file: "paths.csv", summary: "one row per point of the straight-line probes' loss profiles (`probes.paths`)",
                columns: [C("path", "`init-to-end` (the trial's initial to its final weights) or `to-partner` (its end point to its partner's)"),
                          C("partner", "the partner trial (to-partner only)"), C("t", "position on the line, 0 … 1"), C("loss", "the training objective there")]) { row in
                guard let paths = row.result?.probes?.paths else { return [] }
                var rows: [[String]] = []
                if let line = paths.initToEnd { rows += zip(LongTable.fractions(line.losses.count), line.losses).map { ["init-to-end", "", $0, "\($1)"] } }
                if let partner = paths.toPartner {
                    rows += zip(LongTable.fractions(partner.profile.losses.count), partner.profile.losses).map { ["to-partner", "\(partner.partner)", $0, "\($1)"] }
                }
                return rows
            },
        ]
        let listed = ListedProbeReport.requested(spec)
        if !listed.isEmpty { tables.append(ListedProbeReport.table(spec: spec, probes: listed)) }
        return tables
    }
}

extension ListedProbeReport {
    /// `probe_series.csv`: every declared series of every listed probe, one row per entry.
    static func table(spec: ExperimentSpec, probes: [ProbeInfo]) -> LongTable {
        typealias C = LongTable.Column
        // The coordinates of a series' entries, from the spec's settings of its probe.
        let axes: [String: [String: (x: [Double], isGrid: Bool)]] = Dictionary(uniqueKeysWithValues: probes.map { probe in
            (probe.name, Dictionary(uniqueKeysWithValues: probe.series.map { series in
                let range = spec.probes?.registered?[probe.name].map(series.xRange) ?? 0...1
                return (series.name, (x: [range.lowerBound, range.upperBound], isGrid: series.isGrid))
            }))
        })
        return LongTable(
            file: "probe_series.csv", summary: "one row per entry of a listed probe's series at a trial's end point (slices, spectra's outliers, …)",
            columns: [C("probe", "the probe's name"), C("series", "the series' name (its figure is `<probe>-<series>.svg`)"),
                      C("index", "position in the series (row by row for a grid, the second coordinate outer)"),
                      C("x", "the entry's coordinate (a grid's first coordinate)"), C("y", "a grid's second coordinate (empty for a profile)"),
                      C("value", "the measured value")]) { row in
            guard let measured = row.result?.probes?.registered else { return [] }
            var rows: [[String]] = []
            for probe in probes {
                guard let measurement = measured[probe.name] else { continue }
                for series in probe.series {
                    guard let values = measurement.series[series.name], !values.isEmpty, let axis = axes[probe.name]?[series.name] else { continue }
                    let side = axis.isGrid ? Int(Double(values.count).squareRoot().rounded()) : values.count
                    let grid = axis.isGrid && side * side == values.count
                    func coordinate(_ k: Int) -> String {
                        side > 1 ? "\(axis.x[0] + (axis.x[1] - axis.x[0]) * Double(k) / Double(side - 1))" : "\(axis.x[0])"
                    }
                    for (k, value) in values.enumerated() {
                        rows.append([probe.name, series.name, "\(k)", coordinate(grid ? k % side : k), grid ? coordinate(k / side) : "", "\(value)"])
                    }
                }
            }
            return rows
        }
    }
}

// MARK: - The connectivity kind's tables

extension ConnectivityReport {
    public static func tables(spec: ExperimentSpec) -> [LongTable] {
        typealias C = LongTable.Column
        return [
            LongTable(
                file: "connectivity_profiles.csv", summary: "one row per point of every path between a pair's end points (the straight line and each fitted curve)",
                columns: [C("path", "`line` or the fitted curve's shape (`bezier`, `polychain`)"), C("t", "position on the path, 0 … 1"),
                          C("train_loss", "training objective"), C("train_error", "training error rate"),
                          C("test_loss", "test loss"), C("test_error", "test error rate")]) { row in
                guard let result = row.connectivity else { return [] }
                let paths = (result.line.map { [("line", $0)] } ?? []) + result.curves.map { ($0.shape.rawValue, $0.profiles) }
                return paths.flatMap { name, profiles in
                    let count = profiles.trainLoss.losses.count
                    return zip(LongTable.fractions(count), 0..<count).map { t, i in
                        [name, t, "\(profiles.trainLoss.losses[i])", LongTable.number(profiles.trainError.losses[safe: i]),
                         LongTable.number(profiles.testLoss.losses[safe: i]), LongTable.number(profiles.testError.losses[safe: i])]
                    }
                }
            },
            LongTable(
                file: "connectivity_plane.csv", summary: "one row per point of the grid over the plane through a pair's end points and a curve's bend",
                columns: [C("curve", "the curve whose bend spans the plane"), C("x", "plane coordinate along the line from end 0 to end 1"),
                          C("y", "plane coordinate towards the bend"), C("loss", "the training objective there")]) { row in
                guard let plane = row.connectivity?.plane, plane.points > 0, plane.values.count == plane.points * plane.points else { return [] }
                let n = plane.points
                func at(_ range: ClosedRange<Double>, _ k: Int) -> Double { n > 1 ? range.lowerBound + (range.upperBound - range.lowerBound) * Double(k) / Double(n - 1) : range.lowerBound }
                return plane.values.enumerated().map { k, value in [plane.shape.rawValue, "\(at(plane.x, k % n))", "\(at(plane.y, k / n))", "\(value)"] }
            },
        ]
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
