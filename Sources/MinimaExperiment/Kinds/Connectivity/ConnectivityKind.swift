import MinimaCore
import MinimaProtocol
import Yams

/// Are the minima connected? Pairs of restarts of a network study, the straight line between
/// their end points, and low-loss curves fitted between them (Garipov et al. 2018; Draxler et al.
/// 2018). The spec is a network spec — `data`, `model`, `initialization`, `optimizer`,
/// `schedule`, `stopping` train the ends — with `restarts` counting **pairs** and a `connect`
/// section for the curves. Trial i of sweep point p connects restarts 2i and 2i + 1 of p, i.e.
/// the network trials p·2R + 2i and p·2R + 2i + 1 of the same spec with 2R restarts: the ends
/// are bit for bit those of a network study with the same seed (their parameter hashes are in
/// the results).
public enum ConnectivityKind: ExperimentKind {
    public static let name = "connectivity"
    public static var taskTypes: [any TaskPayload.Type] { [ConnectivityDescription.self] }
    public static var settingsType: (any KindSettings.Type)? { ConnectivitySettings.self }

    static func settings(_ spec: ExperimentSpec) -> ConnectivitySettings {
        guard let settings = spec.section?.as(ConnectivitySettings.self) else { preconditionFailure("a connectivity spec without its connect section") }
        return settings
    }

    /// The network spec's keys (less those a connectivity study does not use) and `connect`.
    public static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec {
        let top = try reader.mapping(root, "", allowed: ["name", "kind", "seed", "restarts", "data", "model", "initialization", "optimizer", "schedule",
                                                         "stopping", "report", "verify", "connect"])
        guard let connectNode = top["connect"] else { throw reader.error(root, "connect", "required: the curves to fit (at least connect: {shapes: [bezier]})") }
        guard case .mapping(let mapping) = root else { throw reader.error(root, "top level", "expected a mapping") }
        let networkPart = Node.mapping(Node.Mapping(mapping.filter { $0.key.string != "connect" }, mapping.tag, mapping.style, mapping.mark))
        var spec = try reader.networkSpec(networkPart)

        let connect = try reader.mapping(connectNode, "connect", allowed: ["shapes", "epochs", "batch-size", "learning-rate", "momentum", "points", "samples", "plane"])
        let shapes = try reader.sweep(connect["shapes"], "connect.shapes", default: .bezier) { (node, field) throws(SpecError) in
            try reader.choice(node, field, CurveShape.self)
        }
        guard Set(shapes).count == shapes.count else { throw reader.error(connect["shapes"], "connect.shapes", "each shape at most once") }
        func integer(_ key: String, minimum: Int, default value: Int) throws(SpecError) -> Int {
            try connect[key].map { (node) throws(SpecError) in try reader.integer(node, "connect.\(key)", minimum: minimum) } ?? value
        }
        let settings = ConnectivitySettings(
            shapes: shapes,
            epochs: try integer("epochs", minimum: 0, default: spec.stopping.epochs.max() ?? 10),
            batchSize: try integer("batch-size", minimum: 1, default: spec.optimizer.batchSize.first ?? 100),
            learningRate: try connect["learning-rate"].map { (node) throws(SpecError) in try reader.number(node, "connect.learning-rate", minimum: 0, exclusive: true) } ?? 0.05,
            momentum: try connect["momentum"].map { (node) throws(SpecError) in try reader.number(node, "connect.momentum", minimum: 0, maximumExclusive: 1) } ?? 0.9,
            points: try integer("points", minimum: 2, default: 61),
            samples: try connect["samples"].map { (node) throws(SpecError) in try reader.integer(node, "connect.samples", minimum: 1) },
            plane: try connect["plane"].map { (node) throws(SpecError) in
                let plane = try reader.mapping(node, "connect.plane", allowed: ["pairs", "points", "margin"])
                return ConnectivitySettings.Plane(
                    pairs: try plane["pairs"].map { (node) throws(SpecError) in try reader.integer(node, "connect.plane.pairs", minimum: 1) } ?? 1,
                    points: try plane["points"].map { (node) throws(SpecError) in try reader.integer(node, "connect.plane.points", minimum: 2) } ?? 21,
                    margin: try plane["margin"].map { (node) throws(SpecError) in try reader.number(node, "connect.plane.margin", minimum: 0) } ?? 0.2)
            })
        spec.section = KindSection(settings)
        spec.metrics = metrics(settings)
        let (doubled, overflow) = spec.restarts.multipliedReportingOverflow(by: 2)
        guard !overflow, doubled <= SpecParser.maximumTrials else { throw reader.error(at: "restarts", "at most \(SpecParser.maximumTrials / 2) pairs") }
        for point in sweepPoints(of: spec) {
            guard let description = task(0, point: point, spec: spec, datasetSHA256: nil).as(ConnectivityDescription.self) else { continue }
            do throws(TrialDescriptionError) { try description.validate() } catch {
                throw reader.error(at: fields.specPath(of: error.field), error.problem)
            }
        }
        return spec
    }

    /// The metrics every connectivity trial records: per path (the line, each shape, and
    /// `curve`: the lowest of the curves) the barrier in training loss, test loss, training error
    /// and test error.
    static func metrics(_ settings: ConnectivitySettings) -> [String] {
        let paths = ["curve", "line"] + settings.shapes.map(\.rawValue)
        return paths.flatMap { path in ["", "-test", "-error", "-test-error"].map { "\(path)\($0)-barrier" } } + ["end-train-loss", "end-test-loss"]
    }

    public static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint] { NetworkKind.sweepPoints(of: spec) }
    public static func varyingDimensions(of spec: ExperimentSpec) -> Set<String> { NetworkKind.varyingDimensions(of: spec) }
    public static func label(of point: SweepPoint, varying: Set<String>) -> String { NetworkKind.label(of: point, varying: varying) }
    public static func size(of point: SweepPoint, stored: StoredSpec) -> Int { NetworkKind.size(of: point, stored: stored) }

    /// The network trial indices of pair `index`'s ends.
    public static func endTrials(ofTrial index: Int, restarts: Int) -> (Int, Int) {
        let point = index / restarts, pair = index % restarts
        let first = point * 2 * restarts + 2 * pair
        return (first, first + 1)
    }

    public static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription {
        let settings = settings(spec)
        let (first, second) = endTrials(ofTrial: index, restarts: spec.restarts)
        return TaskDescription(ConnectivityDescription(
            trialIndex: UInt64(index), ends: spec.trialDescription(first, point: point, datasetSHA256: datasetSHA256), partner: UInt64(second),
            shapes: settings.shapes,
            fit: CurveFitSettings(epochs: settings.epochs, batchSize: settings.batchSize, learningRate: settings.learningRate, momentum: settings.momentum),
            points: settings.points, samples: settings.samples,
            plane: settings.plane.flatMap { index % spec.restarts < $0.pairs ? PlaneSettings(points: $0.points, margin: $0.margin) : nil }))
    }

    public static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String]) {
        try NetworkKind.resolve(spec)
    }

    /// Two network trials, the fits (about three gradient passes per training sample and epoch
    /// of each shape) and the profiles (two evaluations per point and path).
    public static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double {
        let settings = settings(spec)
        let parameters = Double(size(of: point, stored: stored))
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        let test = Double(spec.data.testSamples ?? 10000)
        let measured = Double(settings.samples.map { min(Double($0), training) } ?? training) + Double(settings.samples.map { min(Double($0), test) } ?? test)
        let shapes = Double(settings.shapes.count)
        let planes = settings.plane.map { Double(min($0.pairs, spec.restarts)) / Double(spec.restarts) * Double($0.points * $0.points) } ?? 0
        return 2 * NetworkKind.trialWork(point, spec: spec, stored: stored)
            + shapes * Double(settings.epochs) * 6 * parameters * training
            + (1 + shapes) * Double(settings.points) * 2 * parameters * measured
            + planes * 2 * parameters * (measured / 2)
    }

    public static func describe(_ point: SweepPoint, stored: StoredSpec) -> String {
        let settings = settings(stored.spec)
        return "2 × (\(NetworkKind.describe(point, stored: stored))), then \(settings.shapes.map(\.rawValue).joined(separator: " and ")) fitted \(settings.epochs) epochs, \(settings.points) points"
    }

    public static func samplesSeen(_ point: SweepPoint, spec: ExperimentSpec) -> Double {
        let settings = settings(spec)
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        return 2 * NetworkKind.samplesSeen(point, spec: spec) + Double(settings.shapes.count * settings.epochs) * training
    }
}

/// `connect:` — the curves of a connectivity study.
public struct ConnectivitySettings: KindSettings {
    public static var kind: String { ConnectivityKind.name }
    /// The curves fitted between each pair (each from the straight line).
    public var shapes: [CurveShape]
    /// The fit: epochs over the first end's training split, minibatch, rate, momentum.
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    /// Points along each path where the losses are measured.
    public var points: Int
    /// Measure on the first N training samples and N test samples (nil: all).
    public var samples: Int?
    /// The plane through the ends and the first curve's bend, for the first `pairs` pairs of
    /// each sweep point (nil: none).
    public var plane: Plane?

    public struct Plane: Codable, Hashable, Sendable {
        public var pairs: Int
        public var points: Int
        public var margin: Double
    }
}

extension ConnectivityKind {
    /// Description paths ↔ spec keys ↔ flags: the network's (for the ends) and the curves'.
    public static let fields = FieldNames(NetworkKind.fields.rows.map { row in
        FieldName("ends." + row.description, spec: row.spec, flag: row.flag)
    } + [
        FieldName("shapes", spec: "connect.shapes"),
        FieldName("fit.epochs", spec: "connect.epochs"),
        FieldName("fit.batchSize", spec: "connect.batch-size"),
        FieldName("fit.learningRate", spec: "connect.learning-rate"),
        FieldName("fit.momentum", spec: "connect.momentum"),
        FieldName("points", spec: "connect.points"),
        FieldName("samples", spec: "connect.samples"),
        FieldName("plane.points", spec: "connect.plane.points"),
        FieldName("plane.margin", spec: "connect.plane.margin"),
    ])
}
