import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
@testable import MinimaRuntime
import Testing

/// The connectivity kind (Garipov et al. 2018) through every layer: its spec, its plan, the
/// wire, the scheduler with workers that run it, a real SQLite ledger and the report.
@Suite("The connectivity kind")
struct ConnectivityKindTests {
    static let yaml = """
        name: pairs
        kind: connectivity
        seed: 7
        restarts: 2
        data: {dataset: mnist10, training-samples: 400, test-samples: 300}
        model: {width: [3, 12], activation: relu, loss: softmax-cross-entropy}
        optimizer: {batch-size: 20, learning-rate: 0.1}
        stopping: {epochs: 2}
        connect: {shapes: [bezier, polychain], epochs: 2, batch-size: 20, learning-rate: 0.05, points: 11, samples: 200, plane: {points: 5}}
        report: {bins: 10}
        """

    @Test func itsSpecIsReadWithErrorsThatNameFileLineAndField() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "pairs.yaml")
        #expect(spec.kind == ConnectivityKind.self && spec.trialCount == 4 && spec.varyingDimensions == ["architecture"])
        #expect(spec.metrics.contains("curve-barrier") && spec.metrics.contains("polychain-test-error-barrier"))
        let stored = try MessageCodec.makeDecoder().decode(ExperimentSpec.self, from: Data(spec.canonicalJSON.utf8))
        #expect(stored == spec && stored.kind == ConnectivityKind.self)
        let refusals: [(from: String, to: String, error: String)] = [
            ("shapes: [bezier, polychain]", "shapes: [bezier, spline]", "pairs.yaml:9:28: connect.shapes[1]: expected one of bezier, polychain, got 'spline'"),
            ("shapes: [bezier, polychain]", "shapes: [bezier, bezier]", "pairs.yaml:9:19: connect.shapes: each shape at most once"),
            ("points: 11", "points: 1", "pairs.yaml:9:96: connect.points: expected an integer ≥ 2, got 1"),
            ("epochs: 2, batch", "epcohs: 2, batch", "pairs.yaml:9:40: connect.epcohs: unknown key; expected one of: shapes, epochs, batch-size, learning-rate, momentum, points, samples, plane"),
            ("report: {bins: 10}", "probes: {samples: 10}", "pairs.yaml:10:1: probes: unknown key; expected one of: name, kind, seed, restarts, data, model, initialization, optimizer, schedule, stopping, report, verify, connect"),
            ("learning-rate: 0.05", "learning-rate: 2000", "pairs.yaml:9:67: connect.learning-rate: must be > 0 and ≤ 1000, got 2000.0"),
        ]
        for refusal in refusals {
            do {
                _ = try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: refusal.from, with: refusal.to), file: "pairs.yaml")
                Issue.record("accepted \(refusal.to)")
            } catch {
                #expect(error.description == refusal.error)
            }
        }
        #expect(throws: SpecError.self) { try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "connect: {", with: "connected: {"), file: "pairs.yaml") }
        #expect(try Presets.spec("connectivity")?.kind.name == ConnectivityKind.name)
    }

    @Test func pairIConnectsRestarts2iAnd2iPlus1OfTheNetworkStudyWithTheSameSpec() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "pairs.yaml")
        let network = try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "kind: connectivity", with: "")
            .replacingOccurrences(of: "restarts: 2", with: "restarts: 4")
            .split(separator: "\n").filter { !$0.hasPrefix("connect:") }.joined(separator: "\n"), file: "network.yaml")
        #expect(network.kind.name == NetworkKind.name)
        for trial in 0..<spec.trialCount {
            let point = spec.sweepPoints[spec.pointIndex(ofTrial: trial)]
            let task = try #require(spec.task(trial, point: point, datasetSHA256: "d").as(ConnectivityDescription.self))
            let (first, second) = (point.index * 4 + 2 * (trial % 2), point.index * 4 + 2 * (trial % 2) + 1)
            #expect(task.end(0) == network.trialDescription(first, point: network.sweepPoints[point.index], datasetSHA256: "d"))
            #expect(task.end(1) == network.trialDescription(second, point: network.sweepPoints[point.index], datasetSHA256: "d"))
        }
    }

    @Test func itsTasksCrossTheWireAndUnknownFieldsAreNamed() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "pairs.yaml")
        let task = spec.task(3, point: spec.sweepPoints[1], datasetSHA256: "abc")
        #expect(task.kind == "connect" && task.datasetSHA256 == "abc")
        let lease = Lease(lease: 1, trial: 3, attempt: 1, task: task, timeLimitSeconds: nil)
        guard case .trials(let trials) = try MessageCodec.decode(MessageCodec.encode(.trials(Trials(leases: [lease])))) else { Issue.record("not trials"); return }
        #expect(trials.leases == [lease])
        var json = String(decoding: MessageCodec.encode(.trials(Trials(leases: [lease])))[2], as: UTF8.self)
        json = json.replacingOccurrences(of: "\"points\":11", with: "\"points\":11,\"spline\":true")
        guard case .trials(let refused) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(json.utf8)]) else { Issue.record("not trials"); return }
        #expect(refused.unreadable.first?.problem.contains("leases[0].task.trial.spline: unknown field") == true)
        // A hostile description is refused before it runs, with the field named.
        var hostile = try #require(task.as(ConnectivityDescription.self))
        hostile.points = 1 << 40
        #expect(TaskDescription(hostile).payload.invalidity == "trial.points: must be in 2...10001, got \(1 << 40)")
    }

    @Test func itRunsThroughTheSchedulerIntoTheLedgerAndTheReport() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "pairs.yaml")
        let experiment = try ResolvedExperiment.resolve(spec, text: Self.yaml)
        #expect(experiment.plan.trialCount == 4 && experiment.workEstimate.gigaflops > 0)
        let data = try DatasetSource.mnist10.load()

        // Workers that run it, and one that does not: it gets none.
        var harness = SchedulerHarness(trials: experiment.plan.trialCount, tasks: experiment.plan.task)
        harness.datasets = { _ in data }
        let python = harness.join("python", credit: 8, kinds: ["noop", "sleep"])
        harness.complete(withHonestWorkers: 2)
        #expect(harness.scheduler.counts.done == 4 && harness.messages(to: python).allSatisfy { if case .trials = $0 { false } else { true } })
        try harness.scheduler.checkInvariants()

        // The same bits on every run, and the ends are the network trials they name.
        let row = try #require(harness.ledger.rows[3])
        let description = try #require(experiment.plan.task(3).as(ConnectivityDescription.self))
        let again = try ConnectivityRunner.run(description, data: data)

        // A result that does not have the shape its description asks for is refused on arrival
        // (a hostile or older worker), with what is wrong said.
        let planned = try #require(experiment.plan.task(2).as(ConnectivityDescription.self))
        let honest = try ConnectivityRunner.run(planned, data: data)
        #expect(planned.problem(with: honest) == nil)
        var mangled = honest
        mangled.plane?.values.removeLast()
        #expect(planned.problem(with: mangled) == "a connectivity result without the 5 × 5 plane its description asks for")
        mangled = honest
        mangled.plane?.bend = []
        #expect(planned.problem(with: mangled) == "a connectivity result without the 5 × 5 plane its description asks for")
        mangled = honest
        mangled.ends.removeLast()
        #expect(planned.problem(with: mangled) == "a connectivity result with 1 ends, not 2")
        mangled = honest
        mangled.curves[0].profiles.testError.losses.append(0)
        #expect(planned.problem(with: mangled) == "a connectivity result with profiles of [11, 11, 11, 12] values, not 11")
        #expect(row.fingerprint == outcomeFingerprint(TaskOutcome(again)))
        #expect(again.ends[1].parametersSHA256 == (try Trainer.run(description.end(1), data: data)).parametersSHA256)

        // The ledger (a real SQLite file) and the report from it.
        try withReport(of: experiment, records: harness.ledger.rows.values.sorted { $0.trial < $1.trial }) { written in
            #expect(written.report.done == 4 && written.report.points.map(\.completed) == [2, 2] && written.report.primaryMetric == "curve-barrier")
            let point = try #require(written.report.points.last)
            let curve = try #require(point.metrics["curve-barrier"]), line = try #require(point.metrics["line-barrier"])
            #expect(curve.maximum < line.minimum)
            #expect(written.files.figures.map { URL(fileURLWithPath: $0).lastPathComponent } == [
                "distributions.svg", "histograms.svg", "spread.svg", "connectivity-profiles.svg", "connectivity-test-profiles.svg",
                "connectivity-error-profiles.svg", "connectivity-barriers.svg", "connectivity-plane.svg"])
            // The plane of the first pair of each width, drawn and exported.
            #expect(harness.ledger.rows.values.filter { $0.outcomeJSON?.contains("\"plane\"") == true }.map(\.trial).sorted() == [0, 2])
            #expect(written.files.data.map { URL(fileURLWithPath: $0).lastPathComponent } == ["connectivity-plane.npz"])
            let csv = try String(contentsOfFile: written.files.trials, encoding: .utf8).split(separator: "\n")
            #expect(csv.count == 5 && csv[0].hasPrefix("trial,point,restart,hidden,learning_rate,epochs,state,status,end0_trial,"))
            #expect(csv[0].contains(",bezier_train_loss_barrier,") && csv[0].contains(",polychain_final_fit_loss,"))
            // The long-format tables: every path's profile point by point, and the planes' grids.
            #expect(written.files.tables.map { URL(fileURLWithPath: $0).lastPathComponent } == ["connectivity_profiles.csv", "connectivity_plane.csv"])
            let profiles = try String(contentsOfFile: written.files.tables[0], encoding: .utf8).split(separator: "\n")
            #expect(profiles[0] == "trial,point,restart,path,t,train_loss,train_error,test_loss,test_error")
            #expect(profiles.count == 1 + 4 * 3 * 11, "4 pairs × (line + 2 curves) × 11 points")
            #expect(profiles.contains { $0.hasPrefix("3,1,1,polychain,1.0,") })
            let plane = try String(contentsOfFile: written.files.tables[1], encoding: .utf8).split(separator: "\n")
            #expect(plane[0] == "trial,point,restart,curve,x,y,loss" && plane.count == 1 + 2 * 25)
            let html = try String(contentsOfFile: written.files.html, encoding: .utf8)
            #expect(html.contains("Paths between end points") && html.contains("<th>curve / line (medians)</th>"))
            #expect(written.terminal.contains("n1 = 12") && written.terminal.contains("curve/line"))
        }
    }
}
