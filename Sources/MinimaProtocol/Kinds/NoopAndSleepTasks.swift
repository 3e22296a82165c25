// Two kinds for the dispatch benchmarks and the tests: do nothing, or sleep. Both are on the hot
// path of the dispatch benchmark, so they write and read their envelopes by hand.

/// Do nothing and report at once: `{"kind": "noop"}`, answered by `{"kind": "noop"}`.
public struct NoopTask: TaskPayload, OutcomePayload {
    public typealias Outcome = NoopTask
    public static var wireKind: String { "noop" }
    public static var bodyKey: String? { nil }
    public static var repeatsOften: Bool { true }
    public init() {}
    public static func read(_ envelope: WireEnvelope) throws(MalformedMessage) -> NoopTask { NoopTask() }
    public func appendEnvelope(to out: inout [UInt8]) { out += Self.envelope }
    private static let envelope = Array(#"{"kind":"noop"}"#.utf8)
}

/// Sleep, then report (tests of leases, time limits and stragglers): `{"kind": "sleep",
/// "milliseconds": 20}`, answered by `{"kind": "slept", "milliseconds": 20}`.
public struct SleepTask: TaskPayload {
    public typealias Outcome = SleptOutcome
    public static var wireKind: String { "sleep" }
    public static var bodyKey: String? { nil }
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    public static func read(_ envelope: WireEnvelope) throws(MalformedMessage) -> SleepTask { SleepTask(milliseconds: try envelope.integer("milliseconds")) }
    public func appendEnvelope(to out: inout [UInt8]) { out += Array(#"{"kind":"sleep","milliseconds":\#(milliseconds)}"#.utf8) }
    public var invalidity: String? {
        (0...86_400_000).contains(milliseconds) ? nil : "sleep milliseconds must be between 0 and 86400000, got \(milliseconds)"
    }
}

/// A sleep task's outcome.
public struct SleptOutcome: OutcomePayload {
    public static var wireKind: String { "slept" }
    public static var bodyKey: String? { nil }
    public static var repeatsOften: Bool { true }
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    public static func read(_ envelope: WireEnvelope) throws(MalformedMessage) -> SleptOutcome { SleptOutcome(milliseconds: try envelope.integer("milliseconds")) }
    public func appendEnvelope(to out: inout [UInt8]) { out += Array(#"{"kind":"slept","milliseconds":\#(milliseconds)}"#.utf8) }
}

extension TaskDescription {
    /// Do nothing and report at once.
    public static let noop = TaskDescription(NoopTask())
    /// Sleep, then report.
    public static func sleep(milliseconds: Int) -> TaskDescription { TaskDescription(SleepTask(milliseconds: milliseconds)) }
}

extension TaskOutcome {
    public static let noop = TaskOutcome(NoopTask())
    public static func slept(milliseconds: Int) -> TaskOutcome { TaskOutcome(SleptOutcome(milliseconds: milliseconds)) }
}
