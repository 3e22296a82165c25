import MinimaCore
import MinimaLedger
import ZeroMQ

/// Commits groups on a thread of its own, so that the coordinator keeps dispatching while
/// SQLite waits for the disk. One group is committed at a time; when it is durable the writer
/// wakes the coordinator's poll through an inproc socket, and the coordinator sends the acks.
///
/// Owned by the coordinator's thread. What it shares with its thread lives in one
/// ``ConditionLock``, signalled while held, so neither side waits on a timer.
final class LedgerWriter {
    struct Committed: Sendable {
        var group: LedgerGroup
        var outcome: Result<LedgerBatch.Result, LedgerError>
        var seconds: Double
    }

    private struct State: Sendable {
        var waiting: LedgerGroup?
        var committed: [Committed] = []
        var stopping = false
    }

    private let state = ConditionLock(State())
    private var thread: JoinableThread?

    /// Starts the thread. The coordinator must have bound a PULL socket at `wakeEndpoint`.
    init(ledger: Ledger, context: ZMQContext, wakeEndpoint: String) {
        let state = self.state
        thread = JoinableThread(name: "minima-ledger") {
            // The PUSH end belongs to this thread: made, used and closed here.
            let wake: ZMQSocket?
            do { wake = try makeWakeSender(context, endpoint: wakeEndpoint) } catch { wake = nil }
            while let group = state.withLock(when: { $0.waiting != nil || $0.stopping }, { $0.waiting }) {
                let start = ContinuousClock.now
                let outcome: Result<LedgerBatch.Result, LedgerError>
                do throws(LedgerError) { outcome = .success(try ledger.commit(group.batch)) } catch { outcome = .failure(error) }
                let seconds = secondsElapsed(since: start)
                state.withLockBroadcasting { state in
                    state.committed.append(Committed(group: group, outcome: outcome, seconds: seconds))
                    state.waiting = nil
                }
                try? wake?.send([[1]], dontWait: true)
            }
        }
    }

    deinit { stopAndJoin() }

    /// Whether a group is being committed.
    var busy: Bool { state.withLock { $0.waiting != nil } }

    /// Hands over a group. Only one may be in flight: call when not ``busy``.
    func submit(_ group: LedgerGroup) {
        state.withLockBroadcasting { state in
            precondition(state.waiting == nil, "a group submitted while another is being committed")
            state.waiting = group
        }
    }

    /// Waits until the group in flight (if any) is durable.
    func waitUntilIdle() {
        state.withLock(when: { $0.waiting == nil }) { _ in }
    }

    /// Groups committed since the last call, in order.
    func takeCommitted() -> [Committed] {
        state.withLock { state in
            defer { state.committed.removeAll() }
            return state.committed
        }
    }

    /// Lets the group in flight finish, stops the thread and waits for it to exit.
    func stopAndJoin() {
        guard let thread else { return }
        waitUntilIdle()
        state.withLockBroadcasting { $0.stopping = true }
        thread.join()
        self.thread = nil
    }
}
