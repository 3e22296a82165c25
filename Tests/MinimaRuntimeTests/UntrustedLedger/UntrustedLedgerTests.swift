import Foundation
import MinimaExperiment
import MinimaLedger
import MinimaReport
import Testing

/// A report reads a ledger as untrusted input (issue 18, items 11 and 12): values and settings no
/// honest run makes are drawn or refused with a message, never a trap.
@Suite("Reports of ledgers nobody should have written")
struct UntrustedLedgerTests {
    /// Replaces the test loss in a record's outcome JSON.
    static func withTestLoss(_ record: TrialRecord, _ loss: String) throws -> TrialRecord {
        var record = record
        let json = try #require(record.outcomeJSON)
        let pattern = try NSRegularExpression(pattern: #""test":\{"error":([^,]*),"loss":[^,]*,"#)
        let range = NSRange(json.startIndex..., in: json)
        #expect(pattern.firstMatch(in: json, range: range) != nil, "the outcome has no test loss to replace")
        record.outcomeJSON = pattern.stringByReplacingMatches(in: json, range: range, withTemplate: #""test":{"error":$1,"loss":\#(loss),"#)
        return record
    }

    @Test func testLossesOfPlusAndMinus1e308AreDrawnNotATrap() throws {
        let (experiment, records) = try LivePageTests.run(LivePageTests.networks)
        var hostile = records
        hostile[0] = try Self.withTestLoss(records[0], "1e+308")
        hostile[1] = try Self.withTestLoss(records[1], "-1e+308")
        hostile[5] = try Self.withTestLoss(records[5], "1.7976931348623157e+308")
        try withReport(of: experiment, records: hostile) { written in
            #expect(written.report.done == records.count)
            #expect(written.report.points[0].metrics["test-loss"]?.maximum == 1e308 && written.report.points[0].metrics["test-loss"]?.minimum == -1e308)
            let html = try String(contentsOfFile: written.files.html, encoding: .utf8)
            #expect(html.contains("<svg"))
            #expect(written.terminal.contains("n1 = 3"))
        }
        // The bin of any finite value is a bin.
        for (value, low, high) in [(1e308, -1e308, 1e308), (-1e308, -1e308, 1e308), (0, -Double.greatestFiniteMagnitude, .greatestFiniteMagnitude), (5, 5, 5)] {
            #expect((0..<30).contains(SVGFigures.bin(value, low: low, high: high, bins: 30)))
        }
    }

    @Test func aStoredSpecWithABillionBinsIsRefusedWithItsName() throws {
        let (experiment, records) = try LivePageTests.run(LivePageTests.spinGlass)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-untrusted-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let specJSON = experiment.plan.specJSON.replacingOccurrences(of: #""bins":8"#, with: #""bins":1000000000"#)
        #expect(specJSON != experiment.plan.specJSON)
        let ledger = try Ledger(path: directory + "/ledger.sqlite", experiment: StoredExperiment(
            name: experiment.spec.name, specJSON: specJSON, specSHA256: experiment.plan.specSHA256, trialCount: experiment.plan.trialCount))
        _ = try ledger.commit(records)
        #expect {
            try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report")
        } throws: { error in
            "\(error)".contains("report.bins = 1000000000; a spec may ask for 2 to 10000")
        }
        #expect(throws: SpecError.self) { try SpecParser.parse(yaml: LivePageTests.spinGlass.replacingOccurrences(of: "bins: 8", with: "bins: 1e9"), file: "x.yaml") }
        #expect(throws: SpecError.self) { try SpecParser.parse(yaml: LivePageTests.spinGlass.replacingOccurrences(of: "bins: 8", with: "bins: 10001"), file: "x.yaml") }
    }
}
