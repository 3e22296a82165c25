import Foundation
import MinimaCore
import Synchronization
import ZeroMQ

/// Commits groups of final records on its own thread, so that the coordinator keeps dispatching
/// while SQLite waits for the disk. One group is committed at a time; when it is durable the
/// writer wakes the coordinator through an inproc socket, and the coordinator sends the acks.
final class LedgerWriter: @unchecked Sendable {
    struct Group: Sendable {
        var records: [Ledger.TrialRecord]
        /// Leases to acknowledge per worker routing id once the group is durable.
        var acknowledgements: [[UInt8]: [UInt64]]
    }

    struct Committed: Sendable {
        var group: Group
        var outcome: Result<[Ledger.Disposition], LedgerError>
        var seconds: Double
    }

    private struct State {
        var waiting: Group?
        var committed: [Committed] = []
        var stopping = false
        var stopped = false
    }

    private let ledger: Ledger
    private let state = Mutex(State())
    private let condition = NSCondition()
    private let context: ZMQContext
    let wakeEndpoint = "inproc://minima-ledger-writer-\(UInt64.random(in: 0 ... .max))"
    private var thread: Thread?

    init(ledger: Ledger, context: ZMQContext) {
        self.ledger = ledger
        self.context = context
    }

    /// Starts the thread; the coordinator must have bound a PULL socket at ``wakeEndpoint``.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "minima-ledger-writer"
        self.thread = thread
        thread.start()
    }

    /// Whether a group is being (or waiting to be) committed.
    var busy: Bool { state.withLock { $0.waiting != nil } }

    /// Hands over a group. Only one may be in flight: call when not ``busy``.
    func submit(_ group: Group) {
        state.withLock { precondition($0.waiting == nil); $0.waiting = group }
        condition.broadcast()
    }

    /// Groups committed since the last call.
    func takeCommitted() -> [Committed] {
        state.withLock { state in
            let committed = state.committed
            state.committed.removeAll()
            return committed
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        condition.broadcast()
    }

    /// Stops the thread and waits until it has exited (and closed its socket).
    func stopAndJoin() {
        stop()
        while !state.withLock({ $0.stopped }) { usleep(1000) }
    }

    private func run() {
        let wake: ZMQSocket
        do {
            wake = try makeWakeSender(context, endpoint: wakeEndpoint)
        } catch {
            preconditionFailure("the ledger writer could not reach the coordinator: \(error)")
        }
        while true {
            condition.lock()
            var group: Group?
            while true {
                let (next, stop) = state.withLock { ($0.waiting, $0.stopping) }
                if let next { group = next; break }
                if stop {
                    condition.unlock()
                    state.withLock { $0.stopped = true }
                    return
                }
                condition.wait(until: Date().addingTimeInterval(0.1))
            }
            condition.unlock()
            guard let group else { continue }
            let outcome: Result<[Ledger.Disposition], LedgerError>
            let start = ContinuousClock.now
            do throws(LedgerError) { outcome = .success(try ledger.commit(group.records)) } catch { outcome = .failure(error) }
            let seconds = secondsElapsed(since: start)
            state.withLock { state in
                state.committed.append(Committed(group: group, outcome: outcome, seconds: seconds))
                state.waiting = nil
            }
            try? wake.send([[1]], dontWait: true)
        }
    }
}
