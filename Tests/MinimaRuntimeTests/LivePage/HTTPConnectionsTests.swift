@testable import MinimaRuntime
import Testing

/// The coordinator's HTTP connections without sockets: what is answered, refused and closed,
/// and when. (`Scripts/test-hostile` sends the same attacks to a real coordinator.)
@Suite("HTTP connections")
struct HTTPConnectionsTests {
    typealias C = HTTPConnections
    static let id = C.ConnectionID([0, 0, 0, 1])
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aCompleteRequestIsAnsweredEvenWhenItArrivesByteByByte() {
        var http = C()
        #expect(http.notified(Self.id, now: .zero).isEmpty && http.openConnections == 1)
        let request = Self.bytes("GET /live?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        for (index, byte) in request.enumerated() {
            let actions = http.received([byte], on: Self.id, now: .milliseconds(index))
            if index < request.count - 1 { #expect(actions.isEmpty) } else { #expect(actions == [.answer(Self.id, .init(method: "GET", path: "/live", query: "x=1"))]) }
        }
        #expect(http.openConnections == 0)
        // The socket's notice that the connection closed is not a new connection.
        #expect(http.notified(Self.id, now: .seconds(1)).isEmpty && http.openConnections == 0)
    }

    @Test func whatIsNotAPlainGetIsRefusedWithAStatus() {
        let limits = C.Limits()
        let cases: [(String, HTTPStatus)] = [
            ("POST / HTTP/1.1\r\n\r\n", .methodNotAllowed),
            ("GET / HTTP/2.0\r\n\r\n", .badRequest),
            ("GET http://x/ HTTP/1.1\r\n\r\n", .badRequest),
            ("GET\u{1B}[31m / HTTP/1.1\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1 extra\r\n\r\n", .badRequest),
            ("\r\n\r\n", .badRequest),
            ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n\r\n", .headersTooLarge),
            ("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 65) + "\r\n", .headersTooLarge),
        ]
        for (text, status) in cases {
            guard case .refused(let refused, let reason) = C.parse(Self.bytes(text), limits: limits) else {
                Issue.record("\(text.prefix(40).debugDescription) was not refused")
                continue
            }
            #expect(refused == status, "\(text.prefix(40).debugDescription): \(reason)")
        }
        #expect(C.parse(Self.bytes("HEAD /healthz HTTP/1.0\n\n"), limits: limits) == .request(.init(method: "HEAD", path: "/healthz", query: "")))
        // An endless request line without a line break is refused once it passes the limit.
        #expect(C.parse([UInt8](repeating: UInt8(ascii: "a"), count: 8193), limits: limits) == .refused(.headersTooLarge, "the request is larger than 8192 bytes"))
        #expect(C.parse(Self.bytes("GET / HTTP/1.1\r\nHost: a\r\n"), limits: limits) == .incomplete)
    }

    @Test func aSlowSenderIsAnswered408AndClosed() {
        var http = C()
        _ = http.notified(Self.id, now: .zero)
        #expect(http.received(Self.bytes("GET / HTTP/1.1\r\n"), on: Self.id, now: .seconds(1)).isEmpty)
        #expect(http.tick(now: .seconds(4)).isEmpty)
        let actions = http.tick(now: .milliseconds(5001))
        guard case .refuse(let id, .requestTimeout, _)? = actions.first, actions.count == 1 else { Issue.record("\(actions)"); return }
        #expect(id == Self.id && http.openConnections == 0)
        // Whatever it sends afterwards is dropped.
        #expect(http.received(Self.bytes("\r\n"), on: Self.id, now: .seconds(6)).isEmpty)
    }

    @Test func connectionsBeyondTheLimitAreClosedAtOnceAndTheOthersStillServed() {
        var limits = C.Limits()
        limits.connections = 3
        var http = C(limits: limits)
        let ids = (0..<10).map { C.ConnectionID([UInt8($0)]) }
        var closed: [C.ConnectionID] = []
        for id in ids { for case .close(let c) in http.notified(id, now: .zero) { closed.append(c) } }
        #expect(closed == Array(ids[3...]) && http.openConnections == 3 && http.statistics.closedOverLimit == 7)
        #expect(http.received(Self.bytes("GET /healthz HTTP/1.1\r\n\r\n"), on: ids[1], now: .seconds(1)) == [.answer(ids[1], .init(method: "GET", path: "/healthz", query: ""))])
        // A closed connection's data and its disconnect notice change nothing.
        #expect(http.received(Self.bytes("GET / HTTP/1.1\r\n\r\n"), on: ids[5], now: .seconds(1)).isEmpty)
        #expect(http.notified(ids[5], now: .seconds(1)).isEmpty && http.openConnections == 2)
        // A new connection fits again.
        #expect(http.notified(C.ConnectionID([99]), now: .seconds(2)).isEmpty && http.openConnections == 3)
    }

    @Test func aResponseSaysItsLengthAndClosesAndHeadHasNoBody() {
        let response = HTTPResponse(body: "ok\n")
        let text = String(decoding: response.encoded(forHead: false), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n") && text.contains("Content-Length: 3\r\n") && text.contains("Connection: close\r\n") && text.hasSuffix("\r\n\r\nok\n"))
        #expect(String(decoding: response.encoded(forHead: true), as: UTF8.self).hasSuffix("\r\n\r\n"))
    }
}
