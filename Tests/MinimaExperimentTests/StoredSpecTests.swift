import Foundation
import MinimaExperiment
import Testing

/// A ledger's stored spec, read back by a build that may not know everything in it.
@Suite("Stored specs")
struct StoredSpecTests {
    static func storedJSON(_ change: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let stored = StoredSpec(spec: try parse(minimalSpec), datasetSHA256: "ab", inputs: 100, classes: 10)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(stored.canonicalJSON.utf8)) as? [String: Any])
        var spec = try #require(object["spec"] as? [String: Any])
        change(&spec)
        object["spec"] = spec
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func problem(_ json: String) -> String? {
        do { _ = try StoredSpec.decode(ledgerSpecJSON: json); return nil } catch { return error.description }
    }

    @Test func aStoredSpecReadsBack() throws {
        #expect(problem(try Self.storedJSON()) == nil)
    }

    @Test func aKindThisBuildDoesNotKnowIsNamedWithItsPath() throws {
        let json = try Self.storedJSON { $0["section"] = ["kind": "never-registered", "settings": [String: Any]()] }
        #expect(problem(json) == "this build cannot read its spec: spec.section.kind: a spec of kind 'never-registered', which this build does not know")
    }

    @Test func anOptimizerThisBuildDoesNotKnowIsNamed() throws {
        let json = try Self.storedJSON { spec in
            var optimizer = spec["optimizer"] as? [String: Any] ?? [:]
            optimizer["kind"] = ["adagrad"]
            spec["optimizer"] = optimizer
        }
        #expect(problem(json)?.contains("spec.optimizer.kind[0]: unknown optimizer 'adagrad'; this build runs sgd, gd, newton, saddle-free-newton, adam") == true)
    }

    @Test func aTaskListLedgerIsNotAnExperiment() {
        #expect(problem(#"[{"kind":"noop"}]"#)?.contains("not an experiment spec of minima run") == true)
        #expect(problem("{")?.contains("not an experiment spec of minima run") == true)
    }
}
