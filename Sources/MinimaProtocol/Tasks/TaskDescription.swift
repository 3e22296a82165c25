import MinimaCore

/// What a worker is asked to do for one trial: a task of some registered kind.
///
/// On the wire (docs/PROTOCOL.md) an envelope `{"kind": K, …}`: `{"kind": "train", "trial": {…}}`,
/// `{"kind": "spin-glass", "trial": {…}}`, `{"kind": "noop"}`, `{"kind": "sleep", "milliseconds": 20}`.
public struct TaskDescription: Hashable, Sendable, Codable {
    public let payload: any TaskPayload

    public init(_ payload: any TaskPayload) { self.payload = payload }

    public var kind: TaskKind { type(of: payload).kind }
    /// The SHA-256 of the dataset the task needs, if any.
    public var datasetSHA256: String? { payload.datasetSHA256 }
    /// The payload if it is of type `P`.
    public func `as`<P: TaskPayload>(_: P.Type) -> P? { payload as? P }

    public static func == (a: TaskDescription, b: TaskDescription) -> Bool { AnyHashable(a.payload) == AnyHashable(b.payload) }
    public func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(payload)) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: EnvelopeKey.self)
        let kind = try container.decode(String.self, forKey: .kind)
        guard let type = TaskRegistry.taskType(kind) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown task kind '\(kind)' (expected \(TaskRegistry.taskNames))")
        }
        payload = try type.decodeEnvelope(from: decoder)
    }

    public func encode(to encoder: Encoder) throws { try payload.encodeEnvelope(to: encoder) }
}

/// What a task produced: an outcome of the task's kind.
public struct TaskOutcome: Hashable, Sendable, Codable {
    public let payload: any OutcomePayload

    public init(_ payload: any OutcomePayload) { self.payload = payload }

    /// The payload if it is of type `P`.
    public func `as`<P: OutcomePayload>(_: P.Type) -> P? { payload as? P }
    /// The envelope's kind (`trained`, `spin-glass`, `noop`, `slept`, …).
    public var wireKind: String { type(of: payload).wireKind }

    /// The outcome without its non-deterministic parts: two runs of one task must agree on this.
    public var deterministicPart: TaskOutcome { TaskOutcome(payload.deterministicPart) }

    public static func == (a: TaskOutcome, b: TaskOutcome) -> Bool { AnyHashable(a.payload) == AnyHashable(b.payload) }
    public func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(payload)) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: EnvelopeKey.self)
        let kind = try container.decode(String.self, forKey: .kind)
        guard let type = TaskRegistry.outcomeType(kind) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown outcome kind '\(kind)' (expected \(TaskRegistry.outcomeNames))")
        }
        payload = try type.decodeEnvelope(from: decoder)
    }

    public func encode(to encoder: Encoder) throws { try payload.encodeEnvelope(to: encoder) }
}

/// The keys of an envelope: `kind` and the kind's body key.
struct EnvelopeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    static let kind = EnvelopeKey(stringValue: "kind")
}

extension WirePayload {
    static func decodeEnvelope(from decoder: Decoder) throws -> Self {
        guard let bodyKey else { return try Self(from: decoder) }
        return try decoder.container(keyedBy: EnvelopeKey.self).decode(Self.self, forKey: EnvelopeKey(stringValue: bodyKey))
    }

    func encodeEnvelope(to encoder: Encoder) throws {
        if let bodyKey = Self.bodyKey {
            var container = encoder.container(keyedBy: EnvelopeKey.self)
            try container.encode(Self.wireKind, forKey: .kind)
            try container.encode(self, forKey: EnvelopeKey(stringValue: bodyKey))
        } else {
            try encode(to: encoder)
            var container = encoder.container(keyedBy: EnvelopeKey.self)
            try container.encode(Self.wireKind, forKey: .kind)
        }
    }
}
