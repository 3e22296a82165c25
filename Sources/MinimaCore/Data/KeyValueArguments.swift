/// The `KEY=VALUE,…` argument of a generated dataset's name (`teacher:…`, `gaussian:…`), parsed
/// once: unknown keys, keys given twice and malformed pairs are errors that name the key and list
/// the known ones; values are read with their range checked.
struct KeyValueArguments {
    let scheme: String
    let values: [String: String]

    init(_ text: String, scheme: String, keys: [String], example: String) throws(TrialDescriptionError) {
        self.scheme = scheme
        var values: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty else {
                throw TrialDescriptionError(field: scheme, problem: "'\(part.prefix(40))' is not KEY=VALUE; expected e.g. \(scheme):\(example)")
            }
            let key = String(pair[0])
            guard keys.contains(key) else {
                throw TrialDescriptionError(field: "\(scheme).\(key.prefix(40))", problem: "unknown key; the keys are \(keys.joined(separator: ", "))")
            }
            guard values[key] == nil else { throw TrialDescriptionError(field: "\(scheme).\(key)", problem: "given twice") }
            values[key] = String(pair[1])
        }
        self.values = values
    }

    subscript(key: String) -> String? { values[key] }

    /// An integer in `range` (nil when the key is absent).
    func integer(_ key: String, _ range: ClosedRange<Int>) throws(TrialDescriptionError) -> Int? {
        guard let text = values[key] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw TrialDescriptionError(field: "\(scheme).\(key)", problem: "'\(text.prefix(40))' is not an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// One of an enumeration's raw values (nil when absent).
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws(TrialDescriptionError) -> T? where T.RawValue == String {
        guard let text = values[key] else { return nil }
        guard let value = T(rawValue: text) else {
            throw TrialDescriptionError(field: "\(scheme).\(key)", problem: "'\(text.prefix(40))' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// An unsigned 64-bit seed (nil when absent).
    func seed(_ key: String = "seed") throws(TrialDescriptionError) -> UInt64? {
        guard let text = values[key] else { return nil }
        guard let value = UInt64(text) else { throw TrialDescriptionError(field: "\(scheme).\(key)", problem: "'\(text.prefix(40))' is not an unsigned integer") }
        return value
    }
}
