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
        if spec.spinGlass != nil {
            // No dataset: the couplings come from the seed.
            let stored = StoredSpec(spec: spec, datasetSHA256: "", inputs: 0, classes: 0)
            let points = spec.sweepPoints
            var plan = ExperimentPlan(name: spec.name, specJSON: stored.canonicalJSON, trialCount: spec.trialCount) { index in
                spec.task(index, point: points[spec.pointIndex(ofTrial: index)], datasetSHA256: nil)
            }
            plan.trialsPerPoint = spec.restarts
            return ResolvedExperiment(spec: spec, text: text, stored: stored, plan: plan)
        }
        let data: TrainingData
        do throws(DataError) { data = try DatasetSource(parsing: spec.data.dataset).load() } catch {
            throw ExperimentLoadError("data.dataset: \(error.description)")
        }
        if let samples = spec.data.trainingSamples, samples > data.train.count {
            throw ExperimentLoadError("data.training-samples: asks for \(samples) samples but \(spec.data.dataset) has \(data.train.count)")
        }
        let trainingSplit = (spec.data.trainingSamples ?? data.train.count) - spec.data.validationSamples
        if let samples = spec.probes?.samples, samples > trainingSplit {
            throw ExperimentLoadError("probes.samples: probes \(samples) samples but each trial trains on \(trainingSplit) of \(spec.data.dataset)")
        }
        let stored = StoredSpec(spec: spec, datasetSHA256: data.train.contentSHA256, inputs: data.train.featureCount, classes: data.train.classCount)
        let points = spec.sweepPoints
        let hash = data.train.contentSHA256
        let plan = ExperimentPlan(name: spec.name, specJSON: stored.canonicalJSON, trialCount: spec.trialCount, datasets: [hash: spec.data.dataset]) { index in
            .train(spec.trialDescription(index, point: points[spec.pointIndex(ofTrial: index)], datasetSHA256: hash))
        }
        var pointed = plan
        pointed.trialsPerPoint = spec.restarts
        return ResolvedExperiment(spec: spec, text: text, stored: stored, plan: pointed)
    }

    /// Floating-point work of the whole experiment (6 FLOP per weight per training sample, 2 per
    /// evaluated sample; a Hessian-vector product about 16 per weight per probed sample), and the
    /// samples it trains on.
    public var workEstimate: (gigaflops: Double, trainingSamples: Double) {
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        var flops = 0.0, samples = 0.0
        for point in spec.sweepPoints {
            flops += Double(spec.restarts) * trialWork(point)
            if spec.spinGlass == nil { samples += Double(spec.restarts) * training * Double(point.epochs) }
        }
        return (flops / 1e9, samples)
    }

    /// The estimated floating-point work of one trial of each sweep point: what the progress
    /// display weighs remaining trials by until trials of the point have been timed.
    public var workPerTrial: [Double] { spec.sweepPoints.map(trialWork) }

    /// FLOP of one trial of `point`.
    func trialWork(_ point: SweepPoint) -> Double {
        if spec.spinGlass != nil {
            // 4 FLOP per stored coupling per step; drawing them costs about as much as 50 steps.
            let couplings = Double(SpinGlassCouplings.count(order: point.order ?? 3, spins: point.spins ?? 0))
            return 4 * couplings * Double(point.epochs + 50)
        }
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        let test = Double(spec.data.testSamples ?? 10000)
        let parameters = Double(point.parameterCount(inputs: stored.inputs, classes: stored.classes))
        let epochs = Double(point.epochs)
        // One epoch: SGD and GD pass over the samples once (6 FLOP per weight per sample); a
        // Newton step costs k Hessian-vector products (16), one value or gradient per damping
        // value (2 or 6), its own gradient, and the reorthogonalization (4k² per parameter).
        var perEpoch = 6 * parameters * training
        if let kind = point.optimizer, kind.isSecondOrder {
            let krylov = spec.optimizer.krylov ?? KrylovSettings()
            let k = Double(min(krylov.dimension, Int(parameters)))
            let candidate = kind == .newton ? 6.0 : 2.0
            perEpoch = (16 * k + candidate * Double(krylov.damping.count + 1) + 6) * parameters * training + 4 * k * k * parameters
        }
        // Per-epoch measurements: the curve (training and test loss, a gradient if asked), the
        // target's training loss, the relative tolerance's gradient.
        var measured = 0.0
        if let curve = spec.curve { measured += 2 * parameters * (training + test) + (curve.gradientNorm ? 6 * parameters * training : 0) }
        if spec.stopping.targetLoss != nil && spec.curve == nil { measured += 2 * parameters * training }
        if spec.stopping.relativeGradientTolerance != nil { measured += 6 * parameters * training }
        let warm = Double(point.warmStartEpochs ?? 0) * 6 * parameters * training
        let trainingFlops = perEpoch * epochs + warm + measured * (epochs + 1)
            + 2 * parameters * (training + test + Double(spec.data.validationSamples) * epochs)
        return trainingFlops + probeFlops(parameters: parameters, training: training, trainingFlops: trainingFlops)
    }

    /// The probes' work for one trial of a network with `parameters` parameters: Hessian-vector
    /// products (the Lanczos budget, the quadrature, the dense Hessian) and the points of the
    /// lines (a between-restarts line also trains its partner again).
    private func probeFlops(parameters: Double, training: Double, trainingFlops: Double) -> Double {
        guard let probes = spec.probes else { return 0 }
        let probed = Double(probes.samples ?? Int(training))
        var flops = 2 * 2 * parameters * probed   // value and gradient
        if let hessian = probes.hessian {
            var products = Double(min(hessian.maximumSteps, Int(parameters)))
            if let density = hessian.density { products += Double(density.probes * min(density.steps, Int(parameters))) }
            if Int(parameters) <= hessian.exactBelow { products += parameters }
            flops += products * 16 * parameters * probed
            if Int(parameters) <= hessian.exactBelow { flops += 4 / 3 * parameters * parameters * parameters }
        }
        if let paths = probes.paths {
            let lines = (paths.initToEnd ? 1.0 : 0) + Double(paths.betweenRestarts) / Double(spec.restarts)
            flops += lines * Double(paths.points) * 2 * parameters * probed
            flops += Double(paths.betweenRestarts) / Double(spec.restarts) * trainingFlops
        }
        return flops
    }
}


/// A spec that cannot be loaded: unreadable, invalid, or naming data that is not there. One line.
public struct ExperimentLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
