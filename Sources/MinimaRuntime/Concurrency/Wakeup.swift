import ZeroMQ

/// A PUSH socket connected to an inproc endpoint whose PULL end a ZeroMQ event loop polls: the
/// way a helper thread (an executor, the ledger writer) wakes that loop. Create it on the helper
/// thread that uses it.
func makeWakeSender(_ context: ZMQContext, endpoint: String) throws -> ZMQSocket {
    let socket = try ZMQSocket(context, .push)
    try socket.set(.linger, 0)
    try socket.connect(endpoint)
    return socket
}
