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
    /// Sweep points a spec may combine: a million points already take a few hundred MB to plan.
    public static let maximumSweepPoints = 1_000_000

    /// Counts a sweep before it is built: nil when the product of `dimensions` (each a spec
    /// field and its list's length) is at most ``maximumSweepPoints``, else the field of the
    /// longest list and a refusal that shows the sweep's shape.
    static func tooLargeSweep(_ dimensions: [(field: String, count: Int)]) -> (field: String, problem: String)? {
        var size = 1, overflow = false
        for dimension in dimensions {
            let product = size.multipliedReportingOverflow(by: dimension.count)
            size = product.partialValue
            overflow = overflow || product.overflow
        }
        guard overflow || size > maximumSweepPoints else { return nil }
        let shown = dimensions.filter { $0.count > 1 }
        let longest = shown.max { $0.count < $1.count }?.field ?? ""
        return (longest, "\(shown.map { "\($0.count) (\($0.field))" }.joined(separator: " × ")) = \(overflow ? "more than 2⁶³" : "\(size)") sweep points; a spec may combine at most \(maximumSweepPoints)")
    }
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
        var reader = SpecReader(file: file)
        let kind = try reader.kind(of: root)
        return try kind.parse(root, reader: &reader)
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
