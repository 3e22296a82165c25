import CMinimaSupport
import Logging
import ZeroMQ

/// Bounds the bytes peers make the coordinator hold in libzmq's receive queues, per connection
/// and in total (issue 18, item 4: 4 connections sending messages of 150 frames of 3.5 MiB took
/// the coordinator to 2.1 GB).
///
/// libzmq delivers a multipart message only when its last frame has arrived and bounds the size
/// of frames, not of messages, so until then the frames pile up out of the application's sight.
/// What a connection has sent is known to the kernel (`tcpi_bytes_received`); what the
/// coordinator has taken from it is counted as messages arrive (their `ZMQ_SRCFD`). The
/// difference is what sits in the queues. A thread of its own watches the router's connections
/// (its monitor's accept and close events) every 10 ms and shuts down a connection whose backlog
/// passes ``Limits/perConnection``, and the largest ones while the total passes ``Limits/total``.
/// The peer's half-received message is dropped with the connection; an honest worker reconnects.
final class InboundGuard {
    struct Limits: Sendable {
        /// An honest worker's largest message is one 4 MiB frame and a few small ones; many may
        /// wait while the coordinator is busy.
        var perConnection = 32 << 20
        var total = 128 << 20
        /// Handshake and framing a connection sends besides its messages' bytes.
        static let handshakeAllowance = 16 << 10
        static let framingAllowance = 64
    }

    private struct Ledger: Sendable {
        /// Bytes taken from each connection by the coordinator, with allowances, since it was accepted.
        var taken: [Int32: Int] = [:]
        var stopping = false
    }
    private let state = ConditionLock(Ledger())
    private var thread: JoinableThread?

    /// Starts watching `router` (call on the router's thread, before it binds).
    init(context: ZMQContext, router: ZMQSocket, limits: Limits = Limits(), logger: Logger) throws {
        let endpoint = "inproc://minima-inbound-\(UInt64.random(in: 0 ... .max))"
        try router.monitor(endpoint, events: [.accepted, .closed, .disconnected])
        let state = self.state
        thread = JoinableThread(name: "minima-inbound") {
            guard let events = try? ZMQSocket(context, .pair) else { return }
            try? events.set(.linger, 0)
            guard (try? events.connect(endpoint)) != nil else { return }
            var connections = Set<Int32>()
            while !state.withLock({ $0.stopping }) {
                while let frames = try? events.receive(dontWait: true), let event = ZMQMonitorEvent(frames: frames) {
                    if event.kind.contains(.accepted) {
                        connections.insert(event.value)
                        state.withLock { $0.taken[event.value] = Limits.handshakeAllowance }
                    } else {
                        connections.remove(event.value)
                        state.withLock { _ = $0.taken.removeValue(forKey: event.value) }
                    }
                }
                Self.enforce(limits, on: connections, state: state, logger: logger)
                _ = try? pollForInput([events], timeoutMilliseconds: 10)
            }
        }
    }

    /// The coordinator took a message of `bytes` in `frames` frames from connection `descriptor`.
    func took(_ bytes: Int, frames: Int, from descriptor: Int32) {
        guard descriptor >= 0 else { return }
        state.withLock { state in
            if let taken = state.taken[descriptor] { state.taken[descriptor] = taken + bytes + frames * Limits.framingAllowance }
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        thread?.join()
        thread = nil
    }

    deinit { stop() }

    private static func enforce(_ limits: Limits, on connections: Set<Int32>, state: ConditionLock<Ledger>, logger: Logger) {
        guard !connections.isEmpty else { return }
        var backlogs: [(descriptor: Int32, bytes: Int)] = []
        let taken = state.withLock { $0.taken }
        for descriptor in connections {
            let received = Int(minima_tcp_bytes_received(descriptor))
            guard received >= 0, let took = taken[descriptor] else { continue }
            let backlog = received - took
            if backlog > 0 { backlogs.append((descriptor, backlog)) }
        }
        backlogs.sort { $0.bytes > $1.bytes }
        var total = backlogs.reduce(0) { $0 + $1.bytes }
        for (descriptor, bytes) in backlogs where bytes > limits.perConnection || total > limits.total {
            guard minima_shutdown_socket(descriptor) == 0 else { continue }
            total -= bytes
            logger.warning("inbound", "closed a connection holding \(bytes >> 20) MiB of unfinished messages in the receive queue (at most \(limits.perConnection >> 20) MiB per connection and \(limits.total >> 20) MiB in all)")
        }
    }
}
