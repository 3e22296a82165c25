/// A small strict JSON parser (RFC 8259) for the protocol's hot messages. It keeps the byte range
/// of every object so that nested payloads (trial descriptions and results) can be handed to
/// `JSONDecoder` as they are, while the envelope is read without Codable's overhead.
struct JSONScanner {
    indirect enum Value {
        case null
        case bool(Bool)
        case integer(Int64)
        case double(Double)
        case string(String)
        case array([Value])
        /// Members in document order (the protocol's objects have a handful, so a list beats hashing).
        case object([(String, Value)], range: Range<Int>)
    }

    struct Failure: Error { var message: String; var offset: Int }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    /// Parses one complete JSON document.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> Value {
        var scanner = JSONScanner(bytes: bytes)
        scanner.skipSpace()
        let value = try scanner.value()
        scanner.skipSpace()
        guard scanner.index == bytes.count else { throw Failure(message: "unexpected data after the JSON value", offset: scanner.index) }
        return value
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09 { index += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Failure(message: "truncated literal", offset: index) }
        for k in 0..<count where bytes[index + k] != literal.utf8Start[k] { throw Failure(message: "invalid literal", offset: index) }
        index += count
    }

    private mutating func value() throws(Failure) -> Value {
        guard index < bytes.count else { throw Failure(message: "unexpected end of JSON", offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try number()
        default: throw Failure(message: "unexpected character '\(Character(Unicode.Scalar(bytes[index])))'", offset: index)
        }
    }

    private mutating func object() throws(Failure) -> Value {
        let start = index
        depth += 1
        guard depth <= 64 else { throw Failure(message: "nested too deeply", offset: index) }
        defer { depth -= 1 }
        index += 1
        var members: [(String, Value)] = []
        members.reserveCapacity(8)
        skipSpace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members, range: start ..< index) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Failure(message: "expected a member name", offset: index) }
            let key = try string()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Failure(message: "expected ':'", offset: index) }
            index += 1
            skipSpace()
            members.append((key, try value()))
            skipSpace()
            guard index < bytes.count else { throw Failure(message: "unterminated object", offset: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members, range: start ..< index) }
            throw Failure(message: "expected ',' or '}'", offset: index)
        }
    }

    private mutating func array() throws(Failure) -> Value {
        depth += 1
        guard depth <= 64 else { throw Failure(message: "nested too deeply", offset: index) }
        defer { depth -= 1 }
        index += 1
        var elements: [Value] = []
        skipSpace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipSpace()
            elements.append(try value())
            skipSpace()
            guard index < bytes.count else { throw Failure(message: "unterminated array", offset: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw Failure(message: "expected ',' or ']'", offset: index)
        }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        var plain = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if plain {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< index]), as: UTF8.self)
                    index += 1
                    return text
                }
                break
            }
            if byte == UInt8(ascii: "\\") { plain = false; index += 2; continue }
            if byte < 0x20 { throw Failure(message: "control character in string", offset: index) }
            index += 1
        }
        guard index < bytes.count else { throw Failure(message: "unterminated string", offset: start) }
        // The string has escapes: decode it scalar by scalar.
        let raw = Array(UnsafeBufferPointer(rebasing: bytes[start ..< index]))
        index += 1
        return try Self.unescape(raw, offset: start)
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private static func unescape(_ raw: [UInt8], offset: Int) throws(Failure) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = 0
        func hex4(at position: Int) throws(Failure) -> UInt32 {
            guard position + 4 <= raw.count else { throw Failure(message: "truncated \\u escape", offset: offset + position) }
            var code: UInt32 = 0
            for i in position ..< position + 4 {
                guard let digit = hexValue(raw[i]) else { throw Failure(message: "bad \\u escape", offset: offset + i) }
                code = code << 4 | digit
            }
            return code
        }
        while k < raw.count {
            let byte = raw[k]
            guard byte == UInt8(ascii: "\\") else { out.append(byte); k += 1; continue }
            guard k + 1 < raw.count else { throw Failure(message: "bad escape", offset: offset + k) }
            let escaped = raw[k + 1]
            k += 2
            switch escaped {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4(at: k)
                k += 4
                if (0xD800 ..< 0xDC00).contains(code), k + 6 <= raw.count, raw[k] == UInt8(ascii: "\\"), raw[k + 1] == UInt8(ascii: "u") {
                    let low = try hex4(at: k + 2)
                    if (0xDC00 ..< 0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        k += 6
                    }
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8)
            default:
                throw Failure(message: "bad escape", offset: offset + k - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func number() throws(Failure) -> Value {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        var integral = true
        var digits = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digits += 1; index += 1; continue }
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                integral = false
                index += 1
                continue
            }
            break
        }
        guard digits > 0 else { throw Failure(message: "invalid number", offset: start) }
        if integral && digits <= 18 {
            let negative = bytes[start] == UInt8(ascii: "-")
            var value: Int64 = 0
            for k in (negative ? start + 1 : start) ..< index { value = value * 10 + Int64(bytes[k] - UInt8(ascii: "0")) }
            return .integer(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< index]), as: UTF8.self)
        guard let value = Double(text) else { throw Failure(message: "invalid number '\(text)'", offset: start) }
        return .double(value)
    }
}

/// An object's members, looked up by name.
struct Members {
    let members: [(String, JSONScanner.Value)]
    subscript(_ key: String) -> JSONScanner.Value? {
        for (name, value) in members where name == key { return value }
        return nil
    }
}

extension JSONScanner.Value {
    var object: Members? { if case .object(let members, _) = self { return Members(members: members) }; return nil }
    var objectRange: Range<Int>? { if case .object(_, let range) = self { return range }; return nil }
    var array: [JSONScanner.Value]? { if case .array(let elements) = self { return elements }; return nil }
    var string: String? { if case .string(let text) = self { return text }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }
    var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9e15: return Int64(value)
        default: return nil
        }
    }
    var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        case .string("nan"): return .nan
        default: return nil
        }
    }
}
