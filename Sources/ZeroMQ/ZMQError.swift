import CZeroMQ

/// An error reported by libzmq: an errno value, with readable names for the ones Minima acts on.
///
/// Environmental errors (a peer that went away, a full queue, a terminated context) are thrown.
/// Programmer errors — a bad socket (`ENOTSOCK`), a call in the wrong state (`EFSM`), a bad
/// address (`EFAULT`) — trap, as in swift-nio: no caller can recover from them.
public struct ZMQError: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The operation would block (`EAGAIN`): nothing to receive, or the send queue is full.
    public static let wouldBlock = ZMQError(rawValue: EAGAIN)
    /// Interrupted by a signal (`EINTR`); the wrapper retries these itself.
    public static let interrupted = ZMQError(rawValue: EINTR)
    /// The context was terminated (`ETERM`).
    public static let terminated = ZMQError(rawValue: ZMQ_ETERM_VALUE)
    /// A ROUTER with `routerMandatory` could not route to the given peer (`EHOSTUNREACH`).
    public static let hostUnreachable = ZMQError(rawValue: EHOSTUNREACH)
    /// The endpoint is already bound (`EADDRINUSE`).
    public static let addressInUse = ZMQError(rawValue: EADDRINUSE)
    /// The endpoint's protocol or address is not valid (`EINVAL`).
    public static let invalidArgument = ZMQError(rawValue: EINVAL)
    /// The transport protocol is not supported (`EPROTONOSUPPORT`).
    public static let protocolNotSupported = ZMQError(rawValue: EPROTONOSUPPORT)

    public var description: String { String(cString: zmq_strerror(rawValue)) }
}

let ZMQ_ETERM_VALUE: Int32 = 156_384_712 + 53  // ZMQ_HAUSNUMERO + 53, as in zmq.h

/// Calls a libzmq function that reports failure as −1 (or a null pointer) and `zmq_errno()`,
/// retrying on `EINTR` and trapping on programmer errors. The one place errors are translated.
@inline(__always)
func valueOrZMQError<Value: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> Value) throws(ZMQError) -> Value {
    while true {
        let value = call()
        if value != -1 { return value }
        let error = zmq_errno()
        if error == EINTR && retryOnInterrupt { continue }
        trapOnProgrammerError(error)
        throw ZMQError(rawValue: error)
    }
}

func trapOnProgrammerError(_ error: Int32, function: StaticString = #function) {
    switch error {
    case ENOTSOCK, EFAULT, ZMQ_EFSM_VALUE:
        preconditionFailure("libzmq programmer error in \(function): \(String(cString: zmq_strerror(error)))")
    default:
        break
    }
}

let ZMQ_EFSM_VALUE: Int32 = 156_384_712 + 51  // ZMQ_HAUSNUMERO + 51
