import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol

/// A trial's initial and final parameters as a NumPy `.npz`, made by training the trial again
/// from its description in the ledger's spec — a trial is deterministic, so no weights need to
/// travel or be stored — and checked against the final parameters' SHA-256 the ledger recorded.
public enum ParameterExport {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Writes trial `trial`'s parameters to `path`. Returns the SHA-256 of the final parameters.
    @discardableResult
    public static func write(ledgerPath: String, trial: Int, to path: String) throws(Failure) -> String {
        let ledger: Ledger
        let stored: StoredSpec
        let record: TrialRecord?
        do {
            ledger = try Ledger(existingAt: ledgerPath)
            do throws(ExperimentLoadError) { stored = try StoredSpec.decode(ledgerSpecJSON: ledger.experiment.specJSON) } catch {
                throw Failure(description: "\(ledgerPath): \(error.description)")
            }
            guard trial >= 0 && trial < stored.spec.trialCount else {
                throw Failure(description: "--trial \(trial): the experiment has trials 0...\(stored.spec.trialCount - 1)")
            }
            record = try ledger.record(trial: trial)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(error)")
        }
        let data: TrainingData
        do throws(DataError) { data = try DatasetSource(parsing: stored.spec.data.dataset).load() } catch {
            throw Failure(description: "data.dataset: \(error.description)")
        }
        guard data.train.contentSHA256 == stored.datasetSHA256 else {
            throw Failure(description: "\(stored.spec.data.dataset) here has SHA-256 \(data.train.contentSHA256), but the run used \(stored.datasetSHA256)")
        }
        let spec = stored.spec
        var description = spec.trialDescription(trial, point: spec.sweepPoints[spec.pointIndex(ofTrial: trial)], datasetSHA256: stored.datasetSHA256)
        description.probes = nil   // the weights do not depend on the probes
        let result: TrialResult, parameters: TrialParameters?
        do throws(TrialDescriptionError) { (result, parameters) = try Trainer.run(description, data: data, keepingParameters: true) } catch {
            throw Failure(description: "trial \(trial): \(error)")
        }
        if let json = record?.outcomeJSON, let outcome = try? MessageCodec.makeDecoder().decode(TaskOutcome.self, from: Data(json.utf8)),
           let recorded = outcome.as(TrialResult.self), recorded.parametersSHA256 != result.parametersSHA256 {
            throw Failure(description: "trial \(trial) trained here ends on parameters \(result.parametersSHA256.prefix(16))…, but the ledger recorded \(recorded.parametersSHA256.prefix(16))… (a different build or a faulty worker)")
        }
        do throws(DataError) { try NumPyArchive.write(NumPyArchive.arrays(of: parameters!), to: path) } catch {
            throw Failure(description: error.description)
        }
        return result.parametersSHA256
    }
}
