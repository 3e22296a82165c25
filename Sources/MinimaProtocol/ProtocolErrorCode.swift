/// The codes of ``ProtocolError`` messages, named like swift-system's `Errno`. A struct, not an
/// enum: a peer of another version may send a code this build does not know, and it must still
/// be read (and shown) rather than make the whole message unreadable.
public struct ProtocolErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }

    /// The peer speaks no protocol version this coordinator speaks; it is ignored from then on.
    public static let unsupportedVersion = ProtocolErrorCode(rawValue: "unsupported-version")
    /// The coordinator does not know the peer (it restarted, or the peer skipped hello).
    public static let helloFirst = ProtocolErrorCode(rawValue: "hello-first")
    /// The coordinator cannot serve the dataset asked for.
    public static let unknownDataset = ProtocolErrorCode(rawValue: "unknown-dataset")
    /// The hello is refused: its worker name is empty, longer than 128 bytes or not printable.
    public static let invalidHello = ProtocolErrorCode(rawValue: "invalid-hello")
    /// The worker's results disagreed with other workers'; it gets no more trials.
    public static let quarantined = ProtocolErrorCode(rawValue: "quarantined")
}
