/// A spec file that cannot be run. The description is one line a person can act on:
/// `quick.yaml:12:3: optimizer.batch-size: expected a positive integer, got 'ten'`.
public struct SpecError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The dotted path of the field, e.g. `model.width[2]`.
    public var field: String
    public var problem: String

    public init(file: String, line: Int?, column: Int?, field: String, problem: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.problem = problem
    }

    public var description: String {
        let location = [file, line.map(String.init), column.map(String.init)].compactMap { $0 }.joined(separator: ":")
        let text = field.isEmpty ? "\(location): \(problem)" : "\(location): \(field): \(problem)"
        // Keys and values come from the user's command line and files: a control character is
        // shown as an escape, never sent to the terminal (it could redraw or hide the line).
        return String(text.unicodeScalars.map { $0.properties.generalCategory == .control && $0 != "\n" ? $0.escaped(asASCII: true) : String($0) }.joined())
    }
}
