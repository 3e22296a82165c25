import Foundation
import Testing
import ZeroMQ

/// A ROUTER bound on loopback TCP and a DEALER with routing id "worker-1" connected to it.
private func loopbackRouterAndDealer(_ context: ZMQContext) throws -> (router: ZMQSocket, dealer: ZMQSocket) {
    let router = try ZMQSocket(context, .router)
    try router.set(.linger, 0)
    try router.bind("tcp://127.0.0.1:*")
    let dealer = try ZMQSocket(context, .dealer)
    try dealer.set(.linger, 0)
    try dealer.set(.routingID, Array("worker-1".utf8))
    try dealer.connect(router.lastEndpoint)
    return (router, dealer)
}

@Suite("ZeroMQ wrapper over real libzmq sockets")
struct ZeroMQTests {
    @Test func routerAndDealerExchangeMultipartMessagesOverLoopbackTCP() throws {
        let context = ZMQContext()
        let (router, dealer) = try loopbackRouterAndDealer(context)
        try dealer.send([Array("hello".utf8), [0, 1, 2, 255]])
        let readable = try pollForInput([router], timeoutMilliseconds: 5000)
        #expect(readable == [true])
        let message = try #require(try router.receive())
        #expect(message == [Array("worker-1".utf8), Array("hello".utf8), [0, 1, 2, 255]])
        try router.send([message[0], Array("welcome".utf8)])
        #expect(try dealer.receive() == [Array("welcome".utf8)])
    }

    @Test func sharedBytesAreSentWithoutACopyAndFreedWhenLibzmqIsDoneWithThem() throws {
        let context = ZMQContext()
        let (router, dealer) = try loopbackRouterAndDealer(context)
        try dealer.send([Array("fetch".utf8)])
        _ = try pollForInput([router], timeoutMilliseconds: 5000)
        let peer = try #require(try router.receive())[0]
        weak var released: SharedBytes?
        do {
            let archive = SharedBytes((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            released = archive
            try router.send([peer, Array("chunk".utf8)], thenSharing: archive, range: 1000 ..< 61_000)
            try router.send([peer, Array("chunk".utf8)], thenSharing: archive, range: 99_000 ..< 100_000)
        }
        let first = try #require(try dealer.receive())
        let second = try #require(try dealer.receive())
        #expect(first == [Array("chunk".utf8), (1000 ..< 61_000).map { UInt8(truncatingIfNeeded: $0 * 7) }])
        #expect(second[1] == (99_000 ..< 100_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        // Both messages have left the router's queue: libzmq released its references.
        var waited = 0
        while released != nil && waited < 200 { usleep(10_000); waited += 1 }
        #expect(released == nil, "the archive outlived every message that referenced it")
    }

    @Test func receivingWithoutWaitingReturnsNilWhenNothingIsThere() throws {
        let context = ZMQContext()
        let socket = try ZMQSocket(context, .dealer)
        try socket.set(.linger, 0)
        try socket.bind("inproc://empty")
        #expect(try socket.receive(dontWait: true) == nil)
        #expect(try pollForInput([socket], timeoutMilliseconds: 10) == [false])
    }

    @Test func routerMandatoryReportsAnUnknownPeer() throws {
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        try router.set(.routerMandatory, true)
        try router.bind("inproc://mandatory")
        #expect(throws: ZMQError.hostUnreachable) { try router.send([Array("nobody".utf8), [1]]) }
    }

    @Test func bindErrorsAreTypedAndReadable() throws {
        let context = ZMQContext()
        let first = try ZMQSocket(context, .router)
        try first.set(.linger, 0)
        try first.bind("tcp://127.0.0.1:*")
        let second = try ZMQSocket(context, .router)
        try second.set(.linger, 0)
        #expect(throws: ZMQError.addressInUse) { try second.bind(first.lastEndpoint) }
        #expect(throws: ZMQError.protocolNotSupported) { try second.bind("carrier-pigeon://x") }
        #expect(ZMQError.addressInUse.description == "Address already in use")
    }

    @Test func oversizedMessagesDisconnectThePeer() throws {
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        try router.set(.maximumMessageSize, 1024)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try ZMQSocket(context, .dealer)
        try dealer.set(.linger, 0)
        // No automatic reconnection: what is tested is that the offending connection is dropped
        // (a reconnected socket would deliver later messages on a new one).
        try dealer.set(.reconnectInterval, -1)
        try dealer.connect(router.lastEndpoint)
        // Positive control: the connection works, and a message at the limit arrives.
        try dealer.send([[UInt8](repeating: 1, count: 1000)])
        #expect(try pollForInput([router], timeoutMilliseconds: 5000) == [true])
        #expect(try router.receive()?.last?.count == 1000)
        try dealer.send([[UInt8](repeating: 7, count: 4096)])
        try dealer.send([[2]])
        // The oversized message is dropped with the connection, and what followed it on that
        // connection never arrives.
        #expect(try pollForInput([router], timeoutMilliseconds: 300) == [false])
    }

    @Test func curveKeysRoundTripThroughZ85() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 40 && pair.secretKey.count == 40)
        #expect(try CurveKeyPair.publicKey(forSecret: pair.secretKey) == pair.publicKey)
        let bytes = try #require(Z85.decodeKey(pair.publicKey))
        #expect(Z85.encode(bytes) == pair.publicKey)
        #expect(Z85.decodeKey("not a key") == nil)
        #expect(ZMQContext.hasCurve)
    }

    /// A CURVE server and a client; with `plaintextClient` the client speaks no CURVE.
    private func exchange(curve: Bool, plaintextClient: Bool = false, through tap: (Int) throws -> WireTap) throws -> (delivered: Bool, tap: WireTap) {
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        if curve {
            try router.set(.curveServer, true)
            try router.set(.curveSecretKey, Z85.decodeKey(server.secretKey)!)
        }
        try router.bind("tcp://127.0.0.1:*")
        let wire = try tap(Int(router.lastEndpoint.split(separator: ":").last!)!)
        let dealer = try ZMQSocket(context, .dealer)
        try dealer.set(.linger, 0)
        if curve && !plaintextClient {
            try dealer.set(.curveServerKey, Z85.decodeKey(server.publicKey)!)
            try dealer.set(.curvePublicKey, Z85.decodeKey(client.publicKey)!)
            try dealer.set(.curveSecretKey, Z85.decodeKey(client.secretKey)!)
        }
        try dealer.connect("tcp://127.0.0.1:\(wire.port)")
        try dealer.send([Array("the secret payload 4242".utf8)])
        let delivered = try pollForInput([router], timeoutMilliseconds: curve && plaintextClient ? 500 : 5000) == [true]
            && (try router.receive()?.last == Array("the secret payload 4242".utf8))
        wire.stop()
        return (delivered, wire)
    }

    @Test func curveEncryptsWhatCrossesTheWire() throws {
        let payload = Array("the secret payload 4242".utf8)
        // Positive control: without CURVE the tap sees the payload in the clear.
        let plain = try exchange(curve: false) { try WireTap(upstreamPort: $0) }
        #expect(plain.delivered)
        #expect(plain.tap.contains(payload), "the tap must see plaintext when CURVE is off, or it sees nothing at all")
        let encrypted = try exchange(curve: true) { try WireTap(upstreamPort: $0) }
        #expect(encrypted.delivered)
        #expect(encrypted.tap.captured.count > payload.count, "bytes crossed the tap")
        #expect(!encrypted.tap.contains(payload), "with CURVE the payload never crosses the wire in the clear")
    }

    @Test func aPlaintextClientGetsNothingThroughToACurveServer() throws {
        let refused = try exchange(curve: true, plaintextClient: true) { try WireTap(upstreamPort: $0) }
        #expect(!refused.delivered)
        #expect(!refused.tap.contains(Array("the secret payload 4242".utf8)))
    }
}
