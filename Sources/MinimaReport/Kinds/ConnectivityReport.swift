import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaProtocol

/// The connectivity kind's report: per pair of restarts the barrier along the straight line
/// and along each fitted curve; per sweep point their profiles (the figure of Garipov et al.
/// 2018) and the barriers against width. The primary metric is `curve-barrier`, the lowest
/// training-loss barrier among the curves of a pair.
public enum ConnectivityReport: ReportKind {
    public static let name = ConnectivityKind.name
    public static let primaryMetric = "curve-barrier"
    public static let primaryQuantity = "training-loss barrier along the best fitted curve"
    public static let shortQuantity = "barrier"
    public static let bandNoun = "curve barriers"
    public static let subject = "network"
    public static let subjects = "networks"
    public static let sizeName = "parameters"

    public static func status(of outcome: TaskOutcome) -> TrialStatus? { outcome.as(ConnectivityResult.self)?.status }

    /// `<path>[-test][-error]-barrier` for path `line`, a shape or `curve` (the lowest of the
    /// curves), and `end-train-loss` / `end-test-loss` (the mean of the two ends).
    public static func metric(_ name: String, of row: TrialRow) -> Double? {
        guard let result = row.connectivity else { return nil }
        switch name {
        case "end-train-loss": return result.ends.count == 2 ? 0.5 * (result.ends[0].train.loss + result.ends[1].train.loss) : nil
        case "end-test-loss": return result.ends.count == 2 ? 0.5 * (result.ends[0].test.loss + result.ends[1].test.loss) : nil
        default: break
        }
        guard name.hasSuffix("-barrier") else { return nil }
        var rest = String(name.dropLast("-barrier".count))
        var profile: (PathProfiles) -> LossProfile = \.trainLoss
        for (suffix, chosen) in [("-test-error", \PathProfiles.testError), ("-error", \PathProfiles.trainError), ("-test", \PathProfiles.testLoss)] where rest.hasSuffix(suffix) {
            rest = String(rest.dropLast(suffix.count))
            profile = { $0[keyPath: chosen] }
            break
        }
        switch rest {
        case "line": return result.line.map { profile($0).barrier }
        case "curve": return result.curves.map { profile($0.profiles).barrier }.min()
        default: return result.curves.first { $0.shape.rawValue == rest }.map { profile($0.profiles).barrier }
        }
    }

    public static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        typealias C = ReportColumn
        let number = ReportColumn.number, quote = ReportColumn.quote
        let shapes = spec.section?.as(ConnectivitySettings.self)?.shapes ?? []
        var columns = [
            C("hidden") { _, p in p.hidden.map(String.init).joined(separator: "x") }, C("learning_rate") { _, p in "\(p.learningRate)" },
            C("epochs") { _, p in "\(p.epochs)" }, C("state") { row, _ in row.state }, C("status") { row, _ in row.connectivity?.status.rawValue ?? "" },
        ]
        for end in 0..<2 {
            columns += [
                C("end\(end)_trial") { row, _ in row.end(end).map { "\($0.trialIndex)" } ?? "" },
                C("end\(end)_train_loss") { row, _ in number(row.end(end)?.train.loss) },
                C("end\(end)_test_loss") { row, _ in number(row.end(end)?.test.loss) },
                C("end\(end)_parameters_sha256") { row, _ in row.end(end)?.parametersSHA256 ?? "" },
            ]
        }
        func pathColumns(_ path: String, _ profiles: @escaping @Sendable (ConnectivityResult) -> PathProfiles?) -> [ReportColumn] {
            [C("\(path)_train_loss_barrier") { row, _ in number(row.connectivity.flatMap(profiles)?.trainLoss.barrier) },
             C("\(path)_test_loss_barrier") { row, _ in number(row.connectivity.flatMap(profiles)?.testLoss.barrier) },
             C("\(path)_train_error_barrier") { row, _ in number(row.connectivity.flatMap(profiles)?.trainError.barrier) },
             C("\(path)_test_error_barrier") { row, _ in number(row.connectivity.flatMap(profiles)?.testError.barrier) },
             C("\(path)_length") { row, _ in number(row.connectivity.flatMap(profiles)?.length) }]
        }
        columns += pathColumns("line") { $0.line }
        for shape in shapes {
            columns += pathColumns(shape.rawValue) { result in result.curves.first { $0.shape == shape }?.profiles }
            columns += [C("\(shape.rawValue)_fit") { row, _ in row.connectivity?.curves.first { $0.shape == shape }?.fit.rawValue ?? "" },
                        C("\(shape.rawValue)_final_fit_loss") { row, _ in number(row.connectivity?.curves.first { $0.shape == shape }?.finalFitLoss) }]
        }
        columns += [C("worker") { row, _ in quote(row.worker) }, C("seconds") { row, _ in number(row.seconds) }, C("failure") { row, _ in quote(row.failure) }]
        return columns
    }

    public static let summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] = [
        ("line barrier median", { $0.metrics["line-barrier"]?.median }), ("curve / line (medians)", { ratio($0) }),
    ]

    /// The median curve barrier over the median line barrier: how much of the ridge the curves avoid.
    static func ratio(_ point: PointReport) -> Double? {
        guard let curve = point.metrics["curve-barrier"]?.median, let line = point.metrics["line-barrier"]?.median, line > 0 else { return nil }
        return curve / line
    }

    public static func terminalHeader(labelWidth: Int) -> String {
        "\(TerminalReport.pad("network", labelWidth))  done  mean barrier std      min      p5     p50     p95      max  line p50  curve/line\n"
    }

    public static func terminalColumns(_ point: PointReport) -> String {
        " " + TerminalReport.pad(HTMLReport.format(point.metrics["line-barrier"]?.median), 9) + " " + TerminalReport.pad(HTMLReport.format(ratio(point), digits: 3), 10) + "\n"
    }

    public static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        "barrier: max over the path of the training objective − the mean of its ends; curve: the lowest of the fitted curves; line: the straight line between the same ends\n"
    }

    public static func spreadNote(_ report: ExperimentReport) -> String {
        let parts = report.points.map { point in
            "\(point.label): line \(HTMLReport.format(point.metrics["line-barrier"]?.median)), curve \(HTMLReport.format(point.metrics["curve-barrier"]?.median)) (ratio \(HTMLReport.format(ratio(point), digits: 3)))"
        }
        return "<p>Median training-loss barriers, straight line against the best fitted curve between the same ends: \(SVGFigures.escape(parts.joined(separator: "; "))).</p>"
    }

    public static let figures: [Figure] = [
        profileFigure(file: "connectivity-profiles.svg", metric: "training objective", \.trainLoss),
        profileFigure(file: "connectivity-test-profiles.svg", metric: "test loss", \.testLoss),
        profileFigure(file: "connectivity-error-profiles.svg", metric: "test error", \.testError),
        barriers,
        plane,
    ]

    /// Per sweep point, the training objective over the plane through one pair's ends and its
    /// curve's bend, with the curve drawn in it (Garipov et al. 2018, Fig. 1).
    static let plane = Figure(
        file: "connectivity-plane.svg",
        draw: { input in
            var panels: [SVGFigures.ContourPanel] = []
            for (label, rows) in zip(input.labels, input.completedRows) {
                // A ledger is read as it is: a plane of the wrong shape (a foreign or damaged
                // ledger) is passed over, not drawn.
                guard let row = rows.first(where: { $0.connectivity?.plane.map(isWellFormed) == true }), let grid = row.connectivity?.plane else { continue }
                let p0 = (grid.start[0], grid.start[1]), p1 = (grid.bend[0], grid.bend[1]), p2 = (grid.end[0], grid.end[1])
                let path: [(x: Double, y: Double)] = grid.shape == .bezier
                    ? (0...60).map { k in
                        let t = Double(k) / 60, a = (1 - t) * (1 - t), b = 2 * t * (1 - t), c = t * t
                        return (a * p0.0 + b * p1.0 + c * p2.0, a * p0.1 + b * p1.1 + c * p2.1)
                    }
                    : [p0, p1, p2]
                panels.append(.init(title: "\(label), pair \(row.restart)", values: grid.values, size: grid.points, xRange: grid.x, yRange: grid.y,
                                    marks: [(p0.0, p0.1, "end 0"), (p2.0, p2.1, "end 1"), (p1.0, p1.1, "bend")], path: path))
            }
            guard !panels.isEmpty else { return nil }
            return SVGFigures.contours(panels: panels, title: "\(input.report.experiment): the plane through two end points and the bend",
                                       xLabel: "along end 0 → end 1 (parameter-space distance)", yLabel: "toward the bend", quantity: "training objective (log)")
        },
        caption: { _ in "The training objective over the plane through two restarts' end points and the bend of the curve fitted between them (red: the curve; it lies in this plane), one pair per sweep point: the straight line between the ends crosses high ground that the curve goes around." },
        data: { input in
            let planes = input.rows.compactMap { row in row.connectivity?.plane.flatMap { isWellFormed($0) ? (row, $0) : nil } }
            guard let n = planes.first?.1.points else { return nil }
            let kept = planes.filter { $0.1.points == n }
            return [
                NumPyArchive.Array(name: "grids", shape: [kept.count, n, n], values: kept.flatMap { $0.1.values.map(Float.init) }),
                NumPyArchive.Array(name: "trials", shape: [kept.count], values: kept.map { Float($0.0.trial) }),
                NumPyArchive.Array(name: "points", shape: [kept.count], values: kept.map { Float($0.0.point) }),
                NumPyArchive.Array(name: "x_range", shape: [kept.count, 2], values: kept.flatMap { [Float($0.1.x.lowerBound), Float($0.1.x.upperBound)] }),
                NumPyArchive.Array(name: "y_range", shape: [kept.count, 2], values: kept.flatMap { [Float($0.1.y.lowerBound), Float($0.1.y.upperBound)] }),
                NumPyArchive.Array(name: "end_and_bend", shape: [kept.count, 2, 2], values: kept.flatMap { ($0.1.end + $0.1.bend).map(Float.init) }),
            ]
        })

    /// A plane grid the figures can draw: 2…201 points a side (what a description may ask),
    /// points² values, 2 coordinates per mark.
    static func isWellFormed(_ grid: PlaneGrid) -> Bool {
        (2...201).contains(grid.points) && grid.values.count == grid.points * grid.points && [grid.start, grid.end, grid.bend].allSatisfy { $0.count == 2 }
    }

    /// Per sweep point, the median (band: quartiles) over the pairs of the profile along the line
    /// and along each curve shape: Garipov et al.'s Fig. 2 as statistics over many pairs.
    static func profileFigure(file: String, metric: String, _ profile: KeyPath<PathProfiles, LossProfile> & Sendable) -> Figure {
        Figure(
            file: file,
            draw: { input in
                let shapes = input.spec.section?.as(ConnectivitySettings.self)?.shapes ?? []
                var panels: [(title: String, bands: [SVGFigures.Band])] = []
                for (label, rows) in zip(input.labels, input.completedRows) {
                    let results = rows.compactMap(\.connectivity)
                    var bands = [SVGFigures.Band(label: "straight line", profiles: results.compactMap { $0.line?[keyPath: profile].losses })]
                    for shape in shapes {
                        bands.append(SVGFigures.Band(label: shape.rawValue, profiles: results.compactMap { $0.curves.first { $0.shape == shape }?.profiles[keyPath: profile].losses }))
                    }
                    panels.append((label, bands.compactMap { $0 }))
                }
                guard panels.contains(where: { !$0.bands.isEmpty }) else { return nil }
                return SVGFigures.bands(panels: panels, title: "\(input.report.experiment): \(metric) along the paths between two restarts",
                                        xLabel: "t (0: one end, 1: the other)", yLabel: "\(metric) (log scale)", xRange: 0...1)
            },
            caption: { _ in "The \(metric) along the straight line between two restarts' end points and along the curves fitted between them: median over the pairs (band: quartiles), one panel per sweep point." },
            before: { _ in file == "connectivity-profiles.svg" ? "<h2>Paths between end points</h2>" : "" })
    }

    /// The training-loss barrier against width: line and each shape, median and quartiles.
    static let barriers = Figure(
        file: "connectivity-barriers.svg",
        draw: { input in
            let shapes = input.spec.section?.as(ConnectivitySettings.self)?.shapes ?? []
            let paths = ["line"] + shapes.map(\.rawValue)
            var lines: [[SVGFigures.LinePoint]] = []
            var ceiling = 0.0
            for path in paths {
                var line: [SVGFigures.LinePoint] = []
                for (point, rows) in zip(input.report.points, input.completedRows) {
                    let values = rows.compactMap { metric("\(path)-barrier", of: $0) }.filter(\.isFinite).sorted()
                    guard !values.isEmpty else { continue }
                    let x = Double(point.hidden.first ?? point.parameters)
                    line.append(.init(x: x, y: Statistics.percentile(values, 50), low: Statistics.percentile(values, 25), high: Statistics.percentile(values, 75)))
                    ceiling = max(ceiling, Statistics.percentile(values, 75))
                }
                lines.append(line)
            }
            guard lines.contains(where: { !$0.isEmpty }) else { return nil }
            return SVGFigures.lines(labels: paths.map { $0 == "line" ? "straight line" : $0 }, lines: lines, ceiling: max(ceiling, 1e-9),
                                    title: "\(input.report.experiment): barrier between two restarts against width",
                                    xLabel: "hidden units (log scale)", yLabel: "training-loss barrier", unreached: nil)
        },
        caption: { _ in "The training-loss barrier (max along the path − mean of its ends) of the straight line and of each fitted curve: median over the pairs, bars: quartiles." })
}

extension TrialRow {
    /// The outcome of a connectivity trial.
    public var connectivity: ConnectivityResult? { outcome?.as(ConnectivityResult.self) }

    func end(_ which: Int) -> ConnectivityResult.EndPoint? {
        guard let ends = connectivity?.ends, which < ends.count else { return nil }
        return ends[which]
    }
}
