import MinimaData
import MinimaExperiment

/// A figure of the report, declared once: the file it is written to, how it is drawn, and the
/// HTML around it on the page. Every output — `report.html`, the SVG files, the list of files
/// `minima run` prints — iterates the same list (``Figure/all(for:)``).
public struct Figure: Sendable {
    /// The SVG file's name in the report directory.
    public var file: String
    /// Draws it (nil: nothing to draw for this run — no probes, no target loss).
    public var draw: @Sendable (FigureInput) -> String?
    /// The caption on the page.
    public var caption: @Sendable (FigureInput) -> String
    /// HTML before and after it on the page (headings, tables), shown only when it is drawn.
    public var before: @Sendable (FigureInput) -> String
    public var after: @Sendable (FigureInput) -> String
    /// The numbers behind it, written beside the SVG as a NumPy archive of the same name
    /// (`slice2d-grid.npz` for `slice2d-grid.svg`; nil: none).
    public var data: (@Sendable (FigureInput) -> [NumPyArchive.Array]?)?

    public init(file: String, draw: @escaping @Sendable (FigureInput) -> String?, caption: @escaping @Sendable (FigureInput) -> String,
                before: @escaping @Sendable (FigureInput) -> String = { _ in "" }, after: @escaping @Sendable (FigureInput) -> String = { _ in "" },
                data: (@Sendable (FigureInput) -> [NumPyArchive.Array]?)? = nil) {
        self.data = data
        self.file = file
        self.draw = draw
        self.caption = caption
        self.before = before
        self.after = after
    }

    /// The figures of a report of `kind`: the common ones, then the kind's.
    public static func all(for kind: any ReportKind.Type) -> [Figure] { CommonFigures.all + kind.figures }
}

/// What a figure is drawn from.
public struct FigureInput: Sendable {
    public var report: ExperimentReport
    public var rows: [TrialRow]
    public var spec: ExperimentSpec
    public var kind: any ReportKind.Type

    /// Labels of the sweep points, in order.
    public var labels: [String] { report.points.map(\.label) }
    /// The completed trials of each sweep point.
    public var completedRows: [[TrialRow]] { report.points.map { point in rows.filter { $0.point == point.index && $0.isCompleted } } }
}

/// A figure drawn: its file name, SVG and place on the page.
public struct DrawnFigure: Sendable {
    public var figure: Figure
    public var svg: String
    public var file: String { figure.file }
}
