import MinimaCore
import MinimaProtocol
import Yams

/// Where is the global minimum? Two-layer ReLU students against a teacher of k units on the
/// population loss under Gaussian inputs (Safran & Shamir 2018), whose global minimum is 0: every
/// restart either reaches it or ends somewhere measurably above it. The spec's `teacher-student`
/// section sweeps the teacher's units k and the student's units n (written as rules in k: `k`,
/// `k+1`, `2k`, or a number); a trial is a ``TeacherStudentDescription`` (task kind
/// `teacher-student`). It needs no dataset.
public enum TeacherStudentKind: ExperimentKind {
    public static let name = "teacher-student"
    public static var taskTypes: [any TaskPayload.Type] { [TeacherStudentDescription.self] }
    public static var settingsType: (any KindSettings.Type)? { TeacherStudentSettings.self }

    static func settings(_ spec: ExperimentSpec) -> TeacherStudentSettings {
        guard let settings = spec.section?.as(TeacherStudentSettings.self) else { preconditionFailure("a teacher-student spec without its section") }
        return settings
    }

    public static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec {
        let top = try reader.mapping(root, "", allowed: ["name", "kind", "seed", "restarts", "teacher-student", "report", "verify"])
        let (name, seed, restarts) = try reader.identity(top, root)
        guard let sectionNode = top["teacher-student"] else { throw reader.error(root, "teacher-student", "required: at least teacher-student.teacher-units") }
        let section = try reader.mapping(sectionNode, "teacher-student", allowed: [
            "teacher-units", "student-units", "inputs", "teacher", "learning-rate", "momentum", "max-steps", "gradient-tolerance",
            "global-tolerance", "recovery-cosine", "hessian"])
        let teacherUnits = try reader.sweep(section["teacher-units"], "teacher-student.teacher-units", default: nil) { (node, field) throws(SpecError) in
            let value = try reader.integer(node, field, minimum: 1)
            guard value <= 256 else { throw reader.error(node, field, "at most 256 units, got \(value)") }
            return value
        }
        let studentUnits = try reader.sweep(section["student-units"], "teacher-student.student-units", default: UnitRule.same) { (node, field) throws(SpecError) in
            let text = try reader.scalar(node, field, expected: "k, k+M, Mk or a number of units")
            guard let rule = UnitRule(text) else { throw reader.error(node, field, "'\(text.prefix(40))' is not k, k+M, Mk or a number of units (1…256)") }
            return rule
        }
        let inputs = try section["inputs"].map { (node) throws(SpecError) in
            let text = try reader.scalar(node, "teacher-student.inputs", expected: "k, k+M, Mk or a number")
            guard let rule = UnitRule(text) else { throw reader.error(node, "teacher-student.inputs", "'\(text.prefix(40))' is not k, k+M, Mk or a number (1…256)") }
            return rule
        } ?? .same
        func number(_ key: String, minimum: Double, maximumExclusive: Double? = nil, default value: Double) throws(SpecError) -> Double {
            try section[key].map { (node) throws(SpecError) in try reader.number(node, "teacher-student.\(key)", minimum: minimum, exclusive: minimum == 0 && maximumExclusive == nil, maximumExclusive: maximumExclusive) } ?? value
        }
        let settings = TeacherStudentSettings(
            teacherUnits: teacherUnits, studentUnits: studentUnits, inputs: inputs,
            teacher: try section["teacher"].map { (node) throws(SpecError) in try reader.choice(node, "teacher-student.teacher", TeacherStudentDescription.TeacherLaw.self) } ?? .orthonormal,
            learningRate: try number("learning-rate", minimum: 0, default: 0.05),
            momentum: try section["momentum"].map { (node) throws(SpecError) in try reader.number(node, "teacher-student.momentum", minimum: 0, maximumExclusive: 1) } ?? 0.9,
            maxSteps: try section["max-steps"].map { (node) throws(SpecError) in try reader.integer(node, "teacher-student.max-steps", minimum: 0) } ?? 20_000,
            gradientTolerance: try number("gradient-tolerance", minimum: 0, default: 1e-7),
            globalTolerance: try number("global-tolerance", minimum: 0, default: 1e-5),
            recoveryCosine: try number("recovery-cosine", minimum: 0, default: 0.99),
            hessian: try section["hessian"].map { (node) throws(SpecError) in try reader.boolean(node, "teacher-student.hessian") } ?? true)
        let spec = ExperimentSpec(name: name, seed: seed, restarts: restarts, section: settings, metrics: metrics,
                                  report: try reader.report(top), verify: try reader.verify(top))
        let points = sweepPoints(of: spec)
        let (trials, overflow) = points.count.multipliedReportingOverflow(by: restarts)
        guard !overflow, trials <= SpecParser.maximumTrials else {
            throw reader.error(at: "restarts", "\(points.count) sweep points × \(restarts) restarts is more than \(SpecParser.maximumTrials) trials")
        }
        for point in points {
            guard let description = task(0, point: point, spec: spec, datasetSHA256: nil).as(TeacherStudentDescription.self) else { continue }
            do throws(TrialDescriptionError) { try description.validate() } catch {
                throw reader.error(at: fields.specPath(of: error.field), "\(error.problem) (at k = \(description.teacherUnits), n = \(description.studentUnits), d = \(description.inputs))")
            }
        }
        return spec
    }

    /// Per trial: the final population loss, whether it is the global minimum, a spurious
    /// minimum (as 1 or 0, so that their means are fractions), the teacher units recovered and
    /// the gradient's norm.
    public static let metrics = ["loss", "at-global-minimum", "spurious-minimum", "recovered-units", "gradient-norm"]

    /// k outermost, then the student rule.
    public static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint] {
        let settings = settings(spec)
        var points: [SweepPoint] = []
        for k in settings.teacherUnits {
            for (ruleIndex, rule) in settings.studentUnits.enumerated() {
                points.append(SweepPoint(index: points.count, coordinates: [
                    "teacher-units": Double(k), "student-units": Double(rule.units(k)), "inputs": Double(settings.inputs.units(k)), "student-rule": Double(ruleIndex),
                ], learningRate: settings.learningRate, epochs: settings.maxSteps))
            }
        }
        return points
    }

    public static func varyingDimensions(of spec: ExperimentSpec) -> Set<String> {
        let settings = settings(spec)
        var varying = Set<String>()
        if settings.teacherUnits.count > 1 { varying.insert("teacher-units") }
        if settings.studentUnits.count > 1 { varying.insert("student-units") }
        return varying
    }

    public static func label(of point: SweepPoint, varying: Set<String>) -> String {
        let k = Int(point.coordinates["teacher-units"] ?? 0), n = Int(point.coordinates["student-units"] ?? 0)
        return "k = \(k), n = \(n)"
    }

    /// The student's parameters n·d.
    public static func size(of point: SweepPoint, stored: StoredSpec) -> Int {
        Int(point.coordinates["student-units"] ?? 0) * Int(point.coordinates["inputs"] ?? 0)
    }

    public static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription {
        let settings = settings(spec)
        return TaskDescription(TeacherStudentDescription(
            seed: spec.seed, trialIndex: UInt64(index), teacherUnits: Int(point.coordinates["teacher-units"] ?? 0),
            studentUnits: Int(point.coordinates["student-units"] ?? 0), inputs: Int(point.coordinates["inputs"] ?? 0),
            teacher: settings.teacher, teacherRealization: UInt64(point.index), learningRate: settings.learningRate, momentum: settings.momentum,
            maxSteps: settings.maxSteps, gradientTolerance: settings.gradientTolerance, globalTolerance: settings.globalTolerance,
            recoveryCosine: settings.recoveryCosine, checkHessian: settings.hessian))
    }

    public static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String]) {
        (StoredSpec(spec: spec, datasetSHA256: "", inputs: 0, classes: 0), [:])
    }

    /// Per step: n(n + k) kernel evaluations of about 6d + 60 FLOP (the arccos series); most
    /// restarts stop within a tenth of the step budget.
    public static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double {
        let k = point.coordinates["teacher-units"] ?? 0, n = point.coordinates["student-units"] ?? 0, d = point.coordinates["inputs"] ?? 0
        return n * (n + k) * (6 * d + 60) * max(1, Double(point.epochs) / 10)
    }

    public static func describe(_ point: SweepPoint, stored: StoredSpec) -> String {
        let k = Int(point.coordinates["teacher-units"] ?? 0), n = Int(point.coordinates["student-units"] ?? 0), d = Int(point.coordinates["inputs"] ?? 0)
        return "teacher of \(k) ReLU units, student of \(n), d = \(d), at most \(point.epochs) steps on the population loss"
    }

    /// Description paths ↔ spec keys.
    public static let fields = FieldNames([
        FieldName("teacherUnits", spec: "teacher-student.teacher-units", flag: nil),
        FieldName("studentUnits", spec: "teacher-student.student-units", flag: nil),
        FieldName("inputs", spec: "teacher-student.inputs", flag: nil),
        FieldName("teacher", spec: "teacher-student.teacher", flag: nil),
        FieldName("learningRate", spec: "teacher-student.learning-rate", flag: nil),
        FieldName("momentum", spec: "teacher-student.momentum", flag: nil),
        FieldName("maxSteps", spec: "teacher-student.max-steps", flag: nil),
        FieldName("gradientTolerance", spec: "teacher-student.gradient-tolerance", flag: nil),
        FieldName("globalTolerance", spec: "teacher-student.global-tolerance", flag: nil),
        FieldName("recoveryCosine", spec: "teacher-student.recovery-cosine", flag: nil),
    ])
}

/// A number of units as a rule in the teacher's k: `k`, `k+M`, `Mk`, or a fixed number.
public enum UnitRule: Codable, Hashable, Sendable, CustomStringConvertible {
    case same
    case plus(Int)
    case times(Int)
    case fixed(Int)

    public init?(_ text: String) {
        let t = text.replacingOccurrences(of: " ", with: "")
        if t == "k" { self = .same; return }
        if t.hasPrefix("k+"), let m = Int(t.dropFirst(2)), (1...256).contains(m) { self = .plus(m); return }
        if t.hasSuffix("k"), let m = Int(t.dropLast()), (1...16).contains(m) { self = .times(m); return }
        if let n = Int(t), (1...256).contains(n) { self = .fixed(n); return }
        return nil
    }

    public func units(_ k: Int) -> Int {
        switch self {
        case .same: k
        case .plus(let m): k + m
        case .times(let m): m * k
        case .fixed(let n): n
        }
    }

    public var description: String {
        switch self {
        case .same: "k"
        case .plus(let m): "k+\(m)"
        case .times(let m): "\(m)k"
        case .fixed(let n): "\(n)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let rule = UnitRule(text) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a unit rule: \(text)")) }
        self = rule
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// `teacher-student:` — the sweep and the descent of a teacher–student study.
public struct TeacherStudentSettings: KindSettings {
    public static var kind: String { TeacherStudentKind.name }
    /// k, swept.
    public var teacherUnits: [Int]
    /// n as rules in k, swept.
    public var studentUnits: [UnitRule]
    /// d as a rule in k (`k`: d = k, as the paper).
    public var inputs: UnitRule
    public var teacher: TeacherStudentDescription.TeacherLaw
    public var learningRate: Double
    public var momentum: Double
    public var maxSteps: Int
    public var gradientTolerance: Double
    public var globalTolerance: Double
    public var recoveryCosine: Double
    public var hessian: Bool
}
