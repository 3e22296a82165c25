#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGINT and SIGTERM as a counter the event loops poll: the first asks for an orderly stop;
/// the second exits at once.
public enum StopSignal {
    private static let count = Atomic<Int>(0)

    /// Installs the handlers (idempotent). A second signal exits with status 130.
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in
                let previous = StopSignal.count.add(1, ordering: .relaxed).oldValue
                if previous >= 1 { _exit(130) }
            }
        }
    }

    public static var requested: Bool { count.load(ordering: .relaxed) > 0 }

    /// For tests and embedding: ask for a stop as if a signal had arrived.
    public static func request() { count.add(1, ordering: .relaxed) }
    public static func reset() { count.store(0, ordering: .relaxed) }
}
