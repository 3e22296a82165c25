import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
@testable import MinimaRuntime
import Testing

/// The loss at s·θ for s from 0 to 1: how the objective changes as the end point shrinks toward
/// the origin. Defined only here — one type and one registration, no change to Minima's sources.
enum ScaledLossProbe: ProbeMethod {
    static let steps = NumericSetting("steps", default: 5, in: 2, upTo: 101, integer: true, summary: "scales from 0 to 1")

    static let info = ProbeInfo(
        name: "scaled", summary: "the loss at s·θ for s from 0 to 1", settings: [steps],
        values: [ProbeOutput("at_origin", summary: "L(0) − L(θ)")],
        series: [ProbeSeries("profile", summary: "L(s·θ)", xRange: { _ in 0 ... 1 }, xLabel: "s", yLabel: "training objective")],
        evaluations: { $0[steps] })

    static func measure(at site: ProbeSite, settings: ProbeSettings) throws(ProbeSite.Cancelled) -> ProbeMeasurement {
        let count = Int(settings[steps])
        var profile: [Double] = []
        for i in 0..<count {
            let s = Float(i) / Float(count - 1)
            profile.append(try site.loss(at: site.endPoint.map { $0 * s }))
        }
        return ProbeMeasurement(values: ["at_origin": profile[0] - profile[count - 1]], series: ["profile": profile])
    }
}

@Suite("A probe registered from outside Minima's sources")
struct ExtensionProbeTests {
    static let yaml = """
        name: scaled-probe
        seed: 4
        restarts: 3
        data: {dataset: mnist10, training-samples: 300, test-samples: 200}
        model: {width: [4, 12]}
        optimizer: {batch-size: 10, learning-rate: 0.05}
        stopping: {epochs: 2}
        probes:
          samples: 300
          scaled: {steps: 4}
        """

    init() {
        ProbeMethods.register(ScaledLossProbe.self)
    }

    @Test func itsSpecSectionIsReadFromItsDeclarationWithErrorsThatNameFileLineAndField() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "scaled.yaml")
        #expect(spec.probes?.registered == ["scaled": ProbeSettings(["steps": 4])])
        let defaults = try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "scaled: {steps: 4}", with: "scaled: true"), file: "scaled.yaml")
        #expect(defaults.probes?.registered == ["scaled": ProbeSettings(["steps": 5])])
        for (replacement, message) in [
            ("scaled: {stpes: 4}", "scaled.yaml:10:12: probes.scaled.stpes: unknown key; expected one of: steps"),
            ("scaled: {steps: 2.5}", "scaled.yaml:10:19: probes.scaled.steps: must be a whole number, got 2.5"),
            ("scaled: {steps: 1}", "scaled.yaml:10:19: probes.scaled.steps: expected a number ≥ 2.0 and < 101.0, got 1"),
            ("scaled: false", "scaled.yaml:10:11: probes.scaled: is a mapping of its settings or true; to leave it out, remove it"),
        ] {
            #expect { try SpecParser.parse(yaml: Self.yaml.replacingOccurrences(of: "scaled: {steps: 4}", with: replacement), file: "scaled.yaml") }
                throws: { "\($0)" == message }
        }
    }

    @Test func itsRequestCrossesTheWireAndAnUnknownProbeIsNamed() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "scaled.yaml")
        let description = spec.trialDescription(1, point: spec.sweepPoints[0], datasetSHA256: nil)
        #expect(description.probes?.registered == ["scaled": ProbeSettings(["steps": 4])])
        let decoded = try MessageCodec.makeDecoder().decode(TrialDescription.self, from: Data(canonicalJSON(description).utf8))
        #expect(decoded == description)
        var unknown = description
        unknown.probes?.registered = ["nope": ProbeSettings()]
        #expect { try unknown.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "probes.nope" && "\($0)".contains("unknown probe 'nope'; this build has slice, ") && "\($0)".hasSuffix(", scaled") }
        unknown.probes?.registered = ["scaled": ProbeSettings(["steps": 4, "radius": 1])]
        #expect { try unknown.validate() } throws: { "\($0)" == "probes.scaled.radius: scaled takes no 'radius'; it takes steps" }
    }

    @Test func itRunsOnTheWorkersTaskIntoTheLedgerAndTheReport() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml, file: "scaled.yaml")
        let experiment = try ResolvedExperiment.resolve(spec, text: Self.yaml)
        let context = TaskContext(control: TrialControl()) { selection in try DatasetSource(parsing: selection.dataset).load() }
        var records: [TrialRecord] = []
        for trial in 0..<experiment.plan.trialCount {
            let task = try #require(experiment.plan.task(trial).payload as? any RunnableTask)
            let outcome = TaskOutcome(try #require(try task.run(in: context)))
            // The same bits when run again (a probe is part of the trial's deterministic outcome).
            #expect(outcomeFingerprint(outcome) == outcomeFingerprint(TaskOutcome(try #require(try task.run(in: context)))))
            let probes = try #require(outcome.as(TrialResult.self)?.probes)
            let profile = try #require(probes.registered?["scaled"]?.series["profile"])
            // s = 1 is the end point itself: the same objective, bit for bit, as the built-in probe's.
            #expect(profile.count == 4 && profile[3] == probes.loss)
            records.append(TrialRecord(trial: trial, state: .done, attempts: 1, worker: "test", seconds: 0.1, outcomeJSON: canonicalJSON(outcome),
                                       fingerprint: outcomeFingerprint(outcome), failure: nil))
        }

        try withReport(of: experiment, records: records) { written in
            #expect(written.report.points.allSatisfy { $0.listedProbes?["scaled"]?["at_origin"]?.count == 3 })
            #expect(written.files.figures.map { URL(fileURLWithPath: $0).lastPathComponent }.contains("scaled-profile.svg"))
            let csv = try String(contentsOfFile: written.files.trials, encoding: .utf8).split(separator: "\n")
            #expect(csv.first?.hasSuffix(",scaled_at_origin") == true && csv.count == 7)
            // Its series, entry by entry, in the long-format probe_series.csv.
            let series = try String(contentsOfFile: try #require(written.files.tables.first { $0.hasSuffix("/probe_series.csv") }), encoding: .utf8).split(separator: "\n")
            #expect(series[0] == "trial,point,restart,probe,series,index,x,y,value" && series.count == 1 + 6 * 4)
            #expect(series[1].hasPrefix("0,0,0,scaled,profile,0,"))
            let html = try String(contentsOfFile: written.files.html, encoding: .utf8)
            #expect(html.contains("<h2>Probe: scaled</h2>") && html.contains("L(s·θ): median over the restarts"))
            #expect(written.terminal.contains("scaled_at_origin"))
        }
    }
}
