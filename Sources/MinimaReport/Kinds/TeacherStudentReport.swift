import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol

/// The teacher–student kind's report: every restart's final population loss against the known
/// global minimum (0), the fraction that reached it, how the others ended (spurious minimum,
/// saddle, not converged) and how many teacher units they recovered.
public enum TeacherStudentReport: ReportKind {
    public static let name = TeacherStudentKind.name
    public static let primaryMetric = "loss"
    public static let primaryQuantity = "final population loss F(W) (global minimum 0)"
    public static let shortQuantity = "loss"
    public static let bandNoun = "final losses"
    public static let subject = "student"
    public static let subjects = "students"
    public static let sizeName = "student parameters n·d"

    public static func status(of outcome: TaskOutcome) -> TrialStatus? { outcome.as(TeacherStudentResult.self)?.status }

    public static func metric(_ name: String, of row: TrialRow) -> Double? {
        guard let result = row.teacherStudent else { return nil }
        switch name {
        case "loss": return result.loss
        case "at-global-minimum": return result.ending == .global ? 1 : 0
        case "spurious-minimum": return result.ending == .spuriousMinimum ? 1 : 0
        case "recovered-units": return Double(result.recoveredUnits)
        case "gradient-norm": return result.gradientNorm
        default: return nil
        }
    }

    public static func markers(_ report: ExperimentReport) -> [(value: Double, label: String)] { [(0, "global minimum F = 0")] }

    public static let summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] = [
        ("at global minimum", { $0.metrics["at-global-minimum"]?.mean }), ("spurious minima", { $0.metrics["spurious-minimum"]?.mean }),
    ]

    public static func terminalHeader(labelWidth: Int) -> String {
        "\(TerminalReport.pad("student", labelWidth))  done  mean loss     std      min      p5     p50     p95      max   global  spurious\n"
    }

    public static func terminalColumns(_ point: PointReport) -> String {
        " " + TerminalReport.pad(HTMLReport.format(point.metrics["at-global-minimum"]?.mean, digits: 3), 8)
            + " " + TerminalReport.pad(HTMLReport.format(point.metrics["spurious-minimum"]?.mean, digits: 3), 9) + "\n"
    }

    public static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        "global: fraction of restarts at the global minimum (F ≤ the global tolerance); spurious: fraction converged to a local minimum above it (positive semi-definite Hessian)\n"
    }

    public static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        typealias C = ReportColumn
        let number = ReportColumn.number, quote = ReportColumn.quote
        func coordinate(_ name: String) -> @Sendable (TrialRow, SweepPoint) -> String { { _, p in "\(Int(p.coordinates[name] ?? 0))" } }
        return [
            C("teacher_units", coordinate("teacher-units")), C("student_units", coordinate("student-units")), C("inputs", coordinate("inputs")),
            C("state") { row, _ in row.state }, C("status") { row, _ in row.teacherStudent?.status.rawValue ?? "" },
            C("ending") { row, _ in row.teacherStudent?.ending.rawValue ?? "" }, C("steps") { row, _ in row.teacherStudent.map { "\($0.steps)" } ?? "" },
            C("loss") { row, _ in number(row.teacherStudent?.loss) }, C("gradient_norm") { row, _ in number(row.teacherStudent?.gradientNorm) },
            C("recovered_units") { row, _ in row.teacherStudent.map { "\($0.recoveredUnits)" } ?? "" },
            C("hessian_min") { row, _ in number(row.teacherStudent?.hessianMinimum) }, C("hessian_max") { row, _ in number(row.teacherStudent?.hessianMaximum) },
            C("worker") { row, _ in quote(row.worker) }, C("seconds") { row, _ in number(row.seconds) },
            C("point_sha256") { row, _ in row.teacherStudent?.pointSHA256 ?? "" }, C("failure") { row, _ in quote(row.failure) },
        ]
    }

    public static let figures: [Figure] = [globalFraction, endings]

    /// The fraction at the global minimum against k, a line per student rule.
    static let globalFraction = Figure(
        file: "global-fraction.svg",
        draw: { input in
            let lines = ruleLines(input) { rows in Double(rows.filter { $0.teacherStudent?.ending == .global }.count) / Double(max(rows.count, 1)) }
            guard !lines.isEmpty else { return nil }
            return SVGFigures.lines(labels: lines.map(\.label), lines: lines.map(\.points), ceiling: 1,
                                    title: "\(input.report.experiment): restarts that reach the global minimum", xLabel: "teacher units k",
                                    yLabel: "fraction at F = 0", unreached: nil)
        },
        caption: { _ in "The fraction of restarts whose final population loss is at the global minimum (within the global tolerance), against the teacher's units k, one line per student width n. Safran & Shamir (2018): with n = k the fraction falls as k grows; mild over-parameterization restores it." })

    /// How the restarts ended, per sweep point.
    static let endings = Figure(
        file: "endings.svg",
        draw: { input in
            let lines = ruleLines(input) { rows in Double(rows.filter { $0.teacherStudent?.ending == .spuriousMinimum }.count) / Double(max(rows.count, 1)) }
            guard !lines.isEmpty else { return nil }
            return SVGFigures.lines(labels: lines.map(\.label), lines: lines.map(\.points), ceiling: 1,
                                    title: "\(input.report.experiment): restarts that end in a spurious local minimum", xLabel: "teacher units k",
                                    yLabel: "fraction at a spurious minimum", unreached: nil)
        },
        caption: { _ in "The fraction of restarts that converged (‖∇F‖ ≤ the gradient tolerance) above the global minimum with a positive semi-definite Hessian: spurious local minima. The rest of the restarts not at the global minimum are saddles or did not converge (trials.csv, column ending)." },
        after: { input in endingsTable(input) })

    /// One line per student rule: (k, value of the rule's rows at k).
    static func ruleLines(_ input: FigureInput, _ value: ([TrialRow]) -> Double) -> [(label: String, points: [SVGFigures.LinePoint])] {
        guard let settings = input.spec.section?.as(TeacherStudentSettings.self) else { return [] }
        let points = TeacherStudentKind.sweepPoints(of: input.spec)
        return settings.studentUnits.enumerated().map { ruleIndex, rule in
            let line = points.filter { Int($0.coordinates["student-rule"] ?? -1) == ruleIndex }.compactMap { point -> SVGFigures.LinePoint? in
                let rows = input.rows.filter { $0.point == point.index && $0.isCompleted }
                guard !rows.isEmpty else { return nil }
                return SVGFigures.LinePoint(x: point.coordinates["teacher-units"] ?? 0, y: value(rows), low: nil, high: nil)
            }
            return ("n = \(rule)", line)
        }.filter { !$0.points.isEmpty }
    }

    /// A table of endings per sweep point.
    static func endingsTable(_ input: FigureInput) -> String {
        var html = "<table><tr><th>sweep point</th><th>restarts</th>" + TeacherStudentResult.Ending.allCases.map { "<th>\($0.rawValue)</th>" }.joined()
            + "<th>median loss of the others</th><th>mean teacher units recovered</th></tr>\n"
        for (point, rows) in zip(input.report.points, input.completedRows) where !rows.isEmpty {
            let results = rows.compactMap(\.teacherStudent)
            var cells = ""
            for ending in TeacherStudentResult.Ending.allCases {
                let count = results.filter { $0.ending == ending }.count
                cells += "<td>\(count) (\(HTMLReport.format(Double(count) / Double(results.count), digits: 3)))</td>"
            }
            let others = results.filter { $0.ending != .global }.map(\.loss).sorted()
            let median = others.isEmpty ? nil : others[others.count / 2]
            let recovered = Double(results.reduce(0) { $0 + $1.recoveredUnits }) / Double(max(results.count, 1))
            html += "<tr><td>\(SVGFigures.escape(point.label))</td><td>\(results.count)</td>\(cells)<td>\(HTMLReport.format(median))</td><td>\(HTMLReport.format(recovered, digits: 3))</td></tr>\n"
        }
        return html + "</table>\n"
    }
}

extension TrialRow {
    /// The outcome of a teacher–student trial.
    public var teacherStudent: TeacherStudentResult? { outcome?.as(TeacherStudentResult.self) }
}
