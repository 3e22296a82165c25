import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
@testable import MinimaRuntime
import Testing

/// The live page's results equal the final report's for every built-in kind (the connectivity
/// kind, the test's bowl kind and a network with a listed probe check it in their own tests,
/// through `withReport`), also when verification takes results back; and what peers send is
/// escaped.
@Suite("The live page")
struct LivePageTests {
    static let networks = """
        name: live-networks
        seed: 5
        restarts: 4
        data: {dataset: mnist10, training-samples: 300, test-samples: 200}
        model: {width: [3, 8]}
        optimizer: {batch-size: 30, learning-rate: 0.1}
        stopping: {epochs: 2}
        curve: {}
        probes: {samples: 100, hessian: {extremes: 1, density: {probes: 1, steps: 8}}, paths: {points: 4, between-restarts: 1}}
        report: {bins: 8}
        """

    static let spinGlass = """
        name: live-spin-glass
        kind: spin-glass
        seed: 9
        restarts: 5
        spin-glass: {order: 3, spins: [8, 16], couplings: shared, index: true}
        optimizer: {learning-rate: 0.2, noise: 0}
        stopping: {steps: 300, gradient-tolerance: 1e-5}
        report: {bins: 8}
        """

    /// Runs a spec's trials through the scheduler with honest workers: its ledger's records.
    static func run(_ yaml: String) throws -> (ResolvedExperiment, [TrialRecord]) {
        let experiment = try ResolvedExperiment.resolve(try SpecParser.parse(yaml: yaml, file: "live.yaml"), text: yaml)
        var harness = SchedulerHarness(trials: experiment.plan.trialCount, tasks: experiment.plan.task)
        let data = experiment.plan.datasets.isEmpty ? nil : try DatasetSource.mnist10.load()
        harness.datasets = { _ in try #require(data) }
        harness.complete(withHonestWorkers: 2)
        #expect(harness.scheduler.counts.done == experiment.plan.trialCount)
        return (experiment, harness.ledger.rows.values.sorted { $0.trial < $1.trial })
    }

    @Test(arguments: [networks, spinGlass])
    func itsResultsEqualTheFinalReportOnceTheStudyEnds(yaml: String) throws {
        let (experiment, records) = try Self.run(yaml)
        try withReport(of: experiment, records: records) { written in
            #expect(written.report.done == experiment.plan.trialCount)
        }
    }

    /// Verification replaces results and quarantine takes them back: the page follows the
    /// ledger's commits (the result a real SQLite ledger returns) to the same report.
    @Test func itFollowsReplacementsAndQuarantinesAsTheLedgerDoes() throws {
        let (experiment, records) = try Self.run(Self.spinGlass)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try Ledger(path: directory + "/ledger.sqlite", experiment: StoredExperiment(
            name: experiment.spec.name, specJSON: experiment.plan.specJSON, specSHA256: experiment.plan.specSHA256, trialCount: experiment.plan.trialCount))
        let live = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial)
        live.opened(records: [], quarantined: [], disputedResults: 0)
        func commit(_ batch: LedgerBatch) throws {
            var group = LedgerGroup()
            group.batch = batch
            live.committed(group, try ledger.commit(batch))
        }

        // Trials 0–5 from "cheat", 6–9 from honest workers; a failed trial with a hostile reason.
        var first = LedgerBatch()
        first.records = records.prefix(6).map { var r = $0; r.worker = "cheat"; return r } + records[6..<10]
        first.records[8].state = .failed
        first.records[8].outcomeJSON = nil
        first.records[8].failure = "<script>alert('failure')</script>"
        first.records[8].worker = "<img src=x onerror=alert(1)>"
        first.records.append(first.records[0])   // a duplicate: not stored twice
        try commit(first)
        // A verification majority replaces trial 7's result with trial 6's outcome; "cheat" is
        // quarantined, so trials 0–5 go back to pending; two of them come back from others.
        var second = LedgerBatch()
        var replacement = records[6]
        replacement.trial = 7
        second.replacements = [replacement]
        second.quarantines = [Quarantine(worker: "cheat", reason: "outvoted by two workers on trial 3")]
        try commit(second)
        var third = LedgerBatch()
        third.records = [records[0], records[1]]
        try commit(third)
        live.finished()

        let written = try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report")
        #expect(written.report.done == 5 && written.report.failed == 1 && written.report.pending == 4 && written.report.disputedResults == 7)
        let drawn = try #require(live.drawing.report)
        var a = drawn, b = written.report
        a.generatedAt = ""
        b.generatedAt = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        #expect(String(decoding: try encoder.encode(a), as: UTF8.self) == String(decoding: try encoder.encode(b), as: UTF8.self))

        // What peers chose is escaped on the page: names and reasons are text, never markup.
        let status = LiveStatus(progress: CoordinatorProgress(
            experiment: experiment.spec.name, counts: TrialCounts(), leasesOut: 0, workers: 1, threads: 1, uncommitted: 0,
            quarantinedWorkers: ["<b>cheat</b>"], verificationsOutstanding: 0, statistics: SchedulerStatistics(), points: [], trialsPerPoint: 5, commitSeconds: 0, seconds: 3),
            workers: [ConnectedWorker(name: "<svg onload=alert(2)>", threads: 1, leases: 0, reported: 3, connectedSeconds: 3, silentSeconds: 0, leaving: false, quarantined: false)],
            complete: false, stopping: false, endpoint: "tcp://127.0.0.1:1")
        let page = live.render(status, fragmentOnly: false, query: "")
        for raw in ["<script>alert", "<img src=x", "<svg onload", "<b>cheat"] { #expect(!page.contains(raw), "\(raw) is on the page unescaped") }
        #expect(page.contains("&lt;script&gt;alert(&#39;failure&#39;)&lt;/script&gt;") || page.contains("&lt;script&gt;alert('failure')&lt;/script&gt;"))
        // Exactly one script: the page's own, whose hash the Content-Security-Policy names.
        #expect(page.components(separatedBy: "<script>").count == 2)
        let script = try #require(page.components(separatedBy: "<script>").last?.components(separatedBy: "</script>").first)
        var hasher = SHA256()
        hasher.update(Array(script.utf8))
        #expect(live.contentSecurityPolicy.contains("script-src 'sha256-\(Data(hasher.finalize()).base64EncodedString())'"))
        #expect(page.contains("data-state=\"running\"") && page.contains("<noscript><meta http-equiv=\"refresh\""))
        var done = status
        done.complete = true
        let last = live.render(done, fragmentOnly: true, query: "")
        #expect(last.contains("data-state=\"done\"") && !last.contains("<html") && last.contains("<svg"))
        // A refresh that already shows the latest drawing gets the progress without the figures.
        let version = live.drawing.version
        let again = live.render(done, fragmentOnly: true, query: "have=\(version)")
        #expect(again.contains("data-state=\"done\"") && again.contains("data-unchanged=\"1\"") && !again.contains("<svg"))
        #expect(live.render(done, fragmentOnly: true, query: "have=\(version - 1)").contains("<svg"))
        // Every trial final but the last commit not drawn yet: the page says so and keeps
        // refreshing (a page that stopped at "done" would never show the final figures).
        var late = LedgerBatch()
        late.records = [records[2]]
        try commit(late)
        #expect(live.render(done, fragmentOnly: true, query: "").contains("data-state=\"finishing\""))
        live.finished()
        #expect(live.render(done, fragmentOnly: true, query: "").contains("data-state=\"done\""))
    }
}
