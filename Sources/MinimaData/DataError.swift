/// A dataset file could not be read or does not hold what it should. The description names the
/// file and, where it applies, the byte offset.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// Offset in the (uncompressed) file where the problem was found.
    public var byteOffset: Int?
    public var problem: String

    public init(file: String, byteOffset: Int? = nil, problem: String) {
        self.file = file
        self.byteOffset = byteOffset
        self.problem = problem
    }

    public var description: String {
        if let byteOffset { return "\(file): \(problem) at byte \(byteOffset)" }
        return "\(file): \(problem)"
    }
}
