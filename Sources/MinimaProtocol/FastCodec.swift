import Foundation
import MinimaCore

/// Hand-written encoding and decoding of the three messages that carry every trial — `trials`,
/// `results` and `ack` — so that dispatching no-op trials is not bound by Codable's generic
/// machinery. The JSON is the same as Codable's (sorted keys, nil fields omitted); training
/// payloads (trial descriptions and results) still go through JSONEncoder/JSONDecoder.
enum FastCodec {
    // MARK: Writing

    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN { out += Array(#""nan""#.utf8); return }
        if value.isInfinite { out += Array((value > 0 ? #""inf""# : #""-inf""#).utf8); return }
        out += Array("\(value)".utf8)
    }

    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0a: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0d: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0 ..< 0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendTask(_ task: TaskDescription, to out: inout [UInt8]) { task.payload.appendEnvelope(to: &out) }

    static func appendOutcome(_ outcome: TaskOutcome, to out: inout [UInt8]) { outcome.payload.appendEnvelope(to: &out) }

    static func encode(_ trials: Trials) -> [UInt8] {
        var out = Array(#"{"leases":["#.utf8)
        out.reserveCapacity(trials.leases.count * 80)
        for (i, lease) in trials.leases.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"attempt":\#(lease.attempt),"lease":\#(lease.lease),"task":"#.utf8)
            appendTask(lease.task, to: &out)
            if let limit = lease.timeLimitSeconds {
                out += Array(#","timeLimitSeconds":"#.utf8)
                appendNumber(limit, to: &out)
            }
            out += Array(#","trial":\#(lease.trial)}"#.utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    static func encode(_ results: Results) -> [UInt8] {
        var out = Array(#"{"credit":\#(results.credit),"results":["#.utf8)
        out.reserveCapacity(results.results.count * 90)
        for (i, report) in results.results.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            if let failure = report.failure {
                out += Array(#""failure":"#.utf8)
                appendString(failure, to: &out)
                out.append(UInt8(ascii: ","))
            }
            out += Array(#""lease":\#(report.lease),"#.utf8)
            if let outcome = report.outcome {
                out += Array(#""outcome":"#.utf8)
                appendOutcome(outcome, to: &out)
                out.append(UInt8(ascii: ","))
            }
            out += Array(#""seconds":"#.utf8)
            appendNumber(report.seconds, to: &out)
            out += Array(#","trial":\#(report.trial)}"#.utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    static func encode(_ ack: Acknowledge) -> [UInt8] {
        var out = Array(#"{"leases":["#.utf8)
        out.reserveCapacity(ack.leases.count * 16)
        for (i, lease) in ack.leases.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("\(lease)".utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    // MARK: Reading

    private static func parse(_ body: [UInt8], type: String) throws(MalformedMessage) -> Members {
        let result = body.withUnsafeBufferPointer { buffer -> Result<JSONScanner.Value, JSONScanner.Failure> in
            do throws(JSONScanner.Failure) { return .success(try JSONScanner.parse(buffer)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let value):
            guard let object = value.object else { throw MalformedMessage(problem: "'\(type)' body: top level: expected an object") }
            return object
        case .failure(let failure):
            throw MalformedMessage(problem: "'\(type)' body: invalid JSON at byte \(failure.offset): \(failure.message)")
        }
    }

    private static func field(_ object: Members, _ key: String, _ path: String) throws(MalformedMessage) -> JSONScanner.Value {
        guard let value = object[key], !value.isNull else { throw MalformedMessage(problem: "\(path): missing field '\(key)'") }
        return value
    }

    private static func integer(_ object: Members, _ key: String, _ path: String) throws(MalformedMessage) -> Int64 {
        guard let value = try field(object, key, path).integer else { throw MalformedMessage(problem: "\(path).\(key): expected an integer") }
        return value
    }

    /// The path of the first key of `given` (with a non-null value) that `known` lacks.
    static func firstUnknownKey(_ given: Any, _ known: Any, path: String) -> String? {
        if let object = given as? [String: Any] {
            let knownObject = known as? [String: Any] ?? [:]
            for key in object.keys.sorted() where !(object[key] is NSNull) {
                guard let inner = knownObject[key] else { return "\(path).\(key)" }
                if let found = firstUnknownKey(object[key]!, inner, path: "\(path).\(key)") { return found }
            }
        } else if let array = given as? [Any], let knownArray = known as? [Any] {
            for (i, element) in array.enumerated() where i < knownArray.count {
                if let found = firstUnknownKey(element, knownArray[i], path: "\(path)[\(i)]") { return found }
            }
        }
        return nil
    }

    /// The envelope at `path`, its kind looked up in ``TaskRegistry`` by `lookUp`.
    private static func envelope<Kind>(_ value: JSONScanner.Value, in body: [UInt8], path: String, what: String, names: () -> String,
                                       _ lookUp: (String) -> Kind?) throws(MalformedMessage) -> (Kind, WireEnvelope) {
        guard let object = value.object else { throw MalformedMessage(problem: "\(path): expected an object") }
        guard let kind = try field(object, "kind", path).string else { throw MalformedMessage(problem: "\(path).kind: expected a string") }
        guard let type = lookUp(kind) else { throw MalformedMessage(problem: "\(path).kind: unknown \(what) kind '\(kind)' (expected \(names()))") }
        return (type, WireEnvelope(object: object, bytes: body, range: value.objectRange, path: path, bodyKey: nil))
    }

    private static func task(_ value: JSONScanner.Value, in body: [UInt8], path: String) throws(MalformedMessage) -> TaskDescription {
        let (type, envelope) = try envelope(value, in: body, path: path, what: "task", names: { TaskRegistry.taskNames }, TaskRegistry.taskType)
        return try read(type, envelope)
    }

    private static func read<P: TaskPayload>(_ type: P.Type, _ envelope: WireEnvelope) throws(MalformedMessage) -> TaskDescription {
        var envelope = envelope
        envelope.bodyKey = P.bodyKey
        return TaskDescription(try P.read(envelope))
    }

    private static func outcome(_ value: JSONScanner.Value, in body: [UInt8], path: String) throws(MalformedMessage) -> TaskOutcome {
        let (type, envelope) = try envelope(value, in: body, path: path, what: "outcome", names: { TaskRegistry.outcomeNames }, TaskRegistry.outcomeType)
        return try read(type, envelope)
    }

    private static func read<P: OutcomePayload>(_ type: P.Type, _ envelope: WireEnvelope) throws(MalformedMessage) -> TaskOutcome {
        var envelope = envelope
        envelope.bodyKey = P.bodyKey
        return TaskOutcome(try P.read(envelope))
    }

    static func decodeTrials(_ body: [UInt8]) throws(MalformedMessage) -> Trials {
        let object = try parse(body, type: "trials")
        guard let leases = try field(object, "leases", "trials").array else { throw MalformedMessage(problem: "trials.leases: expected an array") }
        var result: [Lease] = []
        var unreadable: [UnreadableLease] = []
        result.reserveCapacity(leases.count)
        for (i, value) in leases.enumerated() {
            let path = "leases[\(i)]"
            guard let lease = value.object else { throw MalformedMessage(problem: "\(path): expected an object") }
            var limit: Double?
            if let raw = lease["timeLimitSeconds"], !raw.isNull {
                guard let seconds = raw.double else { throw MalformedMessage(problem: "\(path).timeLimitSeconds: expected a number") }
                limit = seconds
            }
            let id = try integer(lease, "lease", path)
            guard id >= 0 else { throw MalformedMessage(problem: "\(path).lease: expected a non-negative integer") }
            let trial = Int(try integer(lease, "trial", path)), attempt = Int(try integer(lease, "attempt", path))
            let decoded: TaskDescription
            do throws(MalformedMessage) { decoded = try task(try field(lease, "task", path), in: body, path: path + ".task") } catch {
                // The lease is readable, its task is not: say so for this lease alone.
                unreadable.append(UnreadableLease(lease: UInt64(id), trial: trial, problem: error.problem))
                continue
            }
            result.append(Lease(lease: UInt64(id), trial: trial, attempt: attempt, task: decoded, timeLimitSeconds: limit))
        }
        return Trials(leases: result, unreadable: unreadable)
    }

    static func decodeResults(_ body: [UInt8]) throws(MalformedMessage) -> Results {
        let object = try parse(body, type: "results")
        guard let reports = try field(object, "results", "results").array else { throw MalformedMessage(problem: "results.results: expected an array") }
        let credit = try integer(object, "credit", "results")
        var result: [TrialReport] = []
        result.reserveCapacity(reports.count)
        for (i, value) in reports.enumerated() {
            let path = "results[\(i)]"
            guard let report = value.object else { throw MalformedMessage(problem: "\(path): expected an object") }
            var failure: String?
            if let raw = report["failure"], !raw.isNull {
                guard let text = raw.string else { throw MalformedMessage(problem: "\(path).failure: expected a string") }
                failure = text
            }
            var produced: TaskOutcome?
            if let raw = report["outcome"], !raw.isNull { produced = try outcome(raw, in: body, path: path + ".outcome") }
            guard let seconds = try field(report, "seconds", path).double else { throw MalformedMessage(problem: "\(path).seconds: expected a number") }
            let lease = try integer(report, "lease", path)
            guard lease >= 0 else { throw MalformedMessage(problem: "\(path).lease: expected a non-negative integer") }
            result.append(TrialReport(trial: Int(try integer(report, "trial", path)), lease: UInt64(lease), outcome: produced, failure: failure, seconds: seconds))
        }
        return Results(results: result, credit: Int(credit))
    }

    static func decodeAcknowledge(_ body: [UInt8]) throws(MalformedMessage) -> Acknowledge {
        let object = try parse(body, type: "ack")
        guard let leases = try field(object, "leases", "ack").array else { throw MalformedMessage(problem: "ack.leases: expected an array") }
        var ids: [UInt64] = []
        ids.reserveCapacity(leases.count)
        for (i, value) in leases.enumerated() {
            guard let id = value.integer, id >= 0 else { throw MalformedMessage(problem: "ack.leases[\(i)]: expected a non-negative integer") }
            ids.append(UInt64(id))
        }
        return Acknowledge(leases: ids)
    }
}
