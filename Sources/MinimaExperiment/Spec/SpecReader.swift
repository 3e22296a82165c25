import Foundation
import MinimaCore
import Yams

/// Walks a spec's YAML tree for the kinds' parsers, remembering where each field was written so
/// that every error names the file, line, column and field. The helpers read one value each
/// (`integer`, `number`, `choice`, `sweep` for a value or a list of values to sweep); the common
/// sections (`identity`, `schedule`, `report`, `verify`) are read the same way for every kind.
public struct SpecReader {
    public let file: String
    /// Where each field path was written, for errors found after parsing (value checks).
    public var marks: [String: Mark] = [:]

    public init(file: String) { self.file = file }

    public func error(_ node: Node?, _ field: String, _ problem: String) -> SpecError {
        SpecError(file: file, line: node?.mark?.line, column: node?.mark?.column, field: field, problem: problem)
    }

    public func error(at field: String, _ problem: String) -> SpecError {
        let mark = marks[field]
        return SpecError(file: file, line: mark?.line, column: mark?.column, field: field, problem: problem)
    }

    /// The members of a mapping, checking that every key is one of `allowed`.
    public mutating func mapping(_ node: Node, _ path: String, allowed: [String]) throws(SpecError) -> [String: Node] {
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

    public func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    public func scalar(_ node: Node, _ field: String, expected: String) throws(SpecError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, field, "expected \(expected), got \(describe(node))") }
        return scalar.string
    }

    public func integer(_ node: Node, _ field: String, minimum: Int) throws(SpecError) -> Int {
        let expected = minimum == 0 ? "a non-negative integer" : minimum == 1 ? "a positive integer" : "an integer ≥ \(minimum)"
        let text = try scalar(node, field, expected: expected)
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else { throw error(node, field, "expected \(expected), got '\(text)'") }
        guard value >= minimum else { throw error(node, field, "expected \(expected), got \(value)") }
        return value
    }

    public func number(_ node: Node, _ field: String, minimum: Double, exclusive: Bool = false, maximumExclusive: Double? = nil) throws(SpecError) -> Double {
        let range = (exclusive ? "> \(minimum)" : "≥ \(minimum)") + (maximumExclusive.map { " and < \($0)" } ?? "")
        let text = try scalar(node, field, expected: "a number \(range)")
        guard let value = Double(text), value.isFinite else { throw error(node, field, "expected a number \(range), got '\(text)'") }
        guard exclusive ? value > minimum : value >= minimum, maximumExclusive.map({ value < $0 }) ?? true else {
            throw error(node, field, "expected a number \(range), got \(text)")
        }
        return value
    }

    public func boolean(_ node: Node, _ field: String) throws(SpecError) -> Bool {
        let text = try scalar(node, field, expected: "true or false")
        switch text.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error(node, field, "expected true or false, got '\(text)'")
        }
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ field: String, _: T.Type) throws(SpecError) -> T where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let text = try scalar(node, field, expected: "one of \(names.joined(separator: ", "))")
        guard let value = T.allCases.first(where: { $0.rawValue == text }) else { throw error(node, field, "expected one of \(names.joined(separator: ", ")), got '\(text)'") }
        return value
    }

    /// A value or a list of values to sweep (never empty).
    public func sweep<T>(_ node: Node?, _ field: String, default value: T?, _ parse: (Node, String) throws(SpecError) -> T) throws(SpecError) -> [T] {
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


    /// name, seed and restarts, common to every kind of spec.
    public mutating func identity(_ top: [String: Node], _ root: Node) throws(SpecError) -> (name: String, seed: UInt64, restarts: Int) {
        guard let nameNode = top["name"] else { throw error(root, "name", "required: a name for the experiment") }
        let name = try scalar(nameNode, "name", expected: "a name")
        if let problem = ExperimentName.problem(name) { throw error(nameNode, "name", problem) }
        let seed = try top["seed"].map { (node) throws(SpecError) in UInt64(try integer(node, "seed", minimum: 0)) } ?? 0
        guard let restartsNode = top["restarts"] else { throw error(root, "restarts", "required: random restarts per sweep point") }
        let restarts = try integer(restartsNode, "restarts", minimum: 1)
        guard restarts <= SpecParser.maximumTrials else { throw error(restartsNode, "restarts", "at most \(SpecParser.maximumTrials), got \(restarts)") }
        return (name, seed, restarts)
    }

    /// `schedule: {kind, k | gamma | factor, every}`.
    public mutating func schedule(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Schedule {
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

    /// `report: {epsilon, bins, targets}`.
    public mutating func report(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Report {
        let reportNode = try top["report"].map { (node) throws(SpecError) in try mapping(node, "report", allowed: ["epsilon", "bins", "targets"]) } ?? [:]
        var targets: [Double]?
        if let node = reportNode["targets"] {
            guard case .sequence(let items) = node, !items.isEmpty, items.count <= 16 else {
                throw error(node, "report.targets", "expected a list of 1 to 16 training losses, e.g. [0.3, 0.1, 0.05]: the report gives the time and work to reach each (needs curve:)")
            }
            targets = []
            for (i, item) in items.enumerated() { targets!.append(try number(item, "report.targets[\(i)]", minimum: 0)) }
            guard top["curve"] != nil else { throw error(node, "report.targets", "the time to each target is read from the learning curve; add curve: {} to the spec") }
        }
        var report = ExperimentSpec.Report(
            epsilon: try reportNode["epsilon"].map { (node) throws(SpecError) in try number(node, "report.epsilon", minimum: 0, exclusive: true) } ?? 0.01,
            bins: try reportNode["bins"].map { (node) throws(SpecError) in
                let bins = try integer(node, "report.bins", minimum: 2)
                guard bins <= ExperimentSpec.Report.maximumBins else { throw error(node, "report.bins", "at most \(ExperimentSpec.Report.maximumBins), got \(bins)") }
                return bins
            } ?? 30)
        report.targets = targets
        return report
    }

    /// `verify: {fraction}`.
    public mutating func verify(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Verify? {
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

    /// The kind a spec names (`kind:`; networks when it names none).
    mutating func kind(of root: Node) throws(SpecError) -> any ExperimentKind.Type {
        guard case .mapping(let mapping) = root, let kindNode = mapping["kind"] else { return NetworkKind.self }
        let all = ExperimentKinds.names
        let names = all.count > 1 ? all.dropLast().joined(separator: ", ") + " or " + all.last! : all.joined()
        let name = try scalar(kindNode, "kind", expected: names)
        guard let kind = ExperimentKinds.named(name) else { throw error(kindNode, "kind", "expected \(names), got '\(name)'") }
        return kind
    }
}
