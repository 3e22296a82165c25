/// A ZeroMQ Authentication Protocol handler (RFC 27): the REP socket at
/// `inproc://zeromq.zap.01` that libzmq asks about every handshake of a socket with a ZAP
/// domain set. Bind it before binding the socket it guards, so that no handshake slips past.
///
/// An accepted CURVE client's messages carry its public key (Z85) as their `User-Id` property.
///
/// Owned by the thread that made it, like every ``ZMQSocket``; call ``answerPending()`` when the
/// socket is readable.
public final class ZAPHandler {
    /// One handshake to decide on.
    public struct Request: Sendable {
        public var domain: String
        public var address: String
        /// `NULL`, `PLAIN` or `CURVE`.
        public var mechanism: String
        /// The client's long-term CURVE public key (32 bytes), for `CURVE`.
        public var curvePublicKey: [UInt8]?
    }

    /// What a request got: accepted, or refused with a reason for the log.
    public enum Decision: Sendable, Equatable {
        case accept
        case refuse(reason: String)
    }

    public let socket: ZMQSocket
    private let decide: (Request) -> Decision
    public static let endpoint = "inproc://zeromq.zap.01"

    public init(_ context: ZMQContext, decide: @escaping (Request) -> Decision) throws(ZMQError) {
        socket = try ZMQSocket(context, .reply)
        try socket.set(.linger, 0)
        try socket.bind(Self.endpoint)
        self.decide = decide
    }

    /// Answers every request waiting; returns the refused ones with their reasons.
    @discardableResult
    public func answerPending() throws(ZMQError) -> [(Request, String)] {
        var refused: [(Request, String)] = []
        while let frames = try socket.receive(dontWait: true) {
            // version, request id, domain, address, identity, mechanism, credentials…
            guard frames.count >= 6 else { continue }
            let mechanism = String(decoding: frames[5], as: UTF8.self)
            let request = Request(domain: String(decoding: frames[2], as: UTF8.self), address: String(decoding: frames[3], as: UTF8.self),
                                  mechanism: mechanism, curvePublicKey: mechanism == "CURVE" && frames.count >= 7 && frames[6].count == 32 ? frames[6] : nil)
            let decision = decide(request)
            let (status, text): (String, String)
            switch decision {
            case .accept: (status, text) = ("200", "OK")
            case .refuse(let reason): (status, text) = ("400", reason); refused.append((request, reason))
            }
            // An accepted CURVE client's user id is its key (Z85): messages from it then carry it
            // as the "User-Id" property (``ZMQSocket/receive(dontWait:property:)``).
            let userID = decision == .accept ? request.curvePublicKey.map { Array(Z85.encode($0).utf8) } ?? [] : []
            try socket.send([frames[0], frames[1], Array(status.utf8), Array(text.utf8), userID, []])
        }
        return refused
    }
}
