import Foundation
import MinimaCore
import MinimaData
import MinimaProtocol

/// What the ledger of an experiment stores as its spec: the resolved spec and the identity and
/// shape of the dataset it ran on.
public struct StoredSpec: Codable, Sendable {
    public var spec: ExperimentSpec
    public var datasetSHA256: String
    public var inputs: Int
    public var classes: Int

    public init(spec: ExperimentSpec, datasetSHA256: String, inputs: Int, classes: Int) {
        self.spec = spec
        self.datasetSHA256 = datasetSHA256
        self.inputs = inputs
        self.classes = classes
    }

    public var canonicalJSON: String { MinimaProtocol.canonicalJSON(self) }

    /// Reads the spec a ledger stored. The error says why this build cannot: not a spec of
    /// `minima run` at all (a task-list ledger), or one of a kind, optimizer or field this build
    /// does not know (a ledger from a newer Minima, or of a kind registered only by a plug-in).
    public static func decode(ledgerSpecJSON json: String) throws(ExperimentLoadError) -> StoredSpec {
        let data = Data(json.utf8)
        let stored: StoredSpec
        do { stored = try JSONDecoder().decode(StoredSpec.self, from: data) } catch {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["spec"] != nil else {
                throw ExperimentLoadError("its spec is not an experiment spec of minima run (a ledger of `minima coordinator --tasks`?), so there is no sweep")
            }
            throw ExperimentLoadError("this build cannot read its spec: \(MessageCodec.describe(error))")
        }
        // A stored spec is read as untrusted: settings no spec file could have are refused here,
        // not found out by an allocation that aborts.
        let bins = stored.spec.report.bins
        guard (2...ExperimentSpec.Report.maximumBins).contains(bins) else {
            throw ExperimentLoadError("its spec asks for report.bins = \(bins); a spec may ask for 2 to \(ExperimentSpec.Report.maximumBins)")
        }
        return stored
    }

    /// The size of `point`'s subject (parameters, spins).
    public func size(of point: SweepPoint) -> Int { spec.kind.size(of: point, stored: self) }
}

/// A spec resolved against its dataset: everything a coordinator needs to hand out its trials.
public struct ResolvedExperiment: Sendable {
    public var spec: ExperimentSpec
    public var text: String
    public var stored: StoredSpec
    public var plan: ExperimentPlan

    /// Reads `path` (or the preset), validates it and loads its dataset (to learn its hash and shape).
    /// `overrides`: `--set KEY=VALUE` arguments, applied to the spec before it is validated; the
    /// spec stored (and hashed) is the one after them.
    public static func load(path: String?, preset: String?, overrides: [String] = []) throws(ExperimentLoadError) -> ResolvedExperiment {
        let text: String
        let spec: ExperimentSpec
        do throws(SpecError) {
            let parsedOverrides = try SpecOverrides.parse(overrides)
            let contents: String, file: String
            if let path {
                guard let read = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw SpecError(file: path, line: nil, column: nil, field: "", problem: "cannot read the file")
                }
                (contents, file) = (read, path)
            } else {
                let name = preset ?? "quick"
                guard let read = Presets.text(name) else {
                    throw SpecError(file: "--preset", line: nil, column: nil, field: "", problem: "unknown preset '\(name)'; the presets are \(Presets.names.joined(separator: ", "))")
                }
                (contents, file) = (read + "\n", "preset \(name)")
            }
            if parsedOverrides.isEmpty {
                text = contents
                spec = try SpecParser.parse(yaml: contents, file: file)
            } else {
                let overridden = try SpecOverrides.parse(contents, file: file, overrides: parsedOverrides)
                spec = overridden.spec
                text = "# \(file) with " + overrides.map { "--set \($0)" }.joined(separator: " ") + "\n" + overridden.text
            }
        } catch { throw ExperimentLoadError(error.description) }
        return try resolve(spec, text: text)
    }

    /// Resolves a parsed spec (its kind resolves what it needs: a dataset's hash and shape) into
    /// the plan a coordinator hands out.
    public static func resolve(_ spec: ExperimentSpec, text: String) throws(ExperimentLoadError) -> ResolvedExperiment {
        let (stored, datasets) = try spec.kind.resolve(spec)
        let points = spec.sweepPoints
        let datasetSHA256 = stored.datasetSHA256.isEmpty ? nil : stored.datasetSHA256
        var plan = ExperimentPlan(name: spec.name, specJSON: stored.canonicalJSON, trialCount: spec.trialCount, datasets: datasets) { index in
            spec.task(index, point: points[spec.pointIndex(ofTrial: index)], datasetSHA256: datasetSHA256)
        }
        plan.trialsPerPoint = spec.restarts
        return ResolvedExperiment(spec: spec, text: text, stored: stored, plan: plan)
    }

    /// Floating-point work of the whole experiment (the kind's estimate per trial, see
    /// ``ExperimentKind/trialWork(_:spec:stored:)``), and the training samples it passes over.
    public var workEstimate: (gigaflops: Double, trainingSamples: Double) {
        var flops = 0.0, samples = 0.0
        for point in spec.sweepPoints {
            flops += Double(spec.restarts) * spec.kind.trialWork(point, spec: spec, stored: stored)
            samples += Double(spec.restarts) * spec.kind.samplesSeen(point, spec: spec)
        }
        return (flops / 1e9, samples)
    }

    /// The estimated floating-point work of one trial of each sweep point: what the progress
    /// display weighs remaining trials by until trials of the point have been timed.
    public var workPerTrial: [Double] { spec.sweepPoints.map { spec.kind.trialWork($0, spec: spec, stored: stored) } }
}

/// A spec that cannot be loaded: unreadable, invalid, or naming data that is not there. One line.
public struct ExperimentLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
