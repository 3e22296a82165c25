/// One row per setting that a trial description validates: its path in the description (what
/// `TrialDescriptionError.field` says), its key in a spec, and the flag of `minima train` or
/// `minima spin-glass` that sets it. Errors found by a description's validation are reported
/// under the spec key or the flag through this one table.
public struct FieldName: Sendable {
    public var description: String
    public var spec: String
    public var flag: String?

    public init(_ description: String, spec: String, flag: String? = nil) {
        self.description = description
        self.spec = spec
        self.flag = flag
    }
}

/// A kind's table of ``FieldName``s. A description path not listed is reported as it is; a path
/// under a listed one (`probes.hessian.density.steps` under `probes.hessian.density`, an element
/// `model.hidden[2]`) keeps its remainder.
public struct FieldNames: Sendable {
    public var rows: [FieldName]
    public init(_ rows: [FieldName]) { self.rows = rows }

    /// The row for `path` and the remainder of `path` after the row's description path.
    private func row(for path: String) -> (FieldName, Substring)? {
        var best: (FieldName, Substring)?
        for row in rows where path.hasPrefix(row.description) {
            let rest = path.dropFirst(row.description.count)
            guard rest.isEmpty || rest.first == "." || rest.first == "[" else { continue }
            if best.map({ row.description.count > $0.0.description.count }) ?? true { best = (row, rest) }
        }
        return best
    }

    /// The spec key of a description path.
    public func specPath(of path: String) -> String {
        guard let (row, rest) = row(for: path) else { return path }
        return row.spec + rest
    }

    /// The flag that sets a description path (nil: no flag does), followed by the rest of a
    /// dotted path under it (`--optimizer-setting beta1` for `optimizer.settings.beta1`).
    public func flag(of path: String) -> String? {
        guard let (row, rest) = row(for: path), let flag = row.flag else { return nil }
        return rest.first == "." ? "\(flag) \(rest.dropFirst())" : flag
    }
}
