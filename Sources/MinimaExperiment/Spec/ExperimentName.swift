/// What an experiment's name may be, wherever it comes from — a spec, `--set name=…`,
/// `--name`, or a ledger someone else wrote: it becomes a directory (`minima-out/NAME`, a
/// combined report's `--out/NAME/`), so it is a name and never a path.
public enum ExperimentName {
    public static let maximumLength = 100

    /// Why `name` is not a valid experiment name (nil: it is one).
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "expected a name, got an empty one" }
        if name.count > maximumLength { return "at most \(maximumLength) characters, got \(name.count)" }
        guard name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "-_.".contains($0) }) else {
            return "expected ASCII letters, digits, '-', '_' or '.', got '\(printable(name))'"
        }
        if name.hasPrefix(".") { return "must not start with '.' (it names a directory: '.', '..' and hidden names are not names), got '\(name)'" }
        return nil
    }

    /// `text` with control and non-ASCII characters escaped and its length bounded: safe to
    /// print in an error.
    public static func printable(_ text: String, limit: Int = 64) -> String {
        let shown = text.unicodeScalars.prefix(limit).map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? String($0) : $0.escaped(asASCII: true) }.joined()
        return text.unicodeScalars.count > limit ? shown + "… (\(text.unicodeScalars.count) characters)" : shown
    }
}
