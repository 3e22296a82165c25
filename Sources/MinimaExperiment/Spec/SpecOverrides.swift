import Yams

/// `--set KEY=VALUE` overrides of a spec, in the grammar of Hydra's: a dotted key
/// (`optimizer.learning-rate`, `model.width`) and a YAML value (`0.05`, `[25, 100]`,
/// `{probes: 8, steps: 80}`). Later overrides win; missing mappings on the path are created.
/// The result is the spec's YAML with the overrides in place — what the run stores and hashes.
public enum SpecOverrides {
    public struct Override: Sendable, Equatable {
        /// The argument as given.
        public var argument: String
        public var path: [String]
        public var value: String
        public var key: String { path.joined(separator: ".") }
    }

    /// Reads `KEY=VALUE` arguments.
    public static func parse(_ arguments: [String]) throws(SpecError) -> [Override] {
        try arguments.map { (argument) throws(SpecError) -> Override in
            guard let equals = argument.firstIndex(of: "=") else {
                throw SpecError(file: "--set \(argument)", line: nil, column: nil, field: "", problem: "expected KEY=VALUE, e.g. --set restarts=40 or --set model.width=[25,100]")
            }
            let key = String(argument[..<equals]), value = String(argument[argument.index(after: equals)...])
            let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !key.isEmpty, path.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } }) else {
                throw SpecError(file: "--set \(argument)", line: nil, column: nil, field: key, problem: "expected a dotted key of letters, digits, '-' and '_', e.g. optimizer.learning-rate")
            }
            guard !value.isEmpty else {
                throw SpecError(file: "--set \(argument)", line: nil, column: nil, field: key, problem: "no value after '='")
            }
            // Checked before YAML sees them, whose recursion a hostile value or key could drive
            // into a stack overflow (as for spec files).
            guard path.count <= SpecParser.maximumNesting else {
                throw SpecError(file: "--set \(argument.prefix(80))…", line: nil, column: nil, field: "", problem: "a key \(path.count) levels deep; a spec is at most \(SpecParser.maximumNesting)")
            }
            if let (depth, _) = SpecParser.nesting(of: value), depth > SpecParser.maximumNesting {
                throw SpecError(file: "--set \(key)=…", line: nil, column: nil, field: key, problem: "a value nested \(depth) levels deep; a spec is at most \(SpecParser.maximumNesting)")
            }
            return Override(argument: argument, path: path, value: value)
        }
    }

    /// `text` (YAML) with `overrides` applied, as YAML.
    public static func apply(_ overrides: [Override], to text: String, file: String) throws(SpecError) -> String {
        guard !overrides.isEmpty else { return text }
        var root: Node
        do {
            guard let parsed = try Yams.compose(yaml: text) else {
                throw SpecError(file: file, line: 1, column: 1, field: "", problem: "the file is empty; nothing to override")
            }
            root = parsed
        } catch let error as SpecError {
            throw error
        } catch {
            // The spec's own parse names the YAML problem with its line; let it.
            _ = try SpecParser.parse(yaml: text, file: file)
            throw SpecError(file: file, line: nil, column: nil, field: "", problem: "not valid YAML: \(error)")
        }
        for override in overrides {
            let value: Node
            do {
                guard let node = try Yams.compose(yaml: override.value) else { throw SpecError(file: "--set \(override.argument)", line: nil, column: nil, field: override.key, problem: "no value") }
                value = node
            } catch let error as SpecError {
                throw error
            } catch {
                throw SpecError(file: "--set \(override.argument)", line: nil, column: nil, field: override.key, problem: "the value is not valid YAML: \(error)")
            }
            try set(value, at: override.path[...], in: &root, override: override)
        }
        do { return try Yams.serialize(node: root) } catch {
            throw SpecError(file: file, line: nil, column: nil, field: "", problem: "cannot write the spec back as YAML: \(error)")
        }
    }

    private static func set(_ value: Node, at path: ArraySlice<String>, in node: inout Node, override: Override) throws(SpecError) {
        guard case .mapping(var mapping) = node else {
            let parent = override.path[..<(override.path.count - path.count)].joined(separator: ".")
            throw SpecError(file: "--set \(override.argument)", line: nil, column: nil, field: override.key,
                            problem: "\(parent.isEmpty ? "the spec" : parent) is not a mapping, so it has no key '\(path.first!)'")
        }
        let key = path.first!
        if path.count == 1 {
            mapping[key] = value
        } else {
            var child = mapping[key] ?? Node.mapping(Node.Mapping([]))
            try set(value, at: path.dropFirst(), in: &child, override: override)
            mapping[key] = child
        }
        node = .mapping(mapping)
    }

    /// Parses `text` after `overrides`, naming the override an error comes from.
    public static func parse(_ text: String, file: String, overrides: [Override]) throws(SpecError) -> (spec: ExperimentSpec, text: String) {
        let overridden = try apply(overrides, to: text, file: file)
        do throws(SpecError) {
            return (try SpecParser.parse(yaml: overridden, file: file), overridden)
        } catch {
            if let culprit = overrides.last(where: { error.field == $0.key || error.field.hasPrefix($0.key + ".") || error.field.hasPrefix($0.key + "[") }) {
                throw SpecError(file: "--set \(culprit.argument)", line: nil, column: nil, field: error.field, problem: error.problem)
            }
            // Not an override's field: the spec's own mistake, with its own line numbers.
            do throws(SpecError) { _ = try SpecParser.parse(yaml: text, file: file) } catch { throw error }
            throw SpecError(file: "\(file) with \(overrides.map { "--set \($0.argument)" }.joined(separator: " "))", line: nil, column: nil,
                            field: error.field, problem: error.problem)
        }
    }
}
