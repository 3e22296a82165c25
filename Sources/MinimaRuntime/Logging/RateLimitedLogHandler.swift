import Foundation
import Logging
import Synchronization

/// Lines for people on standard error, through swift-log.
///
/// Two protections for a process that logs what peers send it: warnings of one category
/// (metadata `category`) are limited to a few per second, the number suppressed being reported
/// with the next line that gets through; and control characters (newlines included) are escaped,
/// so that a peer cannot forge or garble log lines.
public struct RateLimitedLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let limiter: Limiter
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - perSecond: warnings (and errors) per category per second.
    ///   - write: where finished lines go (standard error unless given; tests capture them).
    public init(label: String, logLevel: Logger.Level = .info, perSecond: Int = 5,
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.label = label
        self.logLevel = logLevel
        self.limiter = Limiter(perSecond: perSecond)
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var suffix = ""
        if event.level >= .warning {
            let category = event.metadata?["category"]?.description ?? metadata["category"]?.description ?? "\(event.source)"
            guard let suppressed = limiter.admit(category) else { return }
            if suppressed > 0 { suffix = " (\(suppressed) similar messages suppressed)" }
        }
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        write("\(stamp) \(label): \(Self.escapingControlCharacters(event.message.description))\(suffix)\n")
    }

    /// The text with every control character (C0, DEL, C1) written as `\n`, `\t` or `\u{…}`.
    public static func escapingControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar): escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Counts per category, shared by every copy of the handler.
    final class Limiter: Sendable {
        private struct Window { var start = ContinuousClock.now; var printed = 0; var suppressed = 0 }
        private let windows = Mutex<[String: Window]>([:])
        private let perSecond: Int
        init(perSecond: Int) { self.perSecond = perSecond }

        /// nil if the line is to be suppressed, else how many were suppressed before it.
        func admit(_ category: String) -> Int? {
            let now = ContinuousClock.now
            return windows.withLock { windows in
                var window = windows[category] ?? Window()
                if now - window.start >= .seconds(1) { window.start = now; window.printed = 0 }
                defer { windows[category] = window }
                guard window.printed < perSecond else { window.suppressed += 1; return nil }
                window.printed += 1
                defer { window.suppressed = 0 }
                return window.suppressed
            }
        }
    }
}

extension Logger {
    /// A logger for a Minima process: `label` prefixes its lines (`coordinator`, `worker w1`).
    /// `quiet` keeps only errors (for `minima run`, which shows its own progress).
    public static func minima(_ label: String, quiet: Bool = false) -> Logger {
        var logger = Logger(label: label) { _ in RateLimitedLogHandler(label: label) }
        logger.logLevel = quiet ? .error : .info
        return logger
    }

    /// A warning in a rate-limited `category`.
    public func warning(_ category: String, _ message: @autoclosure () -> String) {
        warning("\(message())", metadata: ["category": "\(category)"])
    }
}
