import Foundation

/// A message that could not be decoded; the description says what and where, for the log.
public struct MalformedMessage: Error, CustomStringConvertible, Equatable, Sendable {
    public var problem: String
    /// The offered protocol signature, when that was the problem (a version mismatch).
    public var signature: String?
    public var description: String { problem }
}

/// Encodes and decodes messages as frames: [signature, type, JSON body] (+ [bytes] for chunks).
/// The one JSON form Minima writes for hashing, storing and sending: keys sorted, slashes
/// unescaped, non-finite numbers as "inf", "-inf", "nan". Equal values give equal bytes.
public func canonicalJSONBytes<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    // Encoding Minima's own value types cannot fail.
    return Array(try! encoder.encode(value))
}

/// ``canonicalJSONBytes(_:)`` as a string.
public func canonicalJSON<T: Encodable>(_ value: T) -> String {
    String(decoding: canonicalJSONBytes(value), as: UTF8.self)
}

public enum MessageCodec {

    /// The decoder for every JSON body: it reads the strings "inf", "-inf" and "nan" that the
    /// encoders write for non-finite numbers.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    private static func body<T: Encodable>(_ value: T) -> [UInt8] { canonicalJSONBytes(value) }

    public static func encode(_ message: Message) -> [[UInt8]] {
        let type = Array(message.type.utf8)
        switch message {
        case .hello(let m): return [protocolSignature, type, body(m)]
        case .ready(let m): return [protocolSignature, type, body(m)]
        case .results(let m): return [protocolSignature, type, FastCodec.encode(m)]
        case .heartbeat: return [protocolSignature, type, Array("{}".utf8)]
        case .fetch(let m): return [protocolSignature, type, body(m)]
        case .goodbye(let m): return [protocolSignature, type, body(m)]
        case .status: return [protocolSignature, type, Array("{}".utf8)]
        case .progress(let json): return [protocolSignature, type, json]
        case .welcome(let m): return [protocolSignature, type, body(m)]
        case .error(let m): return [protocolSignature, type, body(m)]
        case .trials(let m): return [protocolSignature, type, FastCodec.encode(m)]
        case .acknowledge(let m): return [protocolSignature, type, FastCodec.encode(m)]
        case .chunk(let m, let bytes): return [protocolSignature, type, body(m), bytes]
        case .shutdown(let m): return [protocolSignature, type, body(m)]
        }
    }

    /// The body as Codable writes it (for tests that compare the hand-written codec with it).
    package static func codableBody(_ message: Message) -> [UInt8]? {
        switch message {
        case .trials(let m): body(m)
        case .results(let m): body(m)
        case .acknowledge(let m): body(m)
        default: nil
        }
    }

    /// Decodes a body with Codable (for the same tests).
    package static func codableDecode(type: String, body: [UInt8]) throws -> Message {
        switch type {
        case "trials": .trials(try makeDecoder().decode(Trials.self, from: Data(body)))
        case "results": .results(try makeDecoder().decode(Results.self, from: Data(body)))
        default: .acknowledge(try makeDecoder().decode(Acknowledge.self, from: Data(body)))
        }
    }

    /// Decodes the frames of one message (without the ROUTER's routing-id frame). Strict: the
    /// signature, the type, the number of frames and every field must be as documented.
    public static func decode(_ frames: [[UInt8]]) throws(MalformedMessage) -> Message {
        guard let signature = frames.first else { throw MalformedMessage(problem: "empty message") }
        guard signature == protocolSignature else {
            let text = String(decoding: signature.prefix(32), as: UTF8.self)
            if text.hasPrefix("MINIMA") {
                throw MalformedMessage(problem: "unsupported protocol signature '\(text)'", signature: text)
            }
            throw MalformedMessage(problem: "not a Minima message (frame 0 is \(signature.count) bytes, not 'MINIMA1')")
        }
        guard frames.count >= 3 else { throw MalformedMessage(problem: "expected at least 3 frames, got \(frames.count)") }
        let type = String(decoding: frames[1].prefix(32), as: UTF8.self)
        let json = Data(frames[2])
        func decode<T: Decodable>(_: T.Type, frames expected: Int = 3) throws(MalformedMessage) -> T {
            guard frames.count == expected else { throw MalformedMessage(problem: "'\(type)' takes \(expected) frames, got \(frames.count)") }
            do { return try makeDecoder().decode(T.self, from: json) } catch {
                throw MalformedMessage(problem: "'\(type)' body: \(describe(error, in: json))")
            }
        }
        switch type {
        case "hello": return .hello(try decode(Hello.self))
        case "ready": return .ready(try decode(Ready.self))
        case "results":
            guard frames.count == 3 else { throw MalformedMessage(problem: "'results' takes 3 frames, got \(frames.count)") }
            return .results(try FastCodec.decodeResults(frames[2]))
        case "heartbeat": _ = try decode(Empty.self); return .heartbeat
        case "fetch": return .fetch(try decode(Fetch.self))
        case "goodbye": return .goodbye(try decode(Goodbye.self))
        case "status": _ = try decode(Empty.self); return .status
        case "progress":
            guard frames.count == 3 else { throw MalformedMessage(problem: "'progress' takes 3 frames, got \(frames.count)") }
            return .progress(json: frames[2])
        case "welcome": return .welcome(try decode(Welcome.self))
        case "error": return .error(try decode(ProtocolError.self))
        case "trials":
            guard frames.count == 3 else { throw MalformedMessage(problem: "'trials' takes 3 frames, got \(frames.count)") }
            return .trials(try FastCodec.decodeTrials(frames[2]))
        case "ack":
            guard frames.count == 3 else { throw MalformedMessage(problem: "'ack' takes 3 frames, got \(frames.count)") }
            return .acknowledge(try FastCodec.decodeAcknowledge(frames[2]))
        case "chunk": return .chunk(try decode(Chunk.self, frames: 4), bytes: frames[3])
        case "shutdown": return .shutdown(try decode(Shutdown.self))
        default: throw MalformedMessage(problem: "unknown message type '\(type)'")
        }
    }

    private struct Empty: Codable {}

    /// A decoding error as one line: the path of the field and what was wrong.
    /// Like ``describe(_:)``, for an error decoding `data`: Foundation reports a number that
    /// does not fit its field (−1 or 2⁶⁴ for an unsigned one) as "not valid JSON" at the top level
    /// with no path, so when `data` is valid JSON the integers no unsigned 64-bit field can hold
    /// are named with their paths.
    public static func describe(_ error: Error, in data: Data) -> String {
        let text = describe(error)
        guard case DecodingError.dataCorrupted(let context)? = error as? DecodingError, context.codingPath.isEmpty,
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return text }
        var suspects: [String] = []
        func walk(_ value: Any, _ path: String) {
            guard suspects.count < 3 else { return }
            if let dictionary = value as? [String: Any] {
                for key in dictionary.keys.sorted() { walk(dictionary[key]!, path + "." + key) }
            } else if let array = value as? [Any] {
                for (index, element) in array.enumerated() { walk(element, path + "[\(index)]") }
            } else if let number = value as? NSNumber {   // a Bool (0 or 1) is never a suspect
                let double = number.doubleValue
                if double.rounded() == double && (double < 0 || double >= 18_446_744_073_709_551_616) {
                    suspects.append("\(path.drop { $0 == "." }) = \(number)")
                }
            }
        }
        walk(object, "")
        guard !suspects.isEmpty else { return text }
        return "a number out of range for its field? \(suspects.joined(separator: ", ")) (\(text))"
    }

    public static func describe(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return joined.isEmpty ? "top level" : String(joined.drop(while: { $0 == "." }))
        }
        switch decoding {
        case .keyNotFound(let key, let context): return "\(path(context)): missing field '\(key.stringValue)'"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// JSON as the command-line tools print it: sorted keys (equal values print equal text),
/// optionally indented; non-finite numbers as "inf", "-inf", "nan".
public func printableJSON<T: Encodable>(_ value: T, pretty: Bool) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
