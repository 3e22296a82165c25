import CZeroMQ

/// A CURVE key pair in Z85 text form (40 characters each), as `minima keygen` writes them.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    /// A fresh key pair. The corresponding C function is `zmq_curve_keypair`.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        _ = try valueOrZMQError { zmq_curve_keypair(&publicKey, &secretKey) }
        return CurveKeyPair(publicKey: string(fromNullTerminated: publicKey), secretKey: string(fromNullTerminated: secretKey))
    }

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The public key that belongs to a Z85 secret key. The C function is `zmq_curve_public`.
    public static func publicKey(forSecret secretKey: String) throws(ZMQError) -> String {
        var publicKey = [CChar](repeating: 0, count: 41)
        _ = try valueOrZMQError { zmq_curve_public(&publicKey, secretKey) }
        return string(fromNullTerminated: publicKey)
    }
}

/// Z85 (ZeroMQ RFC 32) between 32-byte keys and their 40-character text.
public enum Z85 {
    /// The 32 bytes of a 40-character Z85 key, or nil when the text is not valid Z85 of that length.
    public static func decodeKey(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        let ok = bytes.withUnsafeMutableBufferPointer { zmq_z85_decode($0.baseAddress, text) != nil }
        return ok ? bytes : nil
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 4 == 0)
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        _ = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
        return string(fromNullTerminated: text)
    }
}

/// The text of a C string buffer, up to its first NUL.
func string(fromNullTerminated buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
