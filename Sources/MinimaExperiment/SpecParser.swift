import Foundation
import MinimaCore
import Yams

/// Reads experiment specs written in YAML. Every scalar setting may be given as a list to sweep
/// it; the sweep is the product of all lists. Unknown keys, wrong types and impossible values are
/// reported with the file, line and column, the field, and what is expected.
public enum SpecParser {
    /// The metrics a spec may ask to record (all are recorded; these are reported).
    public static let knownMetrics = ["test-loss", "train-loss", "test-error", "train-error", "validation-loss", "validation-error"]

    public static func parse(contentsOf path: String) throws(SpecError) -> ExperimentSpec {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", problem: "cannot read the file")
        }
        return try parse(yaml: text, file: path)
    }

    /// The most trials one experiment may have.
    public static let maximumTrials = 1_000_000_000
    /// The deepest nesting of lists and mappings a spec may have (a real one needs 4).
    public static let maximumNesting = 64

    public static func parse(yaml: String, file: String) throws(SpecError) -> ExperimentSpec {
        if let (depth, line) = nesting(of: yaml), depth > maximumNesting {
            throw SpecError(file: file, line: line, column: nil, field: "", problem: "nested \(depth) levels deep; a spec is at most \(maximumNesting) (is this a spec?)")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw SpecError(file: file, line: 1, column: 1, field: "", problem: "the file is empty; expected a mapping with name, restarts, model, optimizer, stopping…")
            }
            root = node
        } catch let error as SpecError {
            throw error
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw SpecError(file: file, line: nil, column: nil, field: "", problem: "not valid YAML: \(error)")
        }
        var reader = Reader(file: file)
        return try reader.spec(root)
    }

    /// The deepest nesting of flow collections (`[`, `{`) and block indentation in `text`, and the
    /// line where it is reached — checked before parsing, whose recursion a hostile file could
    /// otherwise drive into a stack overflow.
    static func nesting(of text: String) -> (depth: Int, line: Int)? {
        var deepest: (Int, Int)?
        var flow = 0, line = 1, quote: UInt8?, atLineStart = true, indent = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") { line += 1; atLineStart = true; indent = 0; quote = nil; continue }
            if atLineStart {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") { indent += 1; continue }
                atLineStart = false
            }
            if let open = quote { if byte == open { quote = nil }; continue }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "["), UInt8(ascii: "{"): flow += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
            case UInt8(ascii: "#"): quote = UInt8(ascii: "\n")   // a comment runs to the end of the line
            default: break
            }
            let depth = flow + indent / 2
            if depth > (deepest?.0 ?? 0) { deepest = (depth, line) }
        }
        return deepest
    }

    private static func yamlError(_ error: YamlError, file: String) -> SpecError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            let text = context.map { "\($0.text) — \(problem)" } ?? problem
            return SpecError(file: file, line: mark.line, column: mark.column, field: "", problem: "not valid YAML: \(text)")
        default:
            return SpecError(file: file, line: nil, column: nil, field: "", problem: "not valid YAML: \(error)")
        }
    }
}

/// Walks the YAML tree, remembering where each field was written.
private struct Reader {
    let file: String
    /// Where each field path was written, for errors found after parsing (value checks).
    var marks: [String: Mark] = [:]

    init(file: String) { self.file = file }

    func error(_ node: Node?, _ field: String, _ problem: String) -> SpecError {
        SpecError(file: file, line: node?.mark?.line, column: node?.mark?.column, field: field, problem: problem)
    }

    func error(at field: String, _ problem: String) -> SpecError {
        let mark = marks[field]
        return SpecError(file: file, line: mark?.line, column: mark?.column, field: field, problem: problem)
    }

    /// The members of a mapping, checking that every key is one of `allowed`.
    mutating func mapping(_ node: Node, _ path: String, allowed: [String]) throws(SpecError) -> [String: Node] {
        guard case .mapping(let mapping) = node else {
            throw error(node, path.isEmpty ? "top level" : path, "expected a mapping with keys \(allowed.joined(separator: ", ")), got \(describe(node))")
        }
        var members: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw error(keyNode, path, "keys must be strings") }
            let field = path.isEmpty ? key : path + "." + key
            guard allowed.contains(key) else {
                throw error(keyNode, field, "unknown key; expected one of: \(allowed.joined(separator: ", "))")
            }
            guard members[key] == nil else { throw error(keyNode, field, "given twice") }
            members[key] = value
            if let mark = keyNode.mark { marks[field] = mark }
        }
        return members
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    func scalar(_ node: Node, _ field: String, expected: String) throws(SpecError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, field, "expected \(expected), got \(describe(node))") }
        return scalar.string
    }

    func integer(_ node: Node, _ field: String, minimum: Int) throws(SpecError) -> Int {
        let expected = minimum == 0 ? "a non-negative integer" : minimum == 1 ? "a positive integer" : "an integer ≥ \(minimum)"
        let text = try scalar(node, field, expected: expected)
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else { throw error(node, field, "expected \(expected), got '\(text)'") }
        guard value >= minimum else { throw error(node, field, "expected \(expected), got \(value)") }
        return value
    }

    func number(_ node: Node, _ field: String, minimum: Double, exclusive: Bool = false, maximumExclusive: Double? = nil) throws(SpecError) -> Double {
        let range = (exclusive ? "> \(minimum)" : "≥ \(minimum)") + (maximumExclusive.map { " and < \($0)" } ?? "")
        let text = try scalar(node, field, expected: "a number \(range)")
        guard let value = Double(text), value.isFinite else { throw error(node, field, "expected a number \(range), got '\(text)'") }
        guard exclusive ? value > minimum : value >= minimum, maximumExclusive.map({ value < $0 }) ?? true else {
            throw error(node, field, "expected a number \(range), got \(text)")
        }
        return value
    }

    func boolean(_ node: Node, _ field: String) throws(SpecError) -> Bool {
        let text = try scalar(node, field, expected: "true or false")
        switch text.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error(node, field, "expected true or false, got '\(text)'")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ field: String, _: T.Type) throws(SpecError) -> T where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let text = try scalar(node, field, expected: "one of \(names.joined(separator: ", "))")
        guard let value = T(rawValue: text) else { throw error(node, field, "expected one of \(names.joined(separator: ", ")), got '\(text)'") }
        return value
    }

    /// A value or a list of values to sweep (never empty).
    func sweep<T>(_ node: Node?, _ field: String, default value: T?, _ parse: (Node, String) throws(SpecError) -> T) throws(SpecError) -> [T] {
        guard let node else {
            guard let value else { throw error(at: field, "required") }
            return [value]
        }
        if case .sequence(let sequence) = node {
            guard !sequence.isEmpty else { throw error(node, field, "an empty list sweeps nothing; give one value or a list of values") }
            var values: [T] = []
            for (index, element) in sequence.enumerated() { values.append(try parse(element, "\(field)[\(index)]")) }
            return values
        }
        return [try parse(node, field)]
    }

    mutating func spec(_ root: Node) throws(SpecError) -> ExperimentSpec {
        if case .mapping(let mapping) = root, let kindNode = mapping["kind"] {
            let kind = try scalar(kindNode, "kind", expected: "network or spin-glass")
            switch kind {
            case "network": break
            case "spin-glass": return try spinGlassSpec(root)
            default: throw error(kindNode, "kind", "expected network or spin-glass, got '\(kind)'")
            }
        }
        let top = try mapping(root, "", allowed: ["name", "seed", "restarts", "data", "model", "initialization", "optimizer", "schedule", "stopping", "metrics", "report", "verify", "probes", "keep-parameters", "kind",
                                              "warm-start", "curve"])
        let (name, seed, restarts) = try identity(top, root)

        let dataNode = try top["data"].map { (node) throws(SpecError) in
            try mapping(node, "data", allowed: ["dataset", "training-samples", "sampling", "validation-samples", "test-samples"])
        } ?? [:]
        let dataset = try dataNode["dataset"].map { (node) throws(SpecError) in try scalar(node, "data.dataset", expected: "mnist10, mnist10:DIR or idx:DIR") } ?? "mnist10"
        guard dataset == "mnist10" || dataset.hasPrefix("mnist10:") || dataset.hasPrefix("idx:") else {
            throw error(dataNode["dataset"], "data.dataset", "expected mnist10, mnist10:DIR or idx:DIR, got '\(dataset)'")
        }
        func countOrAll(_ key: String) throws(SpecError) -> Int? {
            guard let node = dataNode[key] else { return nil }
            if case .scalar(let scalar) = node, scalar.string == "all" { return nil }
            return try integer(node, "data.\(key)", minimum: 1)
        }
        let sampling = try dataNode["sampling"].map { (node) throws(SpecError) -> Sampling in
            let text = try scalar(node, "data.sampling", expected: "first or random")
            guard let sampling = Sampling(rawValue: text) else { throw error(node, "data.sampling", "expected first or random, got '\(text)'") }
            return sampling
        } ?? .first
        let data = ExperimentSpec.Data(
            dataset: dataset, trainingSamples: try countOrAll("training-samples"), sampling: sampling,
            validationSamples: try dataNode["validation-samples"].map { (node) throws(SpecError) in try integer(node, "data.validation-samples", minimum: 0) } ?? 0,
            testSamples: try countOrAll("test-samples"))

        guard let modelRoot = top["model"] else { throw error(root, "model", "required: at least model.width") }
        let modelNode = try mapping(modelRoot, "model", allowed: ["width", "hidden-layers", "layers", "activation", "loss"])
        var architectures: [[Int]] = []
        if let layers = modelNode["layers"] {
            if modelNode["width"] != nil || modelNode["hidden-layers"] != nil {
                throw error(layers, "model.layers", "give either layers (explicit architectures) or width and hidden-layers, not both")
            }
            // [100, 50] is one architecture; [[100, 50], [200]] sweeps architectures.
            guard case .sequence(let sequence) = layers, !sequence.isEmpty else {
                throw error(layers, "model.layers", "expected a list of widths ([100, 50]) or a list of such lists ([[100], [200, 100]])")
            }
            let nested = sequence.contains { if case .sequence = $0 { return true } else { return false } }
            let lists = nested ? Array(sequence) : [layers]
            for (index, item) in lists.enumerated() {
                let path = nested ? "model.layers[\(index)]" : "model.layers"
                guard case .sequence(let widths) = item else { throw error(item, path, "expected a list of widths, got \(describe(item))") }
                var architecture: [Int] = []
                for (k, width) in widths.enumerated() { architecture.append(try integer(width, "\(path)[\(k)]", minimum: 1)) }
                architectures.append(architecture)
            }
        } else {
            let widths = try sweep(modelNode["width"], "model.width", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) }
            let depths = try sweep(modelNode["hidden-layers"], "model.hidden-layers", default: 1) { (node, field) throws(SpecError) in try integer(node, field, minimum: 0) }
            for depth in depths { for width in widths { architectures.append([Int](repeating: width, count: depth)) } }
        }
        let model = ExperimentSpec.Model(
            architectures: architectures,
            activation: try sweep(modelNode["activation"], "model.activation", default: .relu) { (node, field) throws(SpecError) in try choice(node, field, Activation.self) },
            loss: try sweep(modelNode["loss"], "model.loss", default: .softmaxCrossEntropy) { (node, field) throws(SpecError) in try choice(node, field, LossFunction.self) })

        let initNode = try top["initialization"].map { (node) throws(SpecError) in try mapping(node, "initialization", allowed: ["scheme", "scale"]) } ?? [:]
        let initialization = ExperimentSpec.InitializationSpec(
            scheme: try sweep(initNode["scheme"], "initialization.scheme", default: .fanInUniform) { (node, field) throws(SpecError) in try choice(node, field, InitScheme.self) },
            scale: try sweep(initNode["scale"], "initialization.scale", default: 1) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) })

        guard let optimizerRoot = top["optimizer"] else { throw error(root, "optimizer", "required: at least optimizer.learning-rate") }
        let optimizerNode = try mapping(optimizerRoot, "optimizer", allowed: ["kind", "batch-size", "learning-rate", "momentum", "nesterov", "weight-decay", "krylov"])
        let kinds = try sweep(optimizerNode["kind"], "optimizer.kind", default: .sgd) { (node, field) throws(SpecError) in try choice(node, field, OptimizerKind.self) }
        var optimizer = ExperimentSpec.Optimizer(
            batchSize: try sweep(optimizerNode["batch-size"], "optimizer.batch-size", default: 10) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            learningRate: try sweep(optimizerNode["learning-rate"], "optimizer.learning-rate", default: kinds.allSatisfy(\.isSecondOrder) ? 1 : nil) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) },
            momentum: try sweep(optimizerNode["momentum"], "optimizer.momentum", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, maximumExclusive: 1) },
            nesterov: try sweep(optimizerNode["nesterov"], "optimizer.nesterov", default: false) { (node, field) throws(SpecError) in try boolean(node, field) },
            weightDecay: try sweep(optimizerNode["weight-decay"], "optimizer.weight-decay", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0) })
        if kinds != [.sgd] { optimizer.kind = kinds }
        if let krylovNode = optimizerNode["krylov"] {
            guard kinds.contains(where: \.isSecondOrder) else {
                throw error(krylovNode, "optimizer.krylov", "only newton and saddle-free-newton take Krylov settings; optimizer.kind is \(kinds.map(\.rawValue).joined(separator: ", "))")
            }
            optimizer.krylov = try krylov(krylovNode)
        }
        if kinds.contains(where: \.isSecondOrder) && optimizer.momentum.contains(where: { $0 != 0 }) {
            throw error(optimizerNode["momentum"], "optimizer.momentum", "newton and saddle-free-newton take no momentum")
        }
        if optimizer.nesterov.contains(true) && optimizer.momentum.contains(0) {
            throw error(at: "optimizer.nesterov", "Nesterov momentum needs optimizer.momentum > 0 (the sweep pairs nesterov: true with momentum 0)")
        }

        let schedule = try schedule(top)

        guard let stoppingRoot = top["stopping"] else { throw error(root, "stopping", "required: at least stopping.epochs") }
        let stoppingNode = try mapping(stoppingRoot, "stopping", allowed: ["epochs", "gradient-tolerance", "patience", "target-loss", "relative-gradient-tolerance"])
        var stopping = ExperimentSpec.Stopping(
            epochs: try sweep(stoppingNode["epochs"], "stopping.epochs", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            gradientTolerance: try stoppingNode["gradient-tolerance"].map { (node) throws(SpecError) in try number(node, "stopping.gradient-tolerance", minimum: 0, exclusive: true) },
            patience: try stoppingNode["patience"].map { (node) throws(SpecError) in try integer(node, "stopping.patience", minimum: 1) })
        stopping.targetLoss = try stoppingNode["target-loss"].map { (node) throws(SpecError) in try number(node, "stopping.target-loss", minimum: 0) }
        stopping.relativeGradientTolerance = try stoppingNode["relative-gradient-tolerance"].map { (node) throws(SpecError) in
            try number(node, "stopping.relative-gradient-tolerance", minimum: 0, exclusive: true, maximumExclusive: 1)
        }
        if stopping.patience != nil && data.validationSamples == 0 {
            throw error(stoppingNode["patience"], "stopping.patience", "early stopping needs data.validation-samples > 0")
        }
        if let trainingSamples = data.trainingSamples, data.validationSamples >= trainingSamples {
            throw error(dataNode["validation-samples"], "data.validation-samples", "holds out \(data.validationSamples) of \(trainingSamples) training samples, leaving none to train on")
        }

        var metrics = ["test-loss", "train-loss", "test-error", "train-error"]
        if let metricsNode = top["metrics"] {
            guard case .sequence(let sequence) = metricsNode else { throw error(metricsNode, "metrics", "expected a list of \(SpecParser.knownMetrics.joined(separator: ", "))") }
            metrics = []
            for (index, item) in sequence.enumerated() {
                let name = try scalar(item, "metrics[\(index)]", expected: "a metric name")
                guard SpecParser.knownMetrics.contains(name) else {
                    throw error(item, "metrics[\(index)]", "unknown metric '\(name)'; expected one of \(SpecParser.knownMetrics.joined(separator: ", "))")
                }
                metrics.append(name)
            }
        }
        let report = try report(top)

        let verify = try verify(top)
        let probes = try top["probes"].map { (node) throws(SpecError) in try self.probes(node, restarts: restarts, trainingSamples: data.trainingSamples.map { $0 - data.validationSamples }) }
        var keepParameters: ExperimentSpec.KeepParameters?
        if let keepRoot = top["keep-parameters"] {
            let keep = try mapping(keepRoot, "keep-parameters", allowed: ["restarts"])
            guard let restartsNode = keep["restarts"] else { throw error(keepRoot, "keep-parameters.restarts", "missing; e.g. keep-parameters: {restarts: 2} keeps restarts 0 and 1 of every sweep point") }
            let count = try integer(restartsNode, "keep-parameters.restarts", minimum: 1)
            guard count <= restarts else { throw error(restartsNode, "keep-parameters.restarts", "keeps \(count) restarts per sweep point but the spec has \(restarts)") }
            keepParameters = ExperimentSpec.KeepParameters(restarts: count)
        }
        var spec = ExperimentSpec(name: name, seed: seed, restarts: restarts, data: data, model: model, initialization: initialization,
                                  optimizer: optimizer, schedule: schedule, stopping: stopping, metrics: metrics, report: report, verify: verify,
                                  probes: probes, keepParameters: keepParameters)
        spec.warmStart = try top["warm-start"].map { (node) throws(SpecError) in try warmStart(node) }
        if let curveRoot = top["curve"] {
            let curve = try mapping(curveRoot, "curve", allowed: ["gradient-norm", "index"])
            spec.curve = CurveRequest(
                gradientNorm: try curve["gradient-norm"].map { (n) throws(SpecError) in try boolean(n, "curve.gradient-norm") } ?? false,
                index: try curve["index"].map { (n) throws(SpecError) in try hessianProbe(n, "curve.index") })
        }
        let points = spec.sweepPoints.count
        let (trials, overflow) = points.multipliedReportingOverflow(by: restarts)
        guard !overflow, trials <= SpecParser.maximumTrials else {
            throw error(at: "restarts", "\(points) sweep points × \(restarts) restarts is more than \(SpecParser.maximumTrials) trials")
        }
        // Whatever the sweep combines must be a runnable trial.
        for point in spec.sweepPoints {
            do throws(TrialDescriptionError) { try spec.trialDescription(0, point: point, datasetSHA256: nil).validate() } catch {
                throw self.error(at: Self.specField(error.field), error.problem)
            }
        }
        return spec
    }

    /// name, seed and restarts, common to every kind of spec.
    mutating func identity(_ top: [String: Node], _ root: Node) throws(SpecError) -> (name: String, seed: UInt64, restarts: Int) {
        guard let nameNode = top["name"] else { throw error(root, "name", "required: a name for the experiment") }
        let name = try scalar(nameNode, "name", expected: "a name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw error(nameNode, "name", "expected letters, digits, '-', '_' or '.', got '\(name)'")
        }
        let seed = try top["seed"].map { (node) throws(SpecError) in UInt64(try integer(node, "seed", minimum: 0)) } ?? 0
        guard let restartsNode = top["restarts"] else { throw error(root, "restarts", "required: random restarts per sweep point") }
        let restarts = try integer(restartsNode, "restarts", minimum: 1)
        guard restarts <= SpecParser.maximumTrials else { throw error(restartsNode, "restarts", "at most \(SpecParser.maximumTrials), got \(restarts)") }
        return (name, seed, restarts)
    }

    /// `schedule: {kind, k | gamma | factor, every}`.
    mutating func schedule(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Schedule {
        let scheduleNode = try top["schedule"].map { (node) throws(SpecError) in try mapping(node, "schedule", allowed: ["kind", "k", "gamma", "factor", "every"]) } ?? [:]
        let kind = try scheduleNode["kind"].map { (node) throws(SpecError) -> ScheduleKind in
            let text = try scalar(node, "schedule.kind", expected: "constant, step, exponential or inverse")
            guard let kind = ScheduleKind(rawValue: text) else {
                throw error(node, "schedule.kind", "expected constant, step, exponential or inverse, got '\(text)'")
            }
            return kind
        } ?? .constant
        let parameterKey: String? = switch kind { case .inverse: "k"; case .exponential: "gamma"; case .step: "factor"; case .constant: nil }
        for key in ["k", "gamma", "factor", "every"] where scheduleNode[key] != nil && key != parameterKey && !(kind == .step && key == "every") {
            throw error(scheduleNode[key], "schedule.\(key)", "does not apply to the \(kind) schedule")
        }
        var factor = 0.0
        if let parameterKey {
            guard let node = scheduleNode[parameterKey] else { throw error(at: "schedule.kind", "the \(kind) schedule needs schedule.\(parameterKey)") }
            factor = try number(node, "schedule.\(parameterKey)", minimum: 0, exclusive: kind != .inverse)
        }
        let every = try scheduleNode["every"].map { (node) throws(SpecError) in try integer(node, "schedule.every", minimum: 1) } ?? 1
        return ExperimentSpec.Schedule(kind: kind, every: every, factor: factor)
    }

    /// `report: {epsilon, bins}`.
    mutating func report(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Report {
        let reportNode = try top["report"].map { (node) throws(SpecError) in try mapping(node, "report", allowed: ["epsilon", "bins"]) } ?? [:]
        return ExperimentSpec.Report(
            epsilon: try reportNode["epsilon"].map { (node) throws(SpecError) in try number(node, "report.epsilon", minimum: 0, exclusive: true) } ?? 0.01,
            bins: try reportNode["bins"].map { (node) throws(SpecError) in try integer(node, "report.bins", minimum: 2) } ?? 30)
    }

    /// `verify: {fraction}`.
    mutating func verify(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Verify? {
        guard let verifyRoot = top["verify"] else { return nil }
        let verifyNode = try mapping(verifyRoot, "verify", allowed: ["fraction"])
        guard let fractionNode = verifyNode["fraction"] else { throw error(verifyRoot, "verify.fraction", "missing; expected a number between 0 and 1, e.g. verify: {fraction: 0.02}") }
        let fraction = try number(fractionNode, "verify.fraction", minimum: 0)
        guard fraction <= 1 else { throw error(fractionNode, "verify.fraction", "expected a number between 0 and 1, got \(fraction)") }
        return ExperimentSpec.Verify(fraction: fraction)
    }

    /// `kind: spin-glass`: name, seed, restarts, `spin-glass: {order, spins, couplings, index}`,
    /// `optimizer: {learning-rate, noise}`, schedule, `stopping: {steps, gradient-tolerance}`,
    /// report, verify.
    mutating func spinGlassSpec(_ root: Node) throws(SpecError) -> ExperimentSpec {
        let top = try mapping(root, "", allowed: ["name", "kind", "seed", "restarts", "spin-glass", "optimizer", "schedule", "stopping", "report", "verify"])
        let (name, seed, restarts) = try identity(top, root)

        guard let glassRoot = top["spin-glass"] else { throw error(root, "spin-glass", "required: at least spin-glass.spins") }
        let glassNode = try mapping(glassRoot, "spin-glass", allowed: ["order", "spins", "couplings", "index"])
        let couplings = try glassNode["couplings"].map { (node) throws(SpecError) in try choice(node, "spin-glass.couplings", CouplingRealization.self) } ?? .perTrial
        let index = try glassNode["index"].map { (node) throws(SpecError) in try boolean(node, "spin-glass.index") } ?? false

        guard let optimizerRoot = top["optimizer"] else { throw error(root, "optimizer", "required: at least optimizer.learning-rate") }
        let optimizerNode = try mapping(optimizerRoot, "optimizer", allowed: ["learning-rate", "noise"])
        let rates = try sweep(optimizerNode["learning-rate"], "optimizer.learning-rate", default: nil) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) }
        let settings = ExperimentSpec.SpinGlassSettings(
            order: try sweep(glassNode["order"], "spin-glass.order", default: 3) { (node, field) throws(SpecError) in try integer(node, field, minimum: 2) },
            spins: try sweep(glassNode["spins"], "spin-glass.spins", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 2) },
            couplings: couplings,
            noise: try sweep(optimizerNode["noise"], "optimizer.noise", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0) },
            index: index)

        let schedule = try schedule(top)

        guard let stoppingRoot = top["stopping"] else { throw error(root, "stopping", "required: at least stopping.steps") }
        let stoppingNode = try mapping(stoppingRoot, "stopping", allowed: ["steps", "gradient-tolerance"])
        let stopping = ExperimentSpec.Stopping(
            epochs: try sweep(stoppingNode["steps"], "stopping.steps", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            gradientTolerance: try stoppingNode["gradient-tolerance"].map { (node) throws(SpecError) in try number(node, "stopping.gradient-tolerance", minimum: 0, exclusive: true) },
            patience: nil)
        let report = try report(top)
        let verify = try verify(top)
        let spec = ExperimentSpec(
            name: name, seed: seed, restarts: restarts,
            data: ExperimentSpec.Data(dataset: "none", trainingSamples: nil, sampling: .first, validationSamples: 0, testSamples: nil),
            model: ExperimentSpec.Model(architectures: [], activation: [], loss: []),
            initialization: ExperimentSpec.InitializationSpec(scheme: [], scale: []),
            optimizer: ExperimentSpec.Optimizer(batchSize: [], learningRate: rates, momentum: [], nesterov: [], weightDecay: []),
            schedule: schedule, stopping: stopping,
            metrics: ["energy", "gradient-norm"] + (index ? ["index"] : []), report: report, verify: verify, spinGlass: settings)
        let points = spec.sweepPoints
        let (trials, overflow) = points.count.multipliedReportingOverflow(by: restarts)
        guard !overflow, trials <= SpecParser.maximumTrials else {
            throw error(at: "restarts", "\(points.count) sweep points × \(restarts) restarts is more than \(SpecParser.maximumTrials) trials")
        }
        let fields = ["order": "spin-glass.order", "spins": "spin-glass.spins", "computeIndex": "spin-glass.index",
                      "optimizer.learningRate": "optimizer.learning-rate", "optimizer.noise": "optimizer.noise",
                      "stopping.maxEpochs": "stopping.steps", "stopping.gradientTolerance": "stopping.gradient-tolerance"]
        for point in points {
            guard case .spinGlass(let description) = spec.task(0, point: point, datasetSHA256: nil) else { continue }
            do throws(TrialDescriptionError) { try description.validate() } catch {
                let field = fields[error.field] ?? error.field
                throw self.error(at: field, "\(error.problem)" + (point.spins.map { " (at Λ = \($0))" } ?? ""))
            }
        }
        return spec
    }

    /// `probes: {samples, hessian: {extremes, max-steps, tolerance, density: {probes, steps}, exact-below, epsilon,
    /// minimum-tolerance}, paths: {points, init-to-end, between-restarts}}`.
    mutating func probes(_ node: Node, restarts: Int, trainingSamples: Int?) throws(SpecError) -> ExperimentSpec.Probes {
        let members = try mapping(node, "probes", allowed: ["samples", "hessian", "paths"])
        var probes = ExperimentSpec.Probes()
        if let samples = members["samples"] {
            let count = try integer(samples, "probes.samples", minimum: 1)
            if let trainingSamples, count > trainingSamples {
                throw error(samples, "probes.samples", "probes \(count) samples but each trial trains on \(trainingSamples)")
            }
            probes.samples = count
        }
        if let hessianNode = members["hessian"] { probes.hessian = try hessianProbe(hessianNode, "probes.hessian") }
        if let pathsNode = members["paths"] {
            let paths = try mapping(pathsNode, "probes.paths", allowed: ["points", "init-to-end", "between-restarts"])
            let between = try paths["between-restarts"].map { (n) throws(SpecError) in try integer(n, "probes.paths.between-restarts", minimum: 0) } ?? 0
            if 2 * between > restarts {
                throw error(paths["between-restarts"], "probes.paths.between-restarts", "pairs restarts r and r + \(between), so needs at least \(2 * between) restarts; the spec has \(restarts)")
            }
            probes.paths = ExperimentSpec.Probes.Paths(
                points: try paths["points"].map { (n) throws(SpecError) in try integer(n, "probes.paths.points", minimum: 2) } ?? 41,
                initToEnd: try paths["init-to-end"].map { (n) throws(SpecError) in try boolean(n, "probes.paths.init-to-end") } ?? true,
                betweenRestarts: between)
        }
        return probes
    }

    /// A Hessian probe at `path`: `{extremes, max-steps, tolerance, density: {probes, steps},
    /// exact-below, epsilon, minimum-tolerance}` (`probes.hessian`, `curve.index`).
    mutating func hessianProbe(_ node: Node, _ path: String) throws(SpecError) -> HessianProbe {
        let hessian = try mapping(node, path, allowed: ["extremes", "max-steps", "tolerance", "density", "exact-below", "epsilon", "minimum-tolerance"])
        var probe = HessianProbe()
        if let n = hessian["extremes"] { probe.extremes = try integer(n, "\(path).extremes", minimum: 1) }
        if let n = hessian["max-steps"] { probe.maximumSteps = try integer(n, "\(path).max-steps", minimum: 2) }
        if let n = hessian["tolerance"] { probe.tolerance = try number(n, "\(path).tolerance", minimum: 0, exclusive: true, maximumExclusive: 1) }
        if let n = hessian["exact-below"] { probe.exactBelow = try integer(n, "\(path).exact-below", minimum: 0) }
        if let n = hessian["epsilon"] { probe.epsilon = try number(n, "\(path).epsilon", minimum: 0, maximumExclusive: 1) }
        if let n = hessian["minimum-tolerance"] { probe.minimumTolerance = try number(n, "\(path).minimum-tolerance", minimum: 0, maximumExclusive: 1) }
        if let densityNode = hessian["density"] {
            let density = try mapping(densityNode, "\(path).density", allowed: ["probes", "steps"])
            probe.density = DensityProbe(
                probes: try density["probes"].map { (n) throws(SpecError) in try integer(n, "\(path).density.probes", minimum: 1) } ?? 8,
                steps: try density["steps"].map { (n) throws(SpecError) in try integer(n, "\(path).density.steps", minimum: 2) } ?? 80)
        }
        return probe
    }

    /// `optimizer.krylov: {dimension, damping: [δ…]}` (the damping list is the grid of one step, not a sweep).
    mutating func krylov(_ node: Node) throws(SpecError) -> KrylovSettings {
        let members = try mapping(node, "optimizer.krylov", allowed: ["dimension", "damping"])
        var settings = KrylovSettings()
        if let n = members["dimension"] { settings.dimension = try integer(n, "optimizer.krylov.dimension", minimum: 1) }
        if let n = members["damping"] {
            guard case .sequence(let values) = n, !values.isEmpty else {
                throw error(n, "optimizer.krylov.damping", "expected a list of damping values ≥ 0 tried each step, e.g. [0, 0.001, 0.01, 0.1, 1]")
            }
            settings.damping = []
            for (i, value) in values.enumerated() { settings.damping.append(try number(value, "optimizer.krylov.damping[\(i)]", minimum: 0)) }
        }
        if settings.dimension > 10_000 { throw error(members["dimension"], "optimizer.krylov.dimension", "must be at most 10000, got \(settings.dimension)") }
        if settings.damping.count > 64 { throw error(members["damping"], "optimizer.krylov.damping", "at most 64 values, got \(settings.damping.count)") }
        return settings
    }

    /// `warm-start: {epochs: e or [e…], optimizer: {kind: sgd|gd, batch-size, learning-rate, momentum, weight-decay}}`.
    mutating func warmStart(_ node: Node) throws(SpecError) -> ExperimentSpec.WarmStartSpec {
        let members = try mapping(node, "warm-start", allowed: ["epochs", "optimizer"])
        let epochs = try sweep(members["epochs"], "warm-start.epochs", default: nil) { (n, field) throws(SpecError) in try integer(n, field, minimum: 0) }
        guard let optimizerNode = members["optimizer"] else {
            throw error(node, "warm-start.optimizer", "required: the optimizer of the warm start, e.g. {batch-size: 10, learning-rate: 0.05}")
        }
        let o = try mapping(optimizerNode, "warm-start.optimizer", allowed: ["kind", "batch-size", "learning-rate", "momentum", "nesterov", "weight-decay"])
        let kind = try o["kind"].map { (n) throws(SpecError) in try choice(n, "warm-start.optimizer.kind", OptimizerKind.self) } ?? .sgd
        if kind.isSecondOrder { throw error(o["kind"], "warm-start.optimizer.kind", "a warm start is sgd or gd, not \(kind.rawValue)") }
        guard let rate = o["learning-rate"] else { throw error(optimizerNode, "warm-start.optimizer.learning-rate", "required") }
        let optimizer = OptimizerSpec(
            kind: kind,
            batchSize: try o["batch-size"].map { (n) throws(SpecError) in try integer(n, "warm-start.optimizer.batch-size", minimum: 1) } ?? 10,
            learningRate: try number(rate, "warm-start.optimizer.learning-rate", minimum: 0, exclusive: true),
            momentum: try o["momentum"].map { (n) throws(SpecError) in try number(n, "warm-start.optimizer.momentum", minimum: 0, maximumExclusive: 1) } ?? 0,
            nesterov: try o["nesterov"].map { (n) throws(SpecError) in try boolean(n, "warm-start.optimizer.nesterov") } ?? false,
            weightDecay: try o["weight-decay"].map { (n) throws(SpecError) in try number(n, "warm-start.optimizer.weight-decay", minimum: 0) } ?? 0)
        if optimizer.nesterov && optimizer.momentum == 0 {
            throw error(o["nesterov"], "warm-start.optimizer.nesterov", "Nesterov momentum needs warm-start.optimizer.momentum > 0")
        }
        return ExperimentSpec.WarmStartSpec(epochs: epochs, optimizer: optimizer)
    }

    static func specField(_ descriptionField: String) -> String {
        let names = [
            "optimizer.batchSize": "optimizer.batch-size", "optimizer.learningRate": "optimizer.learning-rate",
            "optimizer.weightDecay": "optimizer.weight-decay", "stopping.maxEpochs": "stopping.epochs",
            "stopping.gradientTolerance": "stopping.gradient-tolerance", "stopping.earlyStoppingPatience": "stopping.patience",
            "data.trainingSubset": "data.training-samples", "data.validationCount": "data.validation-samples", "data.testLimit": "data.test-samples",
            "probes.hessian.maximumSteps": "probes.hessian.max-steps", "probes.hessian.exactBelow": "probes.hessian.exact-below",
            "probes.hessian.minimumTolerance": "probes.hessian.minimum-tolerance",
            "stopping.targetLoss": "stopping.target-loss", "stopping.relativeGradientTolerance": "stopping.relative-gradient-tolerance",
            "warmStart.epochs": "warm-start.epochs", "warmStart.optimizer.batchSize": "warm-start.optimizer.batch-size",
            "warmStart.optimizer.learningRate": "warm-start.optimizer.learning-rate", "warmStart.optimizer.weightDecay": "warm-start.optimizer.weight-decay",
            "curve.index.maximumSteps": "curve.index.max-steps", "curve.index.exactBelow": "curve.index.exact-below",
            "curve.index.minimumTolerance": "curve.index.minimum-tolerance",
        ]
        return names[descriptionField] ?? descriptionField
    }
}
