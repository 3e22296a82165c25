/// The kind of a task on the wire: the `"kind"` of a task description (`train`, `spin-glass`,
/// `noop`, `sleep`, and whatever an extension registers). Workers list the kinds they run in
/// their hello; the coordinator leases them only those.
///
/// A struct rather than an enum, like swift-system's `Errno`: the kinds are open (a kind defined
/// outside this module registers with ``TaskRegistry``), and a hello may name a kind this build
/// does not know.
public struct TaskKind: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: TaskKind, b: TaskKind) -> Bool { a.rawValue < b.rawValue }
}
