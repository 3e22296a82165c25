import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol

/// The report half of an experiment kind: what its outcomes' values are, its `trials.csv`
/// columns, the statistics it adds to the summary, its figures and its sections of the page and
/// the terminal. The common parts — the distribution of the primary metric per sweep point, its
/// spread against size, the summary table — are the same for every kind.
///
/// The kinds are listed once, in ``ReportKinds``.
public protocol ReportKind: Sendable {
    /// The ``ExperimentKind/name`` this reports on.
    static var name: String { get }
    /// The metric whose distribution the report is about (`test-loss`, `energy`), its name in
    /// sentences and axes, and the short form the terminal uses.
    static var primaryMetric: String { get }
    static var primaryQuantity: String { get }
    static var shortQuantity: String { get }
    /// What the band is of, in headings ("final losses").
    static var bandNoun: String { get }
    /// What one sweep point is ("network"), in the plural, and what its size counts ("parameters").
    static var subject: String { get }
    static var subjects: String { get }
    static var sizeName: String { get }

    /// The status of an outcome of this kind (completed, diverged, …).
    static func status(of outcome: TaskOutcome) -> TrialStatus?
    /// A final value of a trial by metric name (nil: not measured).
    static func metric(_ name: String, of row: TrialRow) -> Double?
    /// `trials.csv`: one column per value, after `trial,point,restart`.
    static func columns(spec: ExperimentSpec) -> [ReportColumn]
    /// Long-format tables beside `trials.csv` for what does not fit one row per trial (written
    /// when some trial has rows in them).
    static func tables(spec: ExperimentSpec) -> [LongTable]
    /// Adds what the kind measures to a sweep point's summary (`rows`: the point's trials; `all`:
    /// every trial).
    static func completePoint(_ point: inout PointReport, rows: [TrialRow], all: [TrialRow], spec: ExperimentSpec)
    /// Adds the kind's statistics to the report.
    static func complete(_ report: inout ExperimentReport, spec: ExperimentSpec, rows: [TrialRow])
    /// Lines of theory on the distribution figures (a spin glass's ground state and threshold).
    static func markers(_ report: ExperimentReport) -> [(value: Double, label: String)]
    /// The kind's figures after the common ones, in the order the page shows them.
    static var figures: [Figure] { get }
    /// Two columns of the summary table after the percentiles: header and value.
    static var summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] { get }
    /// HTML after the spread test (a theory band).
    static func spreadNote(_ report: ExperimentReport) -> String
    /// The terminal's table: header and one row (after the label and the completed count).
    static func terminalHeader(labelWidth: Int) -> String
    static func terminalColumns(_ point: PointReport) -> String
    /// The terminal's lines after the spread.
    static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String
}

extension ReportKind {
    public static func markers(_ report: ExperimentReport) -> [(value: Double, label: String)] { [] }
    public static func tables(spec: ExperimentSpec) -> [LongTable] { [] }
    public static func spreadNote(_ report: ExperimentReport) -> String { "" }
    public static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String { "" }
    public static func completePoint(_ point: inout PointReport, rows: [TrialRow], all: [TrialRow], spec: ExperimentSpec) {}
    public static func complete(_ report: inout ExperimentReport, spec: ExperimentSpec, rows: [TrialRow]) {}
    /// The primary metric of a row.
    static func primary(_ row: TrialRow) -> Double? { metric(primaryMetric, of: row) }
}

/// One column of `trials.csv`: its header and its value for a trial.
public struct ReportColumn: Sendable {
    public var header: String
    public var value: @Sendable (TrialRow, SweepPoint) -> String
    public init(_ header: String, _ value: @escaping @Sendable (TrialRow, SweepPoint) -> String) {
        self.header = header
        self.value = value
    }

    /// A number as Swift prints it; empty when absent.
    public static func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
    /// Text, quoted when it holds a comma, a quote or a line break; empty when absent.
    public static func quote(_ text: String?) -> String {
        guard let text else { return "" }
        return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

/// The report kinds, listed once; extensions add theirs with ``register(_:)``.
public enum ReportKinds {
    static let builtIn: [any ReportKind.Type] = [NetworkReport.self, SpinGlassReport.self, ConnectivityReport.self, TeacherStudentReport.self]
    private static let registered = RegistryLock<[any ReportKind.Type]>(builtIn)

    public static func register(_ kind: any ReportKind.Type) {
        registered.withLock { kinds in if !kinds.contains(where: { $0.name == kind.name }) { kinds.append(kind) } }
    }

    /// The report kind of `spec`'s experiment kind (networks for a kind that registered none).
    public static func kind(of spec: ExperimentSpec) -> any ReportKind.Type {
        let name = spec.kind.name
        return registered.withLock { kinds in kinds.first { $0.name == name } } ?? NetworkReport.self
    }
}
