import Foundation
import MinimaCore

/// A value that travels inside a task or outcome envelope: `{"kind": K, "trial": {…}}` (a body
/// under a key) or `{"kind": K, "milliseconds": 20}` (fields beside the kind). docs/PROTOCOL.md
/// lists the kinds and their forms.
public protocol WirePayload: Codable, Hashable, Sendable {
    /// The envelope's `"kind"`.
    static var wireKind: String { get }
    /// The envelope's key for the body (`trial`, `result`); nil: the fields sit beside `kind`.
    static var bodyKey: String? { get }
    /// Whether a body with a field this build does not know is refused (trial descriptions: a
    /// setting is never silently ignored) rather than read without it.
    static var refusesUnknownFields: Bool { get }
    /// Reads the payload from its envelope as the fast codec scanned it. The default reads the
    /// body with Codable; payloads that are on the hot path of dispatch (no-op, sleep) read their
    /// fields directly.
    static func read(_ envelope: WireEnvelope) throws(MalformedMessage) -> Self
    /// The whole envelope's canonical JSON, appended to `out`. The default encodes with Codable.
    func appendEnvelope(to out: inout [UInt8])
}

extension WirePayload {
    public static var refusesUnknownFields: Bool { false }
    public static func read(_ envelope: WireEnvelope) throws(MalformedMessage) -> Self {
        try envelope.body(Self.self, strict: refusesUnknownFields)
    }
}

/// What a worker is asked to do for one trial: the description of one kind of task.
public protocol TaskPayload: WirePayload {
    associatedtype Outcome: OutcomePayload
    /// The kind workers name in their hello (the same string as ``WirePayload/wireKind``).
    static var kind: TaskKind { get }
    /// Why `outcome`, of the right kind, still does not answer this task (a field the description
    /// asked for is missing: the worker is older than the coordinator); nil when it does.
    func incompleteness(of outcome: Outcome) -> String?
    /// The SHA-256 of the dataset the task needs, if any (what a worker fetches).
    var datasetSHA256: String? { get }
    /// What is wrong with the description (`trial.optimizer.batchSize: must be ≥ 1, got 0`), nil
    /// when it can run: a task file is checked before its run starts.
    var invalidity: String? { get }
}

extension TaskPayload {
    public static var kind: TaskKind { TaskKind(rawValue: wireKind) }
    public func incompleteness(of outcome: Outcome) -> String? { nil }
    public var datasetSHA256: String? { nil }
    public var invalidity: String? { nil }
    public func appendEnvelope(to out: inout [UInt8]) { out += canonicalJSONBytes(TaskDescription(self)) }

    /// Why `outcome` does not answer this task: another kind, or an incomplete one (nil: it does).
    public func problem(with outcome: any OutcomePayload) -> String? {
        guard let typed = outcome as? Outcome else {
            return "a '\(type(of: outcome).wireKind)' outcome for a '\(Self.wireKind)' task"
        }
        return incompleteness(of: typed)
    }
}

/// What a task produced.
public protocol OutcomePayload: WirePayload {
    /// The outcome without its non-deterministic parts (timings): two runs of one task agree on it.
    var deterministicPart: Self { get }
    /// Whether outcomes of this kind take few distinct values (no-op, sleep), so that their stored
    /// form is worth computing once and caching.
    static var repeatsOften: Bool { get }
}

extension OutcomePayload {
    public var deterministicPart: Self { self }
    public static var repeatsOften: Bool { false }
    public func appendEnvelope(to out: inout [UInt8]) { out += canonicalJSONBytes(TaskOutcome(self)) }
}

/// An envelope as the fast codec scanned it, for ``WirePayload/read(_:)``.
public struct WireEnvelope {
    let object: Members
    let bytes: [UInt8]
    let range: Range<Int>?
    /// Where the envelope is in the message (`leases[3].task`), for errors.
    public let path: String
    var bodyKey: String?

    /// An integer field beside the kind.
    public func integer(_ key: String) throws(MalformedMessage) -> Int {
        guard let value = object[key], !value.isNull else { throw MalformedMessage(problem: "\(path): missing field '\(key)'") }
        guard let integer = value.integer, let exact = Int(exactly: integer) else { throw MalformedMessage(problem: "\(path).\(key): expected an integer") }
        return exact
    }

    /// The body (under the body key, or the whole envelope), read with Codable. `strict`: a field
    /// the type does not know is an error naming it.
    public func body<T: Decodable & Encodable>(_ type: T.Type, strict: Bool) throws(MalformedMessage) -> T {
        let bodyRange: Range<Int>
        let bodyPath: String
        if let bodyKey {
            guard let value = object[bodyKey], !value.isNull else { throw MalformedMessage(problem: "\(path): missing field '\(bodyKey)'") }
            guard let range = value.objectRange else { throw MalformedMessage(problem: "\(path).\(bodyKey): expected an object") }
            (bodyRange, bodyPath) = (range, path + "." + bodyKey)
        } else {
            guard let range else { throw MalformedMessage(problem: "\(path): expected an object") }
            (bodyRange, bodyPath) = (range, path)
        }
        let decoded: T
        do { decoded = try MessageCodec.makeDecoder().decode(T.self, from: Data(bytes[bodyRange])) } catch {
            throw MalformedMessage(problem: "\(bodyPath): \(MessageCodec.describe(error, in: Data(bytes[bodyRange])))")
        }
        guard strict,
              let given = try? JSONSerialization.jsonObject(with: Data(bytes[bodyRange])),
              let known = try? JSONSerialization.jsonObject(with: Data(canonicalJSONBytes(decoded))) else { return decoded }
        if let unknown = FastCodec.firstUnknownKey(given, known, path: bodyPath) {
            throw MalformedMessage(problem: "\(unknown): unknown field of a trial description (is the worker older than the coordinator?)")
        }
        return decoded
    }
}
