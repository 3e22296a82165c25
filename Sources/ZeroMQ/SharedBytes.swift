import CZeroMQ

/// Immutable bytes that ZeroMQ messages reference instead of copying (zmq_msg_init_data(3)): a
/// dataset archive sent in chunks to many workers is in memory once, however many of its chunks
/// sit in send queues. Each message holds a reference; libzmq's I/O thread releases it when it
/// is done with the message, and the bytes are freed with the last reference.
public final class SharedBytes: @unchecked Sendable {
    // @unchecked: the bytes are written once, in init, and only read afterwards.
    public let count: Int
    let base: UnsafeMutableRawPointer

    public init(_ bytes: [UInt8]) {
        count = bytes.count
        base = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { if let source = $0.baseAddress { base.copyMemory(from: source, byteCount: $0.count) } }
    }

    deinit { base.deallocate() }

    /// A copy of some of the bytes.
    public subscript(range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return Array(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }
}

extension ZMQSocket {
    /// Sends `frames` and then, as the message's last frame, `range` of `shared` without copying it.
    /// The corresponding C functions are `zmq_msg_init_data` and `zmq_msg_send`.
    public func send(_ frames: [[UInt8]], thenSharing shared: SharedBytes, range: Range<Int>, dontWait: Bool = false) throws(ZMQError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= shared.count)
        if !frames.isEmpty { try send(frames, dontWait: dontWait, more: true) }
        var message = zmq_msg_t()
        let hint = Unmanaged.passRetained(shared).toOpaque()
        let initialized = zmq_msg_init_data(&message, shared.base + range.lowerBound, range.count, { _, hint in
            if let hint { Unmanaged<SharedBytes>.fromOpaque(hint).release() }
        }, hint)
        guard initialized == 0 else {
            Unmanaged<SharedBytes>.fromOpaque(hint).release()
            throw ZMQError(rawValue: zmq_errno())
        }
        // Only the first frame of a message can fail for a full queue; a later failure is a closed socket.
        if zmq_msg_send(&message, handle, dontWait ? ZMQ_DONTWAIT : 0) < 0 {
            let error = ZMQError(rawValue: zmq_errno())
            zmq_msg_close(&message)   // releases the reference
            throw error
        }
    }
}
