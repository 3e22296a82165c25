import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol
import MinimaReport
import MinimaRuntime
import Yams

// A kind of experiment defined only here, in the test target, with no change to Minima's
// sources: gradient descent on a random quadratic bowl f(x) = ½ Σᵢ (i + 1) xᵢ² from a random
// start. It is the proof that a new instrument is one folder per layer plus one registration
// line per registry (docs/EXTENDING.md): each section below is what a kind adds to one layer.

// MARK: MinimaProtocol — the wire form

/// One descent: `{"kind": "bowl", "trial": {…}}`.
struct BowlTask: TaskPayload, RunnableTask {
    typealias Outcome = BowlResult
    static var wireKind: String { "bowl" }
    static var bodyKey: String? { "trial" }
    static var refusesUnknownFields: Bool { true }

    var seed: UInt64
    var trial: UInt64
    var dimensions: Int
    var steps: Int
    var learningRate: Double

    var invalidity: String? {
        guard (1...4096).contains(dimensions) else { return "trial.dimensions: must be in 1...4096, got \(dimensions)" }
        guard (0...1_000_000).contains(steps) else { return "trial.steps: must be in 0...1000000, got \(steps)" }
        return nil
    }

    // MARK: MinimaRuntime — what a worker runs

    func run(in context: TaskContext) throws(TaskFailure) -> BowlResult? {
        if let invalidity { throw TaskFailure(invalidity) }
        // The start: SplitMix64 from (seed, trial), uniform in [-1, 1).
        var state = seed &* 0x9E37_79B9_7F4A_7C15 ^ trial
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) * 0x1p-53 * 2 - 1
        }
        var x = (0..<dimensions).map { _ in next() }
        for step in 0..<steps {
            if context.control.isCancelled() { return nil }
            for i in x.indices { x[i] -= learningRate * Double(i + 1) * x[i] }
            if x.contains(where: { !$0.isFinite }) { return BowlResult(value: .infinity, steps: step + 1, status: .diverged) }
        }
        let value = x.indices.reduce(0.0) { $0 + 0.5 * Double($1 + 1) * x[$1] * x[$1] }
        return BowlResult(value: value, steps: steps, status: .completed)
    }

    static func perturbed(_ outcome: BowlResult) -> BowlResult {
        var changed = outcome
        changed.value = changed.value.nextUp
        return changed
    }
}

/// Where a descent ended: `{"kind": "bowl", "result": {…}}`.
struct BowlResult: OutcomePayload {
    static var wireKind: String { "bowl" }
    static var bodyKey: String? { "result" }
    var value: Double
    var steps: Int
    var status: TrialStatus
}

// MARK: MinimaExperiment — the spec section, the sweep, the tasks

/// `bowl: {dimensions: [2, 8, 32], steps: 50, learning-rate: 0.01}`.
struct BowlSettings: KindSettings {
    static var kind: String { "bowl" }
    var dimensions: [Int]
    var steps: Int
    var learningRate: Double
}

enum BowlKind: ExperimentKind {
    static let name = "bowl"
    static var taskTypes: [any TaskPayload.Type] { [BowlTask.self] }
    static var settingsType: (any KindSettings.Type)? { BowlSettings.self }

    static func settings(_ spec: ExperimentSpec) -> BowlSettings { spec.section!.as(BowlSettings.self)! }

    static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec {
        let top = try reader.mapping(root, "", allowed: ["name", "kind", "seed", "restarts", "bowl", "report"])
        let (name, seed, restarts) = try reader.identity(top, root)
        guard let bowlNode = top["bowl"] else { throw reader.error(root, "bowl", "required: at least bowl.dimensions") }
        let bowl = try reader.mapping(bowlNode, "bowl", allowed: ["dimensions", "steps", "learning-rate"])
        let dimensions = try reader.sweep(bowl["dimensions"], "bowl.dimensions", default: nil) { (node, field) throws(SpecError) in
            let value = try reader.integer(node, field, minimum: 1)
            guard value <= 4096 else { throw reader.error(node, field, "at most 4096 dimensions, got \(value)") }
            return value
        }
        let settings = BowlSettings(
            dimensions: dimensions,
            steps: try bowl["steps"].map { (node) throws(SpecError) in try reader.integer(node, "bowl.steps", minimum: 0) } ?? 50,
            learningRate: try bowl["learning-rate"].map { (node) throws(SpecError) in try reader.number(node, "bowl.learning-rate", minimum: 0, exclusive: true) } ?? 0.01)
        return ExperimentSpec(name: name, seed: seed, restarts: restarts, section: settings, metrics: ["value"], report: try reader.report(top))
    }

    static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint] {
        let settings = settings(spec)
        return settings.dimensions.enumerated().map { index, dimensions in
            SweepPoint(index: index, coordinates: ["dimensions": Double(dimensions)], learningRate: settings.learningRate, epochs: settings.steps)
        }
    }

    static func varyingDimensions(of spec: ExperimentSpec) -> Set<String> { settings(spec).dimensions.count > 1 ? ["dimensions"] : [] }
    static func label(of point: SweepPoint, varying: Set<String>) -> String { "d = \(Int(point.coordinates["dimensions"] ?? 0))" }
    static func size(of point: SweepPoint, stored: StoredSpec) -> Int { Int(point.coordinates["dimensions"] ?? 0) }

    static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription {
        TaskDescription(BowlTask(seed: spec.seed, trial: UInt64(index), dimensions: Int(point.coordinates["dimensions"] ?? 0), steps: point.epochs,
                                 learningRate: point.learningRate))
    }

    static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String]) {
        (StoredSpec(spec: spec, datasetSHA256: "", inputs: 0, classes: 0), [:])
    }

    static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double {
        4 * (point.coordinates["dimensions"] ?? 0) * Double(point.epochs)
    }

    static func describe(_ point: SweepPoint, stored: StoredSpec) -> String { "\(size(of: point, stored: stored)) dimensions, \(point.epochs) steps" }
}

// MARK: MinimaReport — columns, statistics, figures

enum BowlReport: ReportKind {
    static let name = BowlKind.name
    static let primaryMetric = "value"
    static let primaryQuantity = "final value f(x)"
    static let shortQuantity = "value"
    static let bandNoun = "final values"
    static let subject = "bowl"
    static let subjects = "bowls"
    static let sizeName = "dimensions"

    static func status(of outcome: TaskOutcome) -> TrialStatus? { outcome.as(BowlResult.self)?.status }
    static func metric(_ name: String, of row: TrialRow) -> Double? { name == "value" ? row.outcome?.as(BowlResult.self)?.value : nil }

    static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        [ReportColumn("dimensions") { _, point in "\(Int(point.coordinates["dimensions"] ?? 0))" },
         ReportColumn("state") { row, _ in row.state },
         ReportColumn("value") { row, _ in ReportColumn.number(row.outcome?.as(BowlResult.self)?.value) }]
    }

    static let summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] = [
        ("value median", { $0.metrics["value"]?.median }), ("value max", { $0.metrics["value"]?.maximum }),
    ]

    static let figures = [Figure(
        file: "bowl-steps.svg",
        draw: { input in
            SVGFigures.scatter(labels: input.labels, pairs: input.completedRows.map { $0.compactMap { row in row.outcome?.as(BowlResult.self).map { (Double($0.steps), $0.value) } } },
                               title: "\(input.report.experiment): final value against steps", xLabel: "steps", yLabel: "f(x)")
        },
        caption: { _ in "Each descent's final value against its steps." })]

    static func terminalHeader(labelWidth: Int) -> String { "bowl\n" }
    static func terminalColumns(_ point: PointReport) -> String { "\n" }
}
