import Foundation
import MinimaCore
import MinimaData
import MinimaProtocol
import Yams

/// Networks trained from random restarts on a dataset (Choromanska et al. 2015; with the probes,
/// Newton searches, warm starts and curves of Dauphin et al. 2014 and Saxe et al. 2014). Its
/// settings are the spec's `data`, `model`, `initialization`, `optimizer`, `warm-start`,
/// `stopping`, `metrics`, `probes`, `curve` and `keep-parameters`; a trial is a
/// ``TrialDescription`` (task kind `train`).
public enum NetworkKind: ExperimentKind {
    public static let name = "network"
    public static var taskTypes: [any TaskPayload.Type] { [TrialDescription.self] }

    public static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec {
        try reader.networkSpec(root)
    }

    /// The length of each dimension of the sweep, in ``sweepPoints(of:)``'s order.
    static func dimensions(of spec: ExperimentSpec) -> [(field: String, count: Int)] {
        [("model", spec.model.architectures.count), ("model.activation", spec.model.activation.count), ("model.loss", spec.model.loss.count),
         ("initialization.scheme", spec.initialization.scheme.count), ("initialization.scale", spec.initialization.scale.count),
         ("optimizer.kind", spec.optimizer.kind?.count ?? 1),
         ("optimizer.variants", spec.optimizer.variants?.reduce(0) { $0 + $1.learningRate.count } ?? 1), ("optimizer.batch-size", spec.optimizer.batchSize.count),
         ("optimizer.learning-rate", spec.optimizer.learningRate.count), ("optimizer.momentum", spec.optimizer.momentum.count),
         ("optimizer.nesterov", spec.optimizer.nesterov.count), ("optimizer.weight-decay", spec.optimizer.weightDecay.count),
         ("warm-start.epochs", spec.warmStart?.epochs.count ?? 1), ("stopping.epochs", spec.stopping.epochs.count)]
    }

    public static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint] {
        // The product of the dimensions, the first outermost: a dimension added with its single
        // default value leaves every existing spec's trial indices as they were.
        var product = [SweepPoint(index: 0, hidden: [], activation: .relu, loss: .softmaxCrossEntropy, initScheme: .fanInUniform, initScale: 1,
                                  batchSize: 1, learningRate: 1, momentum: 0, nesterov: false, weightDecay: 0, epochs: 0)]
        func expand<Value>(_ values: [Value], _ set: (inout SweepPoint, Value) -> Void) {
            product = product.flatMap { point in values.map { value in var next = point; set(&next, value); return next } }
        }
        expand(spec.model.architectures) { $0.hidden = $1 }
        expand(spec.model.activation) { $0.activation = $1 }
        expand(spec.model.loss) { $0.loss = $1 }
        expand(spec.initialization.scheme) { $0.initScheme = $1 }
        expand(spec.initialization.scale) { $0.initScale = $1 }
        if let variants = spec.optimizer.variants {
            // Each variant with each of its learning rates, in the spec's order.
            let choices = variants.enumerated().flatMap { i, variant in variant.learningRate.map { (i, variant, $0) } }
            expand(choices) { point, choice in
                point.optimizer = choice.1.kind == .sgd ? nil : choice.1.kind
                point.variant = choice.0
                point.variantName = choice.1.name
                point.learningRate = choice.2
                point.momentum = choice.1.momentum
                point.nesterov = choice.1.nesterov
            }
            expand(spec.optimizer.batchSize) { $0.batchSize = $1 }
        } else {
            expand(spec.optimizer.kind ?? [.sgd]) { $0.optimizer = $1 == .sgd ? nil : $1 }
            expand(spec.optimizer.batchSize) { $0.batchSize = $1 }
            expand(spec.optimizer.learningRate) { $0.learningRate = $1 }
            expand(spec.optimizer.momentum) { $0.momentum = $1 }
            expand(spec.optimizer.nesterov) { $0.nesterov = $1 }
        }
        expand(spec.optimizer.weightDecay) { $0.weightDecay = $1 }
        expand(spec.warmStart?.epochs.map(Optional.some) ?? [nil]) { $0.warmStartEpochs = $1 }
        expand(spec.stopping.epochs) { point, epochs in point.epochs = spec.optimizer.variant(of: point)?.epochs ?? epochs }
        for i in product.indices { product[i].index = i }
        return product
    }

    public static func varyingDimensions(of spec: ExperimentSpec) -> Set<String> {
        var varying = Set<String>()
        if spec.model.architectures.count > 1 { varying.insert("architecture") }
        if spec.model.activation.count > 1 { varying.insert("activation") }
        if spec.model.loss.count > 1 { varying.insert("loss") }
        if spec.initialization.scheme.count > 1 { varying.insert("init") }
        if spec.initialization.scale.count > 1 { varying.insert("scale") }
        if (spec.optimizer.kind?.count ?? 1) > 1 { varying.insert("optimizer") }
        if let variants = spec.optimizer.variants {
            varying.insert("variant")
            if variants.contains(where: { $0.learningRate.count > 1 }) { varying.insert("variant-lr") }
        }
        if (spec.warmStart?.epochs.count ?? 1) > 1 { varying.insert("warm-start") }
        if spec.optimizer.batchSize.count > 1 { varying.insert("batch") }
        if spec.optimizer.learningRate.count > 1 { varying.insert("lr") }
        if spec.optimizer.momentum.count > 1 { varying.insert("momentum") }
        if spec.optimizer.nesterov.count > 1 { varying.insert("nesterov") }
        if spec.optimizer.weightDecay.count > 1 { varying.insert("weight-decay") }
        if spec.stopping.epochs.count > 1 { varying.insert("epochs") }
        return varying
    }

    public static func label(of point: SweepPoint, varying: Set<String>) -> String {
        var parts: [String] = []
        if varying.contains("architecture") {
            if point.hidden.count == 1 {
                parts.append("n1 = \(point.hidden[0])")
            } else if point.hidden.count > 2, Set(point.hidden).count == 1 {
                parts.append("depth \(point.hidden.count + 1) (width \(point.hidden[0]))")
            } else {
                parts.append("hidden = " + point.hidden.map(String.init).joined(separator: "×"))
            }
        }
        if varying.contains("activation") { parts.append(point.activation.rawValue) }
        if varying.contains("loss") { parts.append(point.loss.rawValue) }
        if varying.contains("init") { parts.append(point.initScheme.rawValue) }
        if varying.contains("scale") { parts.append("scale \(point.initScale)") }
        if varying.contains("optimizer") { parts.append((point.optimizer ?? .sgd).rawValue) }
        if varying.contains("variant") {
            let kind = point.optimizer ?? .sgd
            parts.append((point.variantName ?? kind.rawValue) + (varying.contains("variant-lr") && kind.takesLearningRate ? " lr \(point.learningRate)" : ""))
        }
        if varying.contains("warm-start") { parts.append("after \(point.warmStartEpochs ?? 0) epochs") }
        if varying.contains("batch") { parts.append("batch \(point.batchSize)") }
        if varying.contains("lr") { parts.append("lr \(point.learningRate)") }
        if varying.contains("momentum") { parts.append("momentum \(point.momentum)") }
        if varying.contains("nesterov") { parts.append(point.nesterov ? "nesterov" : "classic") }
        if varying.contains("weight-decay") { parts.append("wd \(point.weightDecay)") }
        if varying.contains("epochs") { parts.append("\(point.epochs) epochs") }
        return parts.isEmpty ? "all trials" : parts.joined(separator: ", ")
    }

    /// The number of parameters of the network.
    public static func size(of point: SweepPoint, stored: StoredSpec) -> Int {
        let widths = [stored.inputs] + point.hidden + [stored.classes]
        return zip(widths, widths.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    }

    public static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription {
        .train(spec.trialDescription(index, point: point, datasetSHA256: datasetSHA256))
    }

    /// Loads the dataset to learn its hash and shape, and checks the sample counts against it.
    public static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String]) {
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
        let stored = StoredSpec(spec: spec, datasetSHA256: data.train.contentSHA256, inputs: data.train.featureCount, classes: data.train.outputCount)
        return (stored, [data.train.contentSHA256: spec.data.dataset])
    }

    public static func describe(_ point: SweepPoint, stored: StoredSpec) -> String {
        "\(size(of: point, stored: stored)) parameters, \(point.epochs) epochs, batch \(point.batchSize)"
    }

    public static func samplesSeen(_ point: SweepPoint, spec: ExperimentSpec) -> Double {
        (Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)) * Double(point.epochs)
    }

    /// 6 FLOP per weight per training sample, 2 per evaluated sample; a Hessian-vector product
    /// about 16 per weight per probed sample.
    public static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double {
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        let test = Double(spec.data.testSamples ?? 10000)
        let parameters = Double(size(of: point, stored: stored))
        let epochs = Double(point.epochs)
        // One epoch: SGD and GD pass over the samples once (6 FLOP per weight per sample); a
        // Newton step costs k Hessian-vector products (16), one value or gradient per damping
        // value (2 or 6), its own gradient, and the reorthogonalization (4k² per parameter).
        var perEpoch = 6 * parameters * training
        if point.optimizer == .newtonMR {
            // A Newton-MR step: the gradient and ‖∇L‖ products (16 each) for Hg, at most maxit
            // in MINRES-QLP, and a gradient (6) per line-search trial (about 3).
            let maxit = spec.optimizerSettings(for: .newtonMR, point: point)["maxit"] ?? 25
            perEpoch = (16 * (min(maxit, parameters) + 2) + 6 * 3) * parameters * training
        } else if point.optimizer == .newtonMRLM {
            // A damped Newton-MR step: maxit Lanczos products (16 each) with full
            // reorthogonalization (4 maxit per parameter), and a gradient (6) per damping tried
            // (about 2); at 64 bits the same count (double instead of float operations).
            let maxit = min(spec.optimizerSettings(for: .newtonMRLM, point: point)["maxit"] ?? 100, parameters)
            perEpoch = (16 * maxit + 6 * 2) * parameters * training + 4 * maxit * maxit * parameters
        } else if let kind = point.optimizer, kind.isSecondOrder {
            let krylov = spec.optimizer.variant(of: point)?.krylov ?? spec.optimizer.krylov ?? KrylovSettings()
            let k = Double(min(krylov.dimension, Int(parameters)))
            let candidate = kind == .newton ? 6.0 : 2.0
            // Hessian-vector products on the curvature subset when there is one.
            let curvature = min(training, krylov.curvatureSamples.map(Double.init) ?? training)
            perEpoch = 16 * k * parameters * curvature + (candidate * Double(krylov.damping.count + 1) + 6) * parameters * training + 4 * k * k * parameters
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
        return trainingFlops + probeFlops(spec: spec, parameters: parameters, training: training, trainingFlops: trainingFlops)
    }

    /// The probes' work for one trial of a network with `parameters` parameters: Hessian-vector
    /// products (the Lanczos budget, the quadrature, the dense Hessian), the points of the lines
    /// (a between-restarts line also trains its partner again) and the listed probes' evaluations.
    private static func probeFlops(spec: ExperimentSpec, parameters: Double, training: Double, trainingFlops: Double) -> Double {
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
        for (name, settings) in probes.registered ?? [:] {
            flops += (ProbeMethods.info(named: name)?.evaluations(settings) ?? 0) * 2 * parameters * probed
        }
        return flops
    }
}

extension ExperimentSpec {
    /// The full description of trial `index`; its randomness comes from (seed, index).
    public func trialDescription(_ index: Int, point: SweepPoint, datasetSHA256: String?) -> TrialDescription {
        let lrSchedule = learningRateSchedule
        let subset: TrainingSubset = data.trainingSamples.map { data.sampling == .random ? .sample($0) : .first($0) } ?? .all
        return TrialDescription(
            seed: seed, trialIndex: UInt64(index),
            data: DataSelection(dataset: data.dataset, datasetSHA256: datasetSHA256, trainingSubset: subset,
                                validationCount: data.validationSamples, testLimit: data.testSamples),
            model: ModelSpec(hidden: point.hidden, activation: point.activation, loss: point.loss),
            initialization: Initialization(scheme: point.initScheme, scale: point.initScale),
            optimizer: OptimizerSpec(kind: point.optimizer ?? .sgd, batchSize: point.batchSize, learningRate: point.learningRate, momentum: point.momentum,
                                     nesterov: point.nesterov, weightDecay: point.weightDecay,
                                     krylov: (point.optimizer ?? .sgd).isSecondOrder ? optimizer.variant(of: point)?.krylov ?? optimizer.krylov ?? KrylovSettings() : nil,
                                     settings: optimizerSettings(for: point.optimizer ?? .sgd, point: point)),
            schedule: lrSchedule,
            stopping: StoppingRule(maxEpochs: point.epochs, gradientTolerance: stopping.gradientTolerance, earlyStoppingPatience: stopping.patience,
                                   targetLoss: stopping.targetLoss, relativeGradientTolerance: stopping.relativeGradientTolerance),
            probes: probeRequest(forTrial: index),
            warmStart: point.warmStartEpochs.flatMap { epochs in warmStart.map { WarmStart(epochs: epochs, optimizer: $0.optimizer) } },
            curve: curve)
    }

    /// The spec's optimizer settings that `kind` declares (a sweep of sgd against adam gives
    /// adam's settings to adam's points only).
    func optimizerSettings(for kind: OptimizerKind, point: SweepPoint? = nil) -> [String: Double] {
        let declared = Set(kind.info?.settings.map(\.name) ?? [])
        let own = point.flatMap { optimizer.variant(of: $0)?.settings } ?? [:]
        return (optimizer.settings ?? [:]).merging(own) { _, variant in variant }.filter { declared.contains($0.key) }
    }

    /// The probes of trial `index`: the spec's, with the partner of a between-restarts path.
    func probeRequest(forTrial index: Int) -> ProbeRequest? {
        guard let probes else { return nil }
        var paths: PathProbe?
        if let spec = probes.paths {
            let restart = index % restarts
            let partner = restart < spec.betweenRestarts ? UInt64(index + spec.betweenRestarts) : nil
            if spec.initToEnd || partner != nil { paths = PathProbe(points: spec.points, initToEnd: spec.initToEnd, partner: partner) }
        }
        return ProbeRequest(samples: probes.samples, hessian: probes.hessian, paths: paths, registered: probes.registered)
    }
}

extension NetworkKind {
    /// The metrics a network spec may ask to report (all are recorded).
    public static let metrics = ["test-loss", "train-loss", "test-error", "train-error", "validation-loss", "validation-error"]

    /// Description paths ↔ spec keys ↔ `minima train` flags.
    public static let fields = FieldNames([
        FieldName("data.trainingSubset", spec: "data.training-samples", flag: "--train-subset"),
        FieldName("data.validationCount", spec: "data.validation-samples", flag: "--validation"),
        FieldName("data.testLimit", spec: "data.test-samples", flag: "--test-limit"),
        FieldName("model.hidden", spec: "model.hidden", flag: "--hidden"),
        FieldName("initialization.scale", spec: "initialization.scale", flag: "--init-scale"),
        FieldName("optimizer.batchSize", spec: "optimizer.batch-size", flag: "--batch"),
        FieldName("optimizer.learningRate", spec: "optimizer.learning-rate", flag: "--lr"),
        FieldName("optimizer.momentum", spec: "optimizer.momentum", flag: "--momentum"),
        FieldName("optimizer.nesterov", spec: "optimizer.nesterov", flag: "--nesterov"),
        FieldName("optimizer.weightDecay", spec: "optimizer.weight-decay", flag: "--weight-decay"),
        FieldName("optimizer.krylov", spec: "optimizer.krylov", flag: "--optimizer"),
        FieldName("optimizer.krylov.dimension", spec: "optimizer.krylov.dimension", flag: "--krylov-dimension"),
        FieldName("optimizer.krylov.damping", spec: "optimizer.krylov.damping", flag: "--damping"),
        FieldName("optimizer.kind", spec: "optimizer.kind", flag: "--optimizer"),
        FieldName("optimizer.settings", spec: "optimizer", flag: "--optimizer-setting"),
        FieldName("schedule.every", spec: "schedule.every", flag: "--schedule-every"),
        FieldName("schedule.factor", spec: "schedule.factor", flag: "--schedule-factor"),
        FieldName("schedule.gamma", spec: "schedule.gamma", flag: "--schedule-factor"),
        FieldName("schedule.k", spec: "schedule.k", flag: "--schedule-factor"),
        FieldName("stopping.maxEpochs", spec: "stopping.epochs", flag: "--epochs"),
        FieldName("stopping.gradientTolerance", spec: "stopping.gradient-tolerance", flag: "--grad-tol"),
        FieldName("stopping.earlyStoppingPatience", spec: "stopping.patience", flag: "--patience"),
        FieldName("stopping.targetLoss", spec: "stopping.target-loss", flag: "--target-loss"),
        FieldName("stopping.relativeGradientTolerance", spec: "stopping.relative-gradient-tolerance", flag: "--relative-grad-tol"),
        FieldName("probes.samples", spec: "probes.samples", flag: "--probe-samples"),
        FieldName("probes.hessian.extremes", spec: "probes.hessian.extremes", flag: "--extremes"),
        FieldName("probes.hessian.maximumSteps", spec: "probes.hessian.max-steps"),
        FieldName("probes.hessian.exactBelow", spec: "probes.hessian.exact-below", flag: "--exact-below"),
        FieldName("probes.hessian.epsilon", spec: "probes.hessian.epsilon", flag: "--epsilon"),
        FieldName("probes.hessian.minimumTolerance", spec: "probes.hessian.minimum-tolerance"),
        FieldName("probes.hessian.density.probes", spec: "probes.hessian.density.probes", flag: "--density-probes"),
        FieldName("probes.hessian.density.steps", spec: "probes.hessian.density.steps", flag: "--density-steps"),
        FieldName("probes.paths.points", spec: "probes.paths.points", flag: "--path-points"),
        FieldName("probes.paths.partner", spec: "probes.paths.between-restarts", flag: "--path-partner"),
        FieldName("warmStart.epochs", spec: "warm-start.epochs", flag: "--warm-start-epochs"),
        FieldName("warmStart.optimizer.batchSize", spec: "warm-start.optimizer.batch-size", flag: "--warm-start-batch"),
        FieldName("warmStart.optimizer.learningRate", spec: "warm-start.optimizer.learning-rate", flag: "--warm-start-lr"),
        FieldName("warmStart.optimizer.weightDecay", spec: "warm-start.optimizer.weight-decay"),
        FieldName("curve.index.maximumSteps", spec: "curve.index.max-steps"),
        FieldName("curve.index.exactBelow", spec: "curve.index.exact-below"),
        FieldName("curve.index.minimumTolerance", spec: "curve.index.minimum-tolerance"),
    ])
}
