import Foundation
import Synchronization

/// Lines for people on standard error, each category limited to a few per second so that a
/// misbehaving peer cannot flood the log (the suppressed count is reported with the next line).
public final class RateLimitedLog: Sendable {
    private struct Category { var windowStart = 0.0; var printed = 0; var suppressed = 0 }
    private let state = Mutex<[String: Category]>([:])
    private let perSecond: Int
    public let prefix: String

    public init(prefix: String, perSecond: Int = 5) {
        self.prefix = prefix
        self.perSecond = perSecond
    }

    public func info(_ message: String) { if perSecond > 0 { write(message) } }

    public func warning(_ category: String, _ message: @autoclosure () -> String) {
        let now = Date().timeIntervalSince1970
        let (print, suppressed): (Bool, Int) = state.withLock { categories in
            var c = categories[category] ?? Category()
            if now - c.windowStart >= 1 { c.windowStart = now; c.printed = 0 }
            if c.printed < perSecond {
                c.printed += 1
                let suppressed = c.suppressed
                c.suppressed = 0
                categories[category] = c
                return (true, suppressed)
            }
            c.suppressed += 1
            categories[category] = c
            return (false, 0)
        }
        if print { write(message() + (suppressed > 0 ? " (\(suppressed) similar messages suppressed)" : "")) }
    }

    private func write(_ message: String) {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        FileHandle.standardError.write(Data("\(stamp) \(prefix): \(message)\n".utf8))
    }
}
