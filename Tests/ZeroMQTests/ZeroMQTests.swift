import Foundation
import Testing
import ZeroMQ

@Suite("ZeroMQ wrapper over real libzmq sockets")
struct ZeroMQTests {
    @Test func routerAndDealerExchangeMultipartMessagesOverLoopbackTCP() throws {
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try ZMQSocket(context, .dealer)
        try dealer.set(.linger, 0)
        try dealer.set(.routingID, Array("worker-1".utf8))
        try dealer.connect(router.lastEndpoint)
        try dealer.send([Array("hello".utf8), [0, 1, 2, 255]])
        let readable = try pollForInput([router], timeoutMilliseconds: 5000)
        #expect(readable == [true])
        let message = try #require(try router.receive())
        #expect(message == [Array("worker-1".utf8), Array("hello".utf8), [0, 1, 2, 255]])
        try router.send([message[0], Array("welcome".utf8)])
        #expect(try dealer.receive() == [Array("welcome".utf8)])
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
        try dealer.connect(router.lastEndpoint)
        try dealer.send([[UInt8](repeating: 7, count: 4096)])
        try dealer.send([[1]])
        // The oversized message is dropped with the connection; nothing arrives.
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

    @Test func curveEncryptsAnExchange() throws {
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        try router.set(.curveServer, true)
        try router.set(.curveSecretKey, Z85.decodeKey(server.secretKey)!)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try ZMQSocket(context, .dealer)
        try dealer.set(.linger, 0)
        try dealer.set(.curveServerKey, Z85.decodeKey(server.publicKey)!)
        try dealer.set(.curvePublicKey, Z85.decodeKey(client.publicKey)!)
        try dealer.set(.curveSecretKey, Z85.decodeKey(client.secretKey)!)
        try dealer.connect(router.lastEndpoint)
        try dealer.send([Array("secret".utf8)])
        #expect(try pollForInput([router], timeoutMilliseconds: 5000) == [true])
        #expect(try router.receive()?.last == Array("secret".utf8))
    }
}
