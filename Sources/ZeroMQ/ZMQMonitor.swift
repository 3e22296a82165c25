import CZeroMQ

/// A connection event from a socket monitor (zmq_socket_monitor(3)).
public struct ZMQMonitorEvent: Sendable, Equatable {
    public struct Kind: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// A connection was accepted; the value is its file descriptor.
        public static let accepted = Kind(rawValue: ZMQ_EVENT_ACCEPTED)
        /// A connection was closed; the value is its (former) file descriptor.
        public static let closed = Kind(rawValue: ZMQ_EVENT_CLOSED)
        /// The peer went away; the value is the file descriptor.
        public static let disconnected = Kind(rawValue: ZMQ_EVENT_DISCONNECTED)
    }
    public var kind: Kind
    public var value: Int32
    public var endpoint: String

    /// The event in a monitor's two frames: 16-bit event and 32-bit value (host order), then the endpoint.
    public init?(frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let bytes = frames[0]
        kind = Kind(rawValue: Int32(UInt16(bytes[0]) | UInt16(bytes[1]) << 8))
        value = Int32(bitPattern: UInt32(bytes[2]) | UInt32(bytes[3]) << 8 | UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 24)
        endpoint = String(decoding: frames[1], as: UTF8.self)
    }
}

extension ZMQSocket {
    /// Publishes this socket's `events` on a PAIR socket bound at `endpoint` (inproc://…); a PAIR
    /// socket connected there receives them as ``ZMQMonitorEvent``s. The corresponding C function
    /// is `zmq_socket_monitor`.
    public func monitor(_ endpoint: String, events: ZMQMonitorEvent.Kind) throws(ZMQError) {
        _ = try valueOrZMQError { zmq_socket_monitor(handle, endpoint, events.rawValue) }
    }
}
