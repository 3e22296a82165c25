#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGINT and SIGTERM as a counter the event loops poll: the first asks for an orderly stop;
/// the second exits at once.
public enum StopSignal {
    private static let count = Atomic<Int>(0)

    /// Installs the handlers (idempotent). A second signal exits with status 130. Call it before
    /// any thread is started: the signals are also unblocked, since a parent (a test runner, a
    /// service manager, a wrapper script) may have started this process with them blocked, and
    /// threads inherit the mask.
    public static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
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
