import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol

/// A trial's initial and final parameters as a NumPy `.npz`, made by training the trial again
/// from its description in the ledger's spec — a trial is deterministic, so no weights need to
/// travel or be stored — and checked against the final parameters' SHA-256 the ledger recorded.
///
/// Nothing is written unless that check can be made and holds: the ledger's spec is the one its
/// SHA-256 names, the trial is a network's and done, and its recorded parameters are the ones
/// trained here. The file is written only at a new path or over a regular file.
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
            guard SHA256.hex(of: Array(ledger.experiment.specJSON.utf8)) == ledger.experiment.specSHA256 else {
                throw Failure(description: "\(ledgerPath): its stored spec does not have the SHA-256 the ledger recorded for it (\(ledger.experiment.specSHA256.prefix(16))…): it was changed after the run, so its trials cannot be trained again as they ran")
            }
            guard stored.spec.kind == NetworkKind.self else {
                throw Failure(description: "\(ledgerPath): a \(stored.spec.kind.name) experiment; export-parameters trains networks")
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
        // What the weights will be checked against, before any training.
        guard let record else { throw Failure(description: "trial \(trial) has no result in the ledger (it is pending): nothing to check its weights against") }
        guard record.state == .done, let json = record.outcomeJSON else {
            throw Failure(description: "trial \(trial) \(record.state == .failed ? "failed (\(record.failure ?? "no reason"))" : "has no outcome"): nothing to check its weights against")
        }
        let recorded: TrialResult
        do {
            guard let result = try MessageCodec.makeDecoder().decode(TaskOutcome.self, from: Data(json.utf8)).as(TrialResult.self) else {
                throw Failure(description: "trial \(trial)'s outcome is not a trained network's")
            }
            recorded = result
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "trial \(trial)'s outcome in the ledger cannot be read: \(MessageCodec.describe(error))")
        }
        try checkWritable(path)
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
        guard recorded.parametersSHA256 == result.parametersSHA256 else {
            throw Failure(description: "trial \(trial) trained here ends on parameters \(result.parametersSHA256.prefix(16))…, but the ledger recorded \(recorded.parametersSHA256.prefix(16))… (a different build or a faulty worker)")
        }
        do throws(DataError) { try NumPyArchive.write(NumPyArchive.arrays(of: parameters!), to: path) } catch {
            throw Failure(description: error.description)
        }
        return result.parametersSHA256
    }

    /// A new path, or a regular file: never a device, a directory, a pipe or a link (as root,
    /// writing `--out /dev/full` replaced the device node).
    static func checkWritable(_ path: String) throws(Failure) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }   // does not exist: a new file
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw Failure(description: "--out \(path): exists and is not a regular file (a device, directory, pipe or link); write to a new path")
        }
    }
}
