import Foundation
import MinimaCore
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
@testable import MinimaRuntime
import Testing

/// A kind defined only in the test target (``BowlKind``) goes through every layer — spec, plan,
/// wire, the scheduler with workers that run it, the ledger and the report — after one
/// registration per registry, with no change to Minima's sources.
@Suite("A kind registered from outside Minima's sources")
struct ExtensionKindTests {
    static let yaml = """
        name: bowls
        kind: bowl
        seed: 11
        restarts: 6
        bowl: {dimensions: [2, 8, 32], steps: 40, learning-rate: 0.01}
        report: {bins: 10}
        """

    init() {
        ExperimentKinds.register(BowlKind.self)
        ReportKinds.register(BowlReport.self)
    }

    @Test func itsSpecIsReadWithErrorsThatNameFileLineAndField() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "bowls.yaml")
        #expect(spec.kind == BowlKind.self && spec.trialCount == 18 && spec.varyingDimensions == ["dimensions"])
        #expect(spec.sweepPoints.map { spec.label(of: $0) } == ["d = 2", "d = 8", "d = 32"])
        #expect(throws: SpecError.self) { try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "32]", with: "9999]"), file: "bowls.yaml") }
        do {
            _ = try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "steps: 40", with: "stpes: 40"), file: "bowls.yaml")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.description.hasPrefix("bowls.yaml:5:") && error.description.contains("bowl.stpes: unknown key"))
        }
        // Its stored form round-trips, so its ledgers can be resumed and reported.
        let stored = try MessageCodec.makeDecoder().decode(ExperimentSpec.self, from: Data(spec.canonicalJSON.utf8))
        #expect(stored == spec && stored.kind == BowlKind.self)
    }

    @Test func itsTasksCrossTheWireAndUnknownFieldsAreNamed() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "bowls.yaml")
        let task = spec.task(7, point: spec.sweepPoints[1], datasetSHA256: nil)
        let lease = Lease(lease: 1, trial: 7, attempt: 1, task: task, timeLimitSeconds: nil)
        guard case .trials(let trials) = try MessageCodec.decode(MessageCodec.encode(.trials(Trials(leases: [lease])))) else { Issue.record("not trials"); return }
        #expect(trials.leases == [lease] && trials.leases[0].task.kind == "bowl")
        let outcome = TaskOutcome(BowlResult(value: 0.25, steps: 40, status: .completed))
        let results = Results(results: [TrialReport(trial: 7, lease: 1, outcome: outcome, seconds: 0.1)], credit: 1)
        guard case .results(let decoded) = try MessageCodec.decode(MessageCodec.encode(.results(results))) else { Issue.record("not results"); return }
        #expect(decoded == results)
        let body = #"{"leases":[{"lease":1,"trial":0,"attempt":1,"task":{"kind":"bowl","trial":{"seed":1,"trial":0,"dimensions":2,"steps":1,"learningRate":0.1,"momentum":0.9}}}]}"#
        guard case .trials(let refused) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(body.utf8)]) else { Issue.record("not trials"); return }
        #expect(refused.unreadable.first?.problem.contains("leases[0].task.trial.momentum: unknown field") == true)
    }

    @Test func itRunsThroughTheSchedulerIntoTheLedgerAndTheReport() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "bowls.yaml")
        let experiment = try ResolvedExperiment.resolve(spec, text: Self.yaml)
        #expect(experiment.plan.trialCount == 18 && experiment.plan.trialsPerPoint == 6 && experiment.plan.datasets.isEmpty)
        #expect(experiment.workEstimate.gigaflops > 0)

        // Workers that run every kind, and one that does not run bowls: it gets none.
        var harness = SchedulerHarness(trials: experiment.plan.trialCount, tasks: experiment.plan.task)
        let python = harness.join("python", credit: 8, kinds: ["noop", "sleep"])
        harness.complete(withHonestWorkers: 2)
        #expect(harness.scheduler.counts.done == 18 && harness.messages(to: python).allSatisfy { if case .trials = $0 { false } else { true } })
        try harness.scheduler.checkInvariants()

        // The same bits on every run: a trial's outcome is a function of its description.
        let row = try #require(harness.ledger.rows[7])
        let again = try #require(try (experiment.plan.task(7).payload as! BowlTask).run(in: TaskContext(control: TrialControl(), loadDataset: { _ in throw TaskFailure("none") })))
        #expect(row.fingerprint == outcomeFingerprint(TaskOutcome(again)))

        // The ledger (a real SQLite file) and the report from it.
        try withReport(of: experiment, records: harness.ledger.rows.values.sorted { $0.trial < $1.trial }) { written in
            #expect(written.report.done == 18 && written.report.points.map(\.completed) == [6, 6, 6])
            #expect(written.report.primaryMetric == "value" && written.report.points.map(\.parameters) == [2, 8, 32])
            #expect(written.report.points.allSatisfy { ($0.metrics["value"]?.median ?? .nan) >= 0 })
            #expect(written.files.figures.map { URL(fileURLWithPath: $0).lastPathComponent } == ["distributions.svg", "histograms.svg", "spread.svg", "bowl-steps.svg"])
            let csv = try String(contentsOfFile: written.files.trials, encoding: .utf8).split(separator: "\n")
            #expect(csv.first == "trial,point,restart,dimensions,state,value" && csv.count == 19)
            let html = try String(contentsOfFile: written.files.html, encoding: .utf8)
            #expect(html.contains("Each descent's final value against its steps.") && html.contains("<th>value median</th>"))
            #expect(written.terminal.contains("d = 32"))
        }
    }
}
