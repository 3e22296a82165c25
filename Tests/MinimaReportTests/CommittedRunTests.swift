import Foundation
import MinimaReport
import Testing

/// The paper-scale run committed in docs/runs/choromanska2015 (README, "The paper's setting at the
/// paper's scale"): its report is what the committed ledger regenerates. Reads only — it trains
/// nothing (the ledger is copied, so the committed file is never opened for writing).
@Suite("The committed choromanska2015 run")
struct CommittedRunTests {
    static let run = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/runs/choromanska2015")

    /// summary.json as a JSON object, less the time it was written.
    static func summary(_ path: String) throws -> NSDictionary {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let summary = try #require(object as? [String: Any])
        return summary.filter { $0.key != "generatedAt" } as NSDictionary
    }

    @Test func theCommittedSummaryIsWhatTheCommittedLedgerRegenerates() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-committed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Self.run.path + "/ledger.sqlite", toPath: directory + "/ledger.sqlite")
        let written = try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report")
        #expect(written.report.done == 5000 && written.report.failed == 0 && written.report.pending == 0)
        #expect(try Self.summary(written.files.summary) == Self.summary(Self.run.path + "/summary.json"))
        // The table is the committed one too, byte for byte.
        #expect(try String(contentsOfFile: written.files.trials, encoding: .utf8) == String(contentsOfFile: Self.run.path + "/trials.csv", encoding: .utf8))
    }
}
