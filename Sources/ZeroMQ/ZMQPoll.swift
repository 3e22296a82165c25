import CZeroMQ

/// Waits until any of `sockets` has a message to receive, or `timeoutMilliseconds` pass
/// (−1: forever). Returns, for each socket in order, whether it is readable. Interruptions by
/// signals return early with nothing readable (so a signal handler's flag is seen promptly).
/// The corresponding C function is `zmq_poll`.
public func pollForInput(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    let count = items.count
    do {
        _ = try valueOrZMQError(retryOnInterrupt: false) { zmq_poll(&items, Int32(count), timeoutMilliseconds) }
    } catch {
        if error == .interrupted { return [Bool](repeating: false, count: count) }
        throw error
    }
    return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
}
