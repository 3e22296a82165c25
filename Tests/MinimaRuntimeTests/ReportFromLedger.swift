import Foundation
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
import MinimaRuntime
import Testing

/// Commits `records` to a real SQLite ledger of `experiment` in a fresh temporary directory,
/// writes the report from it into `report/` there, hands the result to `body`, and removes the
/// directory afterwards — how the kind and probe tests check the last two layers.
///
/// On the way it checks the live page against it: a ``LivePage`` fed the same records as a
/// coordinator feeds it — some as a resumed ledger's, the rest in several commits — draws, once
/// the study is finished, the report with the same numbers as the one written from the ledger.
func withReport<T>(of experiment: ResolvedExperiment, records: [TrialRecord], _ body: (ReportWriter.Written) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-\(experiment.spec.name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let ledger = try Ledger(path: directory + "/ledger.sqlite", experiment: StoredExperiment(
        name: experiment.spec.name, specJSON: experiment.plan.specJSON, specSHA256: experiment.plan.specSHA256, trialCount: experiment.plan.trialCount))
    var batch = LedgerBatch()
    batch.records = records.sorted { $0.trial < $1.trial }
    _ = try ledger.commit(batch)
    let written = try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report")
    try expectLivePageAgrees(with: written.report, experiment: experiment, records: batch.records)
    return try body(written)
}

/// The live page's report after `records` arrive (a third at opening, the rest in commits of
/// three) has the final report's numbers: the same JSON but for the time it was made.
func expectLivePageAgrees(with final: ExperimentReport, experiment: ResolvedExperiment, records: [TrialRecord]) throws {
    let live = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial)
    let resumed = records.count / 3
    live.opened(records: Array(records.prefix(resumed)), quarantined: [], disputedResults: 0)
    var rest = Array(records.dropFirst(resumed))
    var commits = 0
    while !rest.isEmpty {
        var group = LedgerGroup()
        group.batch.records = Array(rest.prefix(3))
        rest.removeFirst(group.batch.records.count)
        // Every other commit carries the outcomes as a coordinator received them (the page then
        // skips decoding): decoded from the stored JSON, which must give them back bit for bit.
        commits += 1
        if commits % 2 == 0 {
            for record in group.batch.records {
                guard let json = record.outcomeJSON, let fingerprint = record.fingerprint else { continue }
                let outcome = try MessageCodec.makeDecoder().decode(TaskOutcome.self, from: Data(json.utf8))
                #expect(canonicalJSON(outcome) == json, "trial \(record.trial)'s outcome does not survive its JSON")
                group.receivedOutcomes[record.trial] = ReceivedOutcome(fingerprint: fingerprint, outcome: outcome)
            }
        }
        var result = LedgerBatch.Result()
        result.dispositions = group.batch.records.map { _ in .stored }
        live.committed(group, result)
    }
    live.finished()
    let drawn = try #require(live.drawing.report)
    #expect(try comparable(drawn) == comparable(final), "the live page's report differs from the final report of \(experiment.spec.name)")
}

private func comparable(_ report: ExperimentReport) throws -> String {
    var report = report
    report.generatedAt = ""
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(report), as: UTF8.self)
}
