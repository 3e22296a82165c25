import Foundation
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport

/// Commits `records` to a real SQLite ledger of `experiment` in a fresh temporary directory,
/// writes the report from it into `report/` there, hands the result to `body`, and removes the
/// directory afterwards — how the kind and probe tests check the last two layers.
func withReport<T>(of experiment: ResolvedExperiment, records: [TrialRecord], _ body: (ReportWriter.Written) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-\(experiment.spec.name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let ledger = try Ledger(path: directory + "/ledger.sqlite", experiment: StoredExperiment(
        name: experiment.spec.name, specJSON: experiment.plan.specJSON, specSHA256: experiment.plan.specSHA256, trialCount: experiment.plan.trialCount))
    var batch = LedgerBatch()
    batch.records = records.sorted { $0.trial < $1.trial }
    _ = try ledger.commit(batch)
    return try body(try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report"))
}
