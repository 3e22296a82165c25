import ZeroMQ

/// The coordinator's HTTP port: a ZMQ_STREAM socket polled by the coordinator's loop, with
/// ``HTTPConnections`` deciding what to answer and when to close. It only moves bytes.
final class HTTPEndpoint {
    let socket: ZMQSocket
    private var connections: HTTPConnections

    init(_ context: ZMQContext, host: String, port: Int, limits: HTTPConnections.Limits) throws(CoordinatorError) {
        connections = HTTPConnections(limits: limits)
        do {
            socket = try ZMQSocket(context, .stream)
            try socket.set(.linger, 0)
            try socket.set(.maximumMessageSize, Int64(limits.requestBytes * 2))
            try socket.bind("tcp://\(host):\(port)")
        } catch {
            throw CoordinatorError(problem: "cannot serve HTTP on \(host):\(port): \(error)")
        }
    }

    var statistics: HTTPConnections.Statistics { connections.statistics }

    /// Reads what is waiting (a bounded amount per call) and answers complete requests with
    /// `respond`.
    func serve(now: SchedulerInstant, respond: (HTTPConnections.Request) -> HTTPResponse) throws(ZMQError) {
        var handled = 0
        while handled < 1000, let frames = try socket.receive(dontWait: true) {
            handled += 1
            guard frames.count == 2 else { continue }
            let id = HTTPConnections.ConnectionID(frames[0])
            let actions = frames[1].isEmpty ? connections.notified(id, now: now) : connections.received(frames[1], on: id, now: now)
            perform(actions, respond: respond)
        }
    }

    /// Closes connections that are too slow to send their request.
    func tick(now: SchedulerInstant) {
        perform(connections.tick(now: now)) { _ in HTTPResponse(.notFound, body: "") }
    }

    private func perform(_ actions: [HTTPConnections.Action], respond: (HTTPConnections.Request) -> HTTPResponse) {
        for action in actions {
            switch action {
            case .answer(let id, let request):
                send(respond(request).encoded(forHead: request.method == "HEAD"), to: id)
            case .refuse(let id, let status, let reason):
                send(HTTPResponse(status, body: reason + "\n").encoded(forHead: false), to: id)
            case .close(let id):
                close(id)
            }
        }
    }

    private func send(_ bytes: [UInt8], to id: HTTPConnections.ConnectionID) {
        // A peer that does not read is not waited for: what does not fit its queue is dropped.
        try? socket.send([id.bytes, bytes], dontWait: true)
        close(id)
    }

    private func close(_ id: HTTPConnections.ConnectionID) {
        try? socket.send([id.bytes, []], dontWait: true)
    }
}
