import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol

/// The spin-glass kind's report: final energies per spin against the theory's band, how close
/// each descent stopped to a critical point, and the index.
public enum SpinGlassReport: ReportKind {
    public static let name = SpinGlassKind.name
    public static let primaryMetric = "energy"
    public static let primaryQuantity = "final energy H(w)/Λ"
    public static let shortQuantity = "energy"
    public static let bandNoun = "final energies"
    public static let subject = "spin glass"
    public static let subjects = "spin glasses"
    public static let sizeName = "spins Λ"

    public static func status(of outcome: TaskOutcome) -> TrialStatus? { outcome.as(SpinGlassResult.self)?.status }

    public static func metric(_ name: String, of row: TrialRow) -> Double? {
        guard let result = row.spinGlass else { return nil }
        switch name {
        case "energy": return result.energy
        case "gradient-norm": return result.gradientNorm
        case "index": return result.index
        default: return nil
        }
    }

    /// With one H, the theory's band (Auffinger, Ben Arous & Černý 2013).
    public static func complete(_ report: inout ExperimentReport, spec: ExperimentSpec, rows: [TrialRow]) {
        if let glass = spec.spinGlass, glass.order.count == 1 { report.spinGlassBand = SpinGlassBand(order: glass.order[0]) }
    }

    public static func markers(_ report: ExperimentReport) -> [(value: Double, label: String)] {
        guard let band = report.spinGlassBand else { return [] }
        var markers: [(value: Double, label: String)] = []
        if let ground = band.groundState, abs(ground - band.threshold) > 1e-9 { markers.append((ground, String(format: "ground state −E₀ ≈ %.3f", ground))) }
        markers.append((band.threshold, String(format: "threshold −E∞ = %.3f", band.threshold)))
        return markers
    }

    public static let summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] = [
        ("‖gradient‖ mean", { $0.metrics["gradient-norm"]?.mean }), ("index mean", { $0.metrics["index"]?.mean }),
    ]

    /// Where the energies sit relative to the theory's band.
    public static func spreadNote(_ report: ExperimentReport) -> String {
        guard let band = report.spinGlassBand else { return "" }
        let format = HTMLReport.format
        let medians = report.points.map { "\($0.label): median \(format($0.metrics["energy"]?.median, 4))" }.joined(separator: "; ")
        return "<p>Theory for H = \(band.order) (Auffinger, Ben Arous & Černý 2013): ground state −E₀ ≈ \(format(band.groundState, 3)), threshold −E∞ = \(format(band.threshold, 3)); "
            + "low critical points concentrate between them as Λ → ∞. Here: \(SVGFigures.escape(medians)).</p>"
    }

    public static func terminalHeader(labelWidth: Int) -> String {
        "\(TerminalReport.pad("spin glass", labelWidth))  done  mean E/Λ     std      min      p5     p50     p95      max  ‖grad‖ mean  index mean\n"
    }

    public static func terminalColumns(_ point: PointReport) -> String {
        " " + TerminalReport.pad(HTMLReport.format(point.metrics["gradient-norm"]?.mean, digits: 6), 12) + " " + TerminalReport.pad(HTMLReport.format(point.metrics["index"]?.mean), 11) + "\n"
    }

    public static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        guard let band = report.spinGlassBand else { return "" }
        return String(format: "theory (H = %d): ground state −E₀ ≈ %.3f, threshold −E∞ = %.3f\n", band.order, band.groundState ?? .nan, band.threshold)
    }

    public static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        typealias C = ReportColumn
        let number = ReportColumn.number, quote = ReportColumn.quote
        let couplings = spec.spinGlass?.couplings.rawValue ?? ""
        return [
            C("order") { _, p in "\(p.order ?? 0)" }, C("spins") { _, p in "\(p.spins ?? 0)" }, C("couplings") { _, _ in couplings },
            C("learning_rate") { _, p in "\(p.learningRate)" }, C("noise") { _, p in "\(p.noise ?? 0)" }, C("steps_max") { _, p in "\(p.epochs)" },
            C("state") { row, _ in row.state }, C("status") { row, _ in row.spinGlass?.status.rawValue ?? "" },
            C("stop_reason") { row, _ in row.spinGlass?.stopReason.rawValue ?? "" }, C("steps") { row, _ in row.spinGlass.map { "\($0.steps)" } ?? "" },
            C("energy") { row, _ in number(row.spinGlass?.energy) }, C("gradient_norm") { row, _ in number(row.spinGlass?.gradientNorm) },
            C("index") { row, _ in number(row.spinGlass?.index) }, C("hessian_min") { row, _ in number(row.spinGlass?.hessianMinimum) },
            C("hessian_max") { row, _ in number(row.spinGlass?.hessianMaximum) }, C("sphere_deviation") { row, _ in number(row.spinGlass?.sphereDeviation) },
            C("worker") { row, _ in quote(row.worker) }, C("seconds") { row, _ in number(row.seconds) },
            C("point_sha256") { row, _ in row.spinGlass?.pointSHA256 ?? "" }, C("failure") { row, _ in quote(row.failure) },
        ]
    }

    public static let figures: [Figure] = [scatter]

    static let scatter = Figure(
        file: "scatter.svg",
        draw: { input in
            SVGFigures.scatter(labels: input.labels,
                               pairs: input.completedRows.map { $0.compactMap { row in row.spinGlass.map { ($0.energy, log10(max($0.gradientNorm, 1e-300))) } } },
                               title: "\(input.report.experiment): final energy against the gradient's norm", xLabel: "final energy H(w)/Λ", yLabel: "log₁₀ ‖Riemannian gradient‖")
        },
        caption: { _ in "Each end point's energy against the norm of its Riemannian gradient: how close to a critical point each descent stopped." })
}

extension TrialRow {
    /// The outcome of a spin-glass trial.
    public var spinGlass: SpinGlassResult? { outcome?.as(SpinGlassResult.self) }
}

/// The theoretical landmarks of the spherical H-spin glass's energy per spin (Auffinger, Ben
/// Arous & Černý 2013): the ground state −E₀ and the threshold −E∞ = −2√((H−1)/H) above which
/// critical points are almost all saddles and near which the local minima concentrate.
public struct SpinGlassBand: Codable, Sendable {
    public var order: Int
    /// −E∞.
    public var threshold: Double
    /// −E₀, where known (H = 2: equal to −E∞; H = 3: −1.657; H = 4: −1.7545).
    public var groundState: Double?

    public init(order: Int) {
        self.order = order
        threshold = -2 * (Double(order - 1) / Double(order)).squareRoot()
        groundState = switch order { case 2: threshold; case 3: -1.657; case 4: -1.7545; default: nil }
    }
}
