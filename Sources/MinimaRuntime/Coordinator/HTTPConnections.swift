/// The coordinator's HTTP connections, without I/O: what arrived on each, what to answer, and
/// when to close. ``HTTPEndpoint`` is the thin shell that feeds it a ZMQ_STREAM socket's frames
/// and the clock and performs its actions.
///
/// Deliberately small, since anything that can reach the port can talk to it: HTTP/1.0 and 1.1
/// GET and HEAD only, one request per connection (answered with `Connection: close`), and
/// every resource bounded — connections open at once, bytes of a request, header lines, and the
/// time a connection may take to send its request (a slow sender is answered 408 and closed).
/// What does not fit is refused with a status and closed; nothing a peer sends is kept beyond
/// its connection.
public struct HTTPConnections: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Connections open at once; a connection beyond them is closed at once, unanswered.
        public var connections = 64
        /// Bytes of a request (line and headers; no request here has a body).
        public var requestBytes = 8192
        public var headerLines = 64
        /// Time to send a whole request.
        public var requestTime = Duration.seconds(5)
        public init() {}
    }

    /// A request, parsed.
    public struct Request: Sendable, Equatable {
        public var method: String
        /// The path without its query.
        public var path: String
        /// The query after `?` (empty when none).
        public var query: String
    }

    public enum Action: Sendable, Equatable {
        /// Answer the request (the endpoint closes the connection after the answer).
        case answer(ConnectionID, Request)
        /// Refuse with a status and a one-line reason, then close.
        case refuse(ConnectionID, status: HTTPStatus, reason: String)
        /// Close without a word (over the connection limit; or a peer that went away).
        case close(ConnectionID)
    }

    /// A connection, as the socket names it (ZMQ_STREAM's routing id).
    public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        public init(_ bytes: [UInt8]) { self.bytes = bytes }
        public var description: String { bytes.map { String($0, radix: 16) }.joined() }
    }

    private struct Connection: Sendable {
        var opened: SchedulerInstant
        var received: [UInt8] = []
    }

    public let limits: Limits
    private var open: [ConnectionID: Connection] = [:]
    /// Connections this side closed, until the socket's disconnect notice for them arrives (or
    /// a while passes): their notice must not be taken for a new connection.
    private var closing: [ConnectionID: SchedulerInstant] = [:]
    public private(set) var statistics = Statistics()

    public struct Statistics: Sendable, Equatable {
        public var answered = 0
        public var refused = 0
        public var closedOverLimit = 0
    }

    public init(limits: Limits = Limits()) { self.limits = limits }

    public var openConnections: Int { open.count }

    /// A connection's first empty frame is its opening; a later one, its end.
    public mutating func notified(_ id: ConnectionID, now: SchedulerInstant) -> [Action] {
        if open.removeValue(forKey: id) != nil { return [] }
        if closing.removeValue(forKey: id) != nil { return [] }
        guard open.count < limits.connections else {
            statistics.closedOverLimit += 1
            closing[id] = now
            return [.close(id)]
        }
        open[id] = Connection(opened: now)
        return []
    }

    /// Bytes arrived on a connection.
    public mutating func received(_ bytes: [UInt8], on id: ConnectionID, now: SchedulerInstant) -> [Action] {
        guard var connection = open[id] else {
            // Data before (or without) its opening notice: a connection opened while over the
            // limit and already closed, or the socket does not notify. Take it as opened now.
            guard closing[id] == nil else { return [] }
            _ = notified(id, now: now)
            guard open[id] != nil else { return [.close(id)] }
            return received(bytes, on: id, now: now)
        }
        connection.received += bytes.prefix(limits.requestBytes + 1 - min(limits.requestBytes + 1, connection.received.count))
        open[id] = connection
        switch Self.parse(connection.received, limits: limits) {
        case .incomplete: return []
        case .request(let request):
            statistics.answered += 1
            finish(id, now: now)
            return [.answer(id, request)]
        case .refused(let status, let reason):
            statistics.refused += 1
            finish(id, now: now)
            return [.refuse(id, status: status, reason: reason)]
        }
    }

    /// Connections that took too long to send their request are answered 408 and closed; notes
    /// of closed connections are forgotten after a while.
    public mutating func tick(now: SchedulerInstant) -> [Action] {
        var actions: [Action] = []
        for (id, connection) in open where now - connection.opened > limits.requestTime {
            statistics.refused += 1
            actions.append(.refuse(id, status: .requestTimeout, reason: "the request took longer than \(limits.requestTime) to arrive"))
        }
        for case .refuse(let id, _, _) in actions { finish(id, now: now) }
        closing = closing.filter { now - $0.value < .seconds(30) }
        return actions
    }

    private mutating func finish(_ id: ConnectionID, now: SchedulerInstant) {
        open[id] = nil
        closing[id] = now
    }

    // MARK: Parsing

    public enum Parsed: Sendable, Equatable {
        case incomplete
        case request(Request)
        case refused(HTTPStatus, String)
    }

    /// Parses what a connection sent so far.
    public static func parse(_ bytes: [UInt8], limits: Limits) -> Parsed {
        let end = headerEnd(bytes)
        guard let end else {
            if bytes.count > limits.requestBytes { return .refused(.headersTooLarge, "the request is larger than \(limits.requestBytes) bytes") }
            if lineCount(bytes) > limits.headerLines { return .refused(.headersTooLarge, "more than \(limits.headerLines) header lines") }
            return .incomplete
        }
        if end > limits.requestBytes { return .refused(.headersTooLarge, "the request is larger than \(limits.requestBytes) bytes") }
        let head = bytes[..<end]
        if lineCount(head) > limits.headerLines + 1 { return .refused(.headersTooLarge, "more than \(limits.headerLines) header lines") }
        let lineEnd = head.firstIndex(of: UInt8(ascii: "\n")) ?? head.endIndex
        let line = head[..<lineEnd].filter { $0 != UInt8(ascii: "\r") }
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return .refused(.badRequest, "the request line is not printable ASCII") }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let version = String(bytes: parts[2], encoding: .ascii), version == "HTTP/1.0" || version == "HTTP/1.1" else {
            return .refused(.badRequest, "expected a request line 'METHOD /path HTTP/1.1'")
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method == "GET" || method == "HEAD" else { return .refused(.methodNotAllowed, "only GET and HEAD are served") }
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/") else { return .refused(.badRequest, "the path must start with /") }
        let split = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return .request(Request(method: method, path: String(split[0]), query: split.count > 1 ? String(split[1]) : ""))
    }

    /// The index after the blank line that ends the headers (`\r\n\r\n`, or `\n\n`), if any.
    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\r"), bytes[index + 2] == UInt8(ascii: "\n") { return index + 3 }
            }
            index += 1
        }
        return nil
    }

    static func lineCount<C: Collection<UInt8>>(_ bytes: C) -> Int { bytes.count { $0 == UInt8(ascii: "\n") } }
}

/// The statuses the coordinator answers with.
public enum HTTPStatus: Int, Sendable, Equatable {
    case ok = 200
    case badRequest = 400
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case headersTooLarge = 431
    case serviceUnavailable = 503

    public var line: String {
        switch self {
        case .ok: "200 OK"
        case .badRequest: "400 Bad Request"
        case .notFound: "404 Not Found"
        case .methodNotAllowed: "405 Method Not Allowed"
        case .requestTimeout: "408 Request Timeout"
        case .headersTooLarge: "431 Request Header Fields Too Large"
        case .serviceUnavailable: "503 Service Unavailable"
        }
    }
}

/// An answer: status, content type, body and extra headers.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(_ status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: String, headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = Array(body.utf8)
        self.headers = headers
    }

    /// The bytes on the wire; HEAD gets the headers only.
    public func encoded(forHead: Bool) -> [UInt8] {
        var head = "HTTP/1.0 \(status.line)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (forHead ? [] : body)
    }
}
