import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol
@testable import MinimaReport
import Testing

/// Time to target from learning curves: the first entry at or below each target gives the work
/// and seconds; the median counts a restart that never got there as taking forever.
@Suite("Time to target")
struct TimeToTargetTests {
    static func row(trial: Int, point: Int, losses: [Double], work: [Double], seconds: [Double]) -> TrialRow {
        var curve = LearningCurve()
        curve.trainingLoss = losses
        curve.gradientEquivalents = work
        var result = TrialResult(status: .completed, stopReason: .maxEpochs, epochs: losses.count - 1, train: Metrics(loss: losses.last!, error: nil, samples: 100),
                                 validation: nil, test: Metrics(loss: losses.last!, error: nil, samples: 100), gradientNorm: nil, keptEpoch: losses.count - 1,
                                 parametersSHA256: "", timing: .init(trainingSeconds: seconds.last!, evaluationSeconds: 0, samplesPerSecond: 0, instructionSet: ""))
        result.curve = curve
        result.timing.curveSeconds = seconds
        return TrialRow(trial: trial, point: point, restart: trial, state: "done", outcome: TaskOutcome(result), status: .completed, worker: nil, seconds: nil, failure: nil)
    }

    @Test func theFirstEntryAtOrBelowEachTargetGivesItsWorkAndSeconds() {
        let rows = [
            Self.row(trial: 0, point: 0, losses: [2, 1.2, 0.9, 0.4], work: [0, 1, 2, 3], seconds: [0, 0.1, 0.2, 0.3]),
            Self.row(trial: 1, point: 0, losses: [2, 0.8, 0.6, 0.5], work: [0, 1, 2, 3], seconds: [0, 0.2, 0.4, 0.6]),
            Self.row(trial: 2, point: 0, losses: [2, 1.5, 1.1, 1.05], work: [0, 1, 2, 3], seconds: [0, 0.1, 0.2, 0.3]),
        ]
        let measured = TimeToTarget.measure(rows, targets: [1, 0.5, 0.3])
        #expect(measured.restarts == 3 && measured.reached == [2, 2, 0])
        // ≤ 1: 2 and 1 epochs, the third never: median of (1, 2, ∞) = 2.
        #expect(measured.work[0] == 2 && measured.seconds[0] == 0.2)
        // ≤ 0.5: 3 and 3 epochs, the third never: median 3.
        #expect(measured.work[1] == 3 && measured.seconds[1] == 0.6)
        // ≤ 0.3: none — no median.
        #expect(measured.work[2] == nil && measured.seconds[2] == nil)
    }

    @Test func theCensoredMedianIsNilWhenHalfNeverArrive() {
        #expect(TimeToTarget.censoredMedian([1, .infinity]) == nil)
        #expect(TimeToTarget.censoredMedian([1, 3, .infinity]) == 3)
        #expect(TimeToTarget.censoredMedian([1, 3]) == 2)
        #expect(TimeToTarget.censoredMedian([]) == nil)
    }
}

/// The linear-autoencoder run committed in docs/runs/linear-autoencoder (README, "Critical points
/// that converge"): its ledger regenerates a report whose searches meet the issue's targets.
@Suite("The committed linear-autoencoder run")
struct CommittedLinearAutoencoderRunTests {
    @Test func nearlyEverySearchConvergesAndEveryConvergedPointIsAClosedFormCriticalPoint() throws {
        let run = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/runs/linear-autoencoder")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-lae-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: run.path + "/ledger.sqlite", toPath: directory + "/ledger.sqlite")
        let written = try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory + "/report")
        let closedForm = try #require(written.report.closedForm)
        let trustRegion = try #require(closedForm.points.first { $0.label == "newton-mr-lm" })
        #expect(trustRegion.searches == 100)
        #expect(trustRegion.converged >= 90, "≥ 90% of searches converge")
        #expect(Double(trustRegion.matched) >= 0.9 * Double(trustRegion.converged), "≥ 90% of converged points matched")
        #expect(closedForm.eigenvalues.count == 8 && closedForm.found.contains { $0.index == 0 && $0.point == trustRegion.point })
        #expect(try CommittedRunTests.summary(written.files.summary) == CommittedRunTests.summary(run.path + "/summary.json"))
    }
}
