import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A ZeroMQ socket with one owner: it closes in `deinit` and, like every ZeroMQ socket, may be
/// used only on the thread that created it (checked in debug builds).
///
/// Messages are multipart: a list of frames, each a byte array.
public final class ZMQSocket {
    public struct Kind: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let router = Kind(rawValue: ZMQ_ROUTER)
        public static let dealer = Kind(rawValue: ZMQ_DEALER)
        public static let request = Kind(rawValue: ZMQ_REQ)
        public static let reply = Kind(rawValue: ZMQ_REP)
        public static let pair = Kind(rawValue: ZMQ_PAIR)
        public static let push = Kind(rawValue: ZMQ_PUSH)
        public static let pull = Kind(rawValue: ZMQ_PULL)
        /// Raw TCP: frames are [connection id, bytes] (used for a small HTTP endpoint).
        public static let stream = Kind(rawValue: ZMQ_STREAM)
    }

    let handle: UnsafeMutableRawPointer
    private let context: ZMQContext
    #if DEBUG
    private let owner = pthread_self()
    #endif

    /// The corresponding C function is `zmq_socket`.
    public init(_ context: ZMQContext, _ kind: Kind) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else {
            throw ZMQError(rawValue: zmq_errno())
        }
        self.handle = handle
        self.context = context
    }

    deinit {
        zmq_close(handle)
    }

    @inline(__always)
    private func checkOwner(function: StaticString = #function) {
        #if DEBUG
        precondition(pthread_equal(owner, pthread_self()) != 0, "ZMQSocket used off the thread that created it (\(function))")
        #endif
    }

    /// The corresponding C function is `zmq_bind`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        checkOwner()
        _ = try valueOrZMQError { zmq_bind(handle, endpoint) }
    }

    /// The corresponding C function is `zmq_connect`.
    public func connect(_ endpoint: String) throws(ZMQError) {
        checkOwner()
        _ = try valueOrZMQError { zmq_connect(handle, endpoint) }
    }

    /// The corresponding C function is `zmq_disconnect`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        checkOwner()
        _ = try valueOrZMQError { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint of the last bind or connect, with the port filled in for `tcp://…:*`.
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        _ = try? valueOrZMQError { zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) }
        return string(fromNullTerminated: buffer)
    }

    // MARK: Options

    /// The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: ZMQOption<Int32>, _ value: Int32) throws(ZMQError) {
        checkOwner()
        var value = value
        _ = try valueOrZMQError { zmq_setsockopt(handle, option.name, &value, MemoryLayout<Int32>.size) }
    }

    public func set(_ option: ZMQOption<Int64>, _ value: Int64) throws(ZMQError) {
        checkOwner()
        var value = value
        _ = try valueOrZMQError { zmq_setsockopt(handle, option.name, &value, MemoryLayout<Int64>.size) }
    }

    public func set(_ option: ZMQOption<Bool>, _ value: Bool) throws(ZMQError) {
        checkOwner()
        var flag: Int32 = value ? 1 : 0
        _ = try valueOrZMQError { zmq_setsockopt(handle, option.name, &flag, MemoryLayout<Int32>.size) }
    }

    public func set(_ option: ZMQOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        checkOwner()
        _ = try valueOrZMQError { value.withUnsafeBytes { zmq_setsockopt(handle, option.name, $0.baseAddress, $0.count) } }
    }

    public func set(_ option: ZMQOption<String>, _ value: String) throws(ZMQError) {
        checkOwner()
        let bytes = Array(value.utf8)
        _ = try valueOrZMQError { bytes.withUnsafeBytes { zmq_setsockopt(handle, option.name, $0.baseAddress, $0.count) } }
    }

    // MARK: Sending and receiving

    /// Sends one multipart message. With `dontWait`, throws ``ZMQError/wouldBlock`` instead of
    /// blocking when the queue is full (before any frame is queued: ZeroMQ messages are atomic).
    /// The corresponding C function is `zmq_send`.
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) {
        try send(frames, dontWait: dontWait, more: false)
    }

    /// `more`: the message continues after these frames.
    func send(_ frames: [[UInt8]], dontWait: Bool, more: Bool) throws(ZMQError) {
        checkOwner()
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 || more ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            _ = try valueOrZMQError { frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) } }
        }
    }

    /// Receives one multipart message, or nil when `dontWait` is set and none is waiting.
    /// The corresponding C functions are `zmq_msg_recv` and `zmq_msg_more`.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        try receive(dontWait: dontWait, property: nil, copyingAtMost: .max, readingMetadata: false)?.frames
    }

    /// A message as ``receive(dontWait:property:copyingAtMost:)`` returns it.
    public struct Received {
        /// The frames copied (all of them unless the message was larger than the limit).
        public var frames: [[UInt8]]
        public var property: String?
        /// The file descriptor of the connection it came over (`ZMQ_SRCFD`), -1 if unknown.
        public var sourceDescriptor: Int32
        /// Every frame's size, copied or not.
        public var bytes: Int
        public var frameCount: Int
        /// More than `copyingAtMost` bytes: only the first frame was copied, the rest dropped.
        public var truncated: Bool
    }

    /// Receives one message with its source descriptor and, if `property` is given, that metadata
    /// property (zmq_msg_gets(3); e.g. `"User-Id"`: what the ZAP handler said the authenticated
    /// peer is), copying its frames only while they add up to at most `limit` bytes: libzmq
    /// delivers a multipart message whole and bounds frames, not messages, so a peer's message of
    /// many large frames is dropped here without a second copy. Nil when `dontWait` is set and none
    /// is waiting.
    public func receive(dontWait: Bool = false, property: String?, copyingAtMost limit: Int) throws(ZMQError) -> Received? {
        try receive(dontWait: dontWait, property: property, copyingAtMost: limit, readingMetadata: true)
    }

    private func receive(dontWait: Bool, property: String?, copyingAtMost limit: Int, readingMetadata: Bool) throws(ZMQError) -> Received? {
        checkOwner()
        var received = Received(frames: [], property: nil, sourceDescriptor: -1, bytes: 0, frameCount: 0, truncated: false)
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            let flags: Int32 = dontWait && received.frameCount == 0 ? ZMQ_DONTWAIT : 0
            do {
                _ = try valueOrZMQError { zmq_msg_recv(&message, handle, flags) }
            } catch {
                if error == .wouldBlock && received.frameCount == 0 { return nil }
                throw error
            }
            let size = zmq_msg_size(&message)
            received.bytes += size
            received.frameCount += 1
            if received.bytes > limit && received.frameCount > 1 {
                if !received.truncated { received.frames.removeSubrange(1...); received.truncated = true }
            } else if !received.truncated {
                received.frames.append(Array(UnsafeRawBufferPointer(start: zmq_msg_data(&message)!, count: size)))
            }
            // A ROUTER's first frame (the routing id) is its own; the peer's frames carry the metadata.
            if readingMetadata && (received.frameCount == 2 || (received.frameCount == 1 && zmq_msg_more(&message) == 0)) {
                if let property, let text = zmq_msg_gets(&message, property) { received.property = String(cString: text) }
                received.sourceDescriptor = zmq_msg_get(&message, ZMQ_SRCFD)
            }
        } while zmq_msg_more(&message) != 0
        return received
    }
}

/// A socket option with the Swift type of its value. The corresponding C function is
/// `zmq_setsockopt`; see zmq_setsockopt(3) for each option.
public struct ZMQOption<Value>: Sendable {
    public let name: Int32
    public init(name: Int32) { self.name = name }
}

extension ZMQOption where Value == Int32 {
    /// Milliseconds to keep unsent messages after close (0: drop them at once).
    public static var linger: Self { Self(name: ZMQ_LINGER) }
    public static var sendHighWaterMark: Self { Self(name: ZMQ_SNDHWM) }
    public static var receiveHighWaterMark: Self { Self(name: ZMQ_RCVHWM) }
    /// Milliseconds a CURVE/ZAP handshake may take before the connection is dropped.
    public static var handshakeInterval: Self { Self(name: ZMQ_HANDSHAKE_IVL) }
    public static var reconnectInterval: Self { Self(name: ZMQ_RECONNECT_IVL) }
    public static var reconnectIntervalMax: Self { Self(name: ZMQ_RECONNECT_IVL_MAX) }
    public static var receiveTimeout: Self { Self(name: ZMQ_RCVTIMEO) }
    public static var sendTimeout: Self { Self(name: ZMQ_SNDTIMEO) }
}

extension ZMQOption where Value == Int64 {
    /// Largest inbound message in bytes; a peer sending more is disconnected.
    public static var maximumMessageSize: Self { Self(name: ZMQ_MAXMSGSIZE) }
}

extension ZMQOption where Value == Bool {
    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping a message to an unknown peer.
    public static var routerMandatory: Self { Self(name: ZMQ_ROUTER_MANDATORY) }
    /// ROUTER: a new connection with a taken routing id takes it over.
    public static var routerHandover: Self { Self(name: ZMQ_ROUTER_HANDOVER) }
    /// Queue messages only to completed connections.
    public static var immediate: Self { Self(name: ZMQ_IMMEDIATE) }
    /// This socket is the CURVE server.
    public static var curveServer: Self { Self(name: ZMQ_CURVE_SERVER) }
}

extension ZMQOption where Value == [UInt8] {
    public static var routingID: Self { Self(name: ZMQ_ROUTING_ID) }
    /// 32-byte keys (binary).
    public static var curvePublicKey: Self { Self(name: ZMQ_CURVE_PUBLICKEY) }
    public static var curveSecretKey: Self { Self(name: ZMQ_CURVE_SECRETKEY) }
    public static var curveServerKey: Self { Self(name: ZMQ_CURVE_SERVERKEY) }
}

extension ZMQOption where Value == String {
    /// The ZAP domain; setting one makes libzmq consult the ZAP handler even for NULL security.
    public static var zapDomain: Self { Self(name: ZMQ_ZAP_DOMAIN) }
}
