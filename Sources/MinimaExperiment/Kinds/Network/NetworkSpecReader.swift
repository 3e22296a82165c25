import MinimaCore
import MinimaData
import Yams

// Reading a network spec: every key of its top level, with file:line:column errors.
extension SpecReader {
    mutating func networkSpec(_ root: Node) throws(SpecError) -> ExperimentSpec {
        let top = try mapping(root, "", allowed: ["name", "seed", "restarts", "data", "model", "initialization", "optimizer", "schedule", "stopping", "metrics", "report", "verify", "probes", "keep-parameters", "kind",
                                              "warm-start", "curve"])
        let (name, seed, restarts) = try identity(top, root)
        let data = try dataSection(top)
        let model = try modelSection(top, root)
        let initialization = try initializationSection(top)
        let optimizer = try optimizerSection(top, root)
        let schedule = try schedule(top)
        let stopping = try stoppingSection(top, root, data: data)
        if stopping.epochs.count > 1, let variants = optimizer.variants, variants.contains(where: { $0.epochs != nil }) {
            throw error(at: "stopping.epochs", "a variant with its own epochs cannot be swept over stopping.epochs too; give one stopping.epochs")
        }
        let metrics = try metricsSection(top)
        let report = try report(top)
        let verify = try verify(top)
        let probes = try top["probes"].map { (node) throws(SpecError) in try self.probes(node, restarts: restarts, trainingSamples: data.trainingSamples.map { $0 - data.validationSamples }) }
        var spec = ExperimentSpec(name: name, seed: seed, restarts: restarts, data: data, model: model, initialization: initialization,
                                  optimizer: optimizer, schedule: schedule, stopping: stopping, metrics: metrics, report: report, verify: verify,
                                  probes: probes, keepParameters: try keepParametersSection(top, restarts: restarts))
        spec.warmStart = try top["warm-start"].map { (node) throws(SpecError) in try warmStart(node) }
        spec.curve = try curveSection(top)
        // Counted before it is built: a sweep of 10⁹ points is refused, not allocated.
        if let refusal = SpecParser.tooLargeSweep(NetworkKind.dimensions(of: spec)) { throw error(at: refusal.field, refusal.problem) }
        let points = spec.sweepPoints.count
        let (trials, overflow) = points.multipliedReportingOverflow(by: restarts)
        guard !overflow, trials <= SpecParser.maximumTrials else {
            throw error(at: "restarts", "\(points) sweep points × \(restarts) restarts is more than \(SpecParser.maximumTrials) trials")
        }
        // Whatever the sweep combines must be a runnable trial.
        for point in spec.sweepPoints {
            do throws(TrialDescriptionError) { try spec.trialDescription(0, point: point, datasetSHA256: nil).validate() } catch {
                throw self.error(at: NetworkKind.fields.specPath(of: error.field), error.problem)
            }
        }
        return spec
    }

    /// `data: {dataset, training-samples, sampling, validation-samples, test-samples}`.
    mutating func dataSection(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.Data {
        let dataNode = try top["data"].map { (node) throws(SpecError) in
            try mapping(node, "data", allowed: ["dataset", "training-samples", "sampling", "validation-samples", "test-samples"])
        } ?? [:]
        let dataset = try dataNode["dataset"].map { (node) throws(SpecError) in try scalar(node, "data.dataset", expected: DatasetSource.expected) } ?? "mnist10"
        // The name must be one a data source reads (loading it is the plan's: the spec may be
        // checked where the data is not).
        do throws(DataError) { _ = try DatasetSource(parsing: dataset) } catch {
            throw self.error(dataNode["dataset"], "data.dataset", "expected \(DatasetSource.expected), got '\(dataset)'")
        }
        func countOrAll(_ key: String) throws(SpecError) -> Int? {
            guard let node = dataNode[key] else { return nil }
            if case .scalar(let scalar) = node, scalar.string == "all" { return nil }
            return try integer(node, "data.\(key)", minimum: 1)
        }
        let sampling = try dataNode["sampling"].map { (node) throws(SpecError) -> Sampling in
            let text = try scalar(node, "data.sampling", expected: "first or random")
            guard let sampling = Sampling(rawValue: text) else { throw error(node, "data.sampling", "expected first or random, got '\(text)'") }
            return sampling
        } ?? .first
        let data = ExperimentSpec.Data(
            dataset: dataset, trainingSamples: try countOrAll("training-samples"), sampling: sampling,
            validationSamples: try dataNode["validation-samples"].map { (node) throws(SpecError) in try integer(node, "data.validation-samples", minimum: 0) } ?? 0,
            testSamples: try countOrAll("test-samples"))
        if let trainingSamples = data.trainingSamples, data.validationSamples >= trainingSamples {
            throw error(dataNode["validation-samples"], "data.validation-samples", "holds out \(data.validationSamples) of \(trainingSamples) training samples, leaving none to train on")
        }
        return data
    }

    /// `model: {width, hidden-layers | layers, activation, loss}`.
    mutating func modelSection(_ top: [String: Node], _ root: Node) throws(SpecError) -> ExperimentSpec.Model {
        guard let modelRoot = top["model"] else { throw error(root, "model", "required: at least model.width") }
        let modelNode = try mapping(modelRoot, "model", allowed: ["width", "hidden-layers", "layers", "activation", "loss"])
        var architectures: [[Int]] = []
        if let layers = modelNode["layers"] {
            if modelNode["width"] != nil || modelNode["hidden-layers"] != nil {
                throw error(layers, "model.layers", "give either layers (explicit architectures) or width and hidden-layers, not both")
            }
            // [100, 50] is one architecture; [[100, 50], [200]] sweeps architectures.
            guard case .sequence(let sequence) = layers, !sequence.isEmpty else {
                throw error(layers, "model.layers", "expected a list of widths ([100, 50]) or a list of such lists ([[100], [200, 100]])")
            }
            let nested = sequence.contains { if case .sequence = $0 { return true } else { return false } }
            let lists = nested ? Array(sequence) : [layers]
            for (index, item) in lists.enumerated() {
                let path = nested ? "model.layers[\(index)]" : "model.layers"
                guard case .sequence(let widths) = item else { throw error(item, path, "expected a list of widths, got \(describe(item))") }
                var architecture: [Int] = []
                for (k, width) in widths.enumerated() { architecture.append(try integer(width, "\(path)[\(k)]", minimum: 1)) }
                architectures.append(architecture)
            }
        } else {
            let widths = try sweep(modelNode["width"], "model.width", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) }
            let depths = try sweep(modelNode["hidden-layers"], "model.hidden-layers", default: 1) { (node, field) throws(SpecError) in try integer(node, field, minimum: 0) }
            for depth in depths { for width in widths { architectures.append([Int](repeating: width, count: depth)) } }
        }
        return ExperimentSpec.Model(
            architectures: architectures,
            activation: try sweep(modelNode["activation"], "model.activation", default: .relu) { (node, field) throws(SpecError) in try choice(node, field, Activation.self) },
            loss: try sweep(modelNode["loss"], "model.loss", default: .softmaxCrossEntropy) { (node, field) throws(SpecError) in try choice(node, field, LossFunction.self) })
    }

    /// `initialization: {scheme, scale}`.
    mutating func initializationSection(_ top: [String: Node]) throws(SpecError) -> ExperimentSpec.InitializationSpec {
        let initNode = try top["initialization"].map { (node) throws(SpecError) in try mapping(node, "initialization", allowed: ["scheme", "scale"]) } ?? [:]
        return ExperimentSpec.InitializationSpec(
            scheme: try sweep(initNode["scheme"], "initialization.scheme", default: .fanInUniform) { (node, field) throws(SpecError) in try choice(node, field, InitScheme.self) },
            scale: try sweep(initNode["scale"], "initialization.scale", default: 1) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) })
    }

    /// `optimizer: {kind, batch-size, learning-rate, momentum, nesterov, weight-decay, krylov}`, each
    /// swept, and the optimizers' own settings (e.g. `beta1` of `adam`), one value each.
    mutating func optimizerSection(_ top: [String: Node], _ root: Node) throws(SpecError) -> ExperimentSpec.Optimizer {
        guard let optimizerRoot = top["optimizer"] else { throw error(root, "optimizer", "required: at least optimizer.learning-rate") }
        let optimizerNode = try mapping(optimizerRoot, "optimizer", allowed: ["kind", "batch-size", "learning-rate", "momentum", "nesterov", "weight-decay", "krylov", "variants"] + Self.optimizerSettingNames)
        if let variantsNode = optimizerNode["variants"] { return try optimizerVariants(variantsNode, optimizerNode) }
        let kinds = try sweep(optimizerNode["kind"], "optimizer.kind", default: .sgd) { (node, field) throws(SpecError) in try choice(node, field, OptimizerKind.self) }
        var optimizer = try firstOrderSettings(optimizerNode, "optimizer", learningRateDefault: kinds.allSatisfy { !$0.takesLearningRate } ? 1 : nil)
        if kinds != [.sgd] { optimizer.kind = kinds }
        optimizer.settings = try optimizerSettings(optimizerNode, "optimizer", kinds: kinds)
        if let krylovNode = optimizerNode["krylov"] {
            guard kinds.contains(where: \.isSecondOrder) else {
                throw error(krylovNode, "optimizer.krylov", "only newton and saddle-free-newton take Krylov settings; optimizer.kind is \(kinds.map(\.rawValue).joined(separator: ", "))")
            }
            optimizer.krylov = try krylov(krylovNode)
        }
        let withoutMomentum = kinds.filter { $0.info?.traits.contains(.momentum) == false }.map(\.rawValue)
        if !withoutMomentum.isEmpty && optimizer.momentum.contains(where: { $0 != 0 }) {
            throw error(optimizerNode["momentum"], "optimizer.momentum", "\(withoutMomentum.joined(separator: " and ")) take\(withoutMomentum.count == 1 ? "s" : "") no momentum")
        }
        if optimizer.nesterov.contains(true) && optimizer.momentum.contains(0) {
            throw error(at: "optimizer.nesterov", "Nesterov momentum needs optimizer.momentum > 0 (the sweep pairs nesterov: true with momentum 0)")
        }
        return optimizer
    }

    /// `optimizer: {variants: [{name, kind, learning-rate: [..], momentum, nesterov, krylov, <its
    /// settings>}, …], batch-size, weight-decay}`: optimizers compared side by side, each with its
    /// own learning-rate grid (the kind, learning-rate, momentum, nesterov and krylov keys move
    /// into the variants; batch size and weight decay stay shared and swept).
    mutating func optimizerVariants(_ node: Node, _ optimizerNode: [String: Node]) throws(SpecError) -> ExperimentSpec.Optimizer {
        for key in ["kind", "learning-rate", "momentum", "nesterov", "krylov"] + Self.optimizerSettingNames where optimizerNode[key] != nil {
            throw error(optimizerNode[key], "optimizer.\(key)", "with optimizer.variants, each variant gives its own \(key); move it into the variants")
        }
        guard case .sequence(let items) = node, !items.isEmpty else {
            throw error(node, "optimizer.variants", "expected a list of optimizers, e.g. [{kind: sgd, learning-rate: [0.01, 0.1]}, {kind: adam, learning-rate: [0.001]}]")
        }
        guard items.count <= 64 else { throw error(node, "optimizer.variants", "at most 64 variants, got \(items.count)") }
        var optimizer = try firstOrderSettings(optimizerNode, "optimizer", learningRateDefault: 1)
        var variants: [ExperimentSpec.Optimizer.Variant] = []
        for (i, item) in items.enumerated() {
            let path = "optimizer.variants[\(i)]"
            let v = try mapping(item, path, allowed: ["name", "kind", "learning-rate", "momentum", "nesterov", "krylov", "epochs"] + Self.optimizerSettingNames)
            guard let kindNode = v["kind"] else { throw error(item, "\(path).kind", "required: the variant's optimizer, e.g. sgd or adam") }
            let kind = try choice(kindNode, "\(path).kind", OptimizerKind.self)
            let name = try v["name"].map { (n) throws(SpecError) in try scalar(n, "\(path).name", expected: "a short name for tables") } ?? kind.rawValue
            guard !name.isEmpty, name.count <= 60 else { throw error(v["name"], "\(path).name", "must be 1 to 60 characters") }
            if variants.contains(where: { $0.name == name }) {
                throw error(v["name"] ?? item, "\(path).name", "'\(name)' names another variant too; give each variant its own name:")
            }
            if !kind.takesLearningRate, let lr = v["learning-rate"] { throw error(lr, "\(path).learning-rate", "\(kind.rawValue) takes no learning rate") }
            let rates = try sweep(v["learning-rate"], "\(path).learning-rate", default: kind.takesLearningRate ? nil : 1) { (n, field) throws(SpecError) in try number(n, field, minimum: 0, exclusive: true) }
            let momentum = try v["momentum"].map { (n) throws(SpecError) in try number(n, "\(path).momentum", minimum: 0, maximumExclusive: 1) } ?? 0
            if momentum != 0 && !(kind.info?.traits.contains(.momentum) ?? false) { throw error(v["momentum"], "\(path).momentum", "\(kind.rawValue) takes no momentum") }
            let nesterov = try v["nesterov"].map { (n) throws(SpecError) in try boolean(n, "\(path).nesterov") } ?? false
            if nesterov && momentum == 0 { throw error(v["nesterov"], "\(path).nesterov", "Nesterov momentum needs \(path).momentum > 0") }
            var krylov: KrylovSettings?
            if let krylovNode = v["krylov"] {
                guard kind.isSecondOrder else { throw error(krylovNode, "\(path).krylov", "only newton and saddle-free-newton take Krylov settings; this variant is \(kind.rawValue)") }
                krylov = try self.krylov(krylovNode)
            }
            let settings = try optimizerSettings(v, path, kinds: [kind])
            var variant = ExperimentSpec.Optimizer.Variant(name: name, kind: kind, learningRate: rates, momentum: momentum, nesterov: nesterov, krylov: krylov, settings: settings)
            variant.epochs = try v["epochs"].map { (n) throws(SpecError) in
                let epochs = try integer(n, "\(path).epochs", minimum: 1)
                guard epochs <= 1_000_000 else { throw error(n, "\(path).epochs", "must be at most 1000000, got \(epochs)") }
                return epochs
            }
            variants.append(variant)
        }
        optimizer.variants = variants
        return optimizer
    }

    /// `stopping: {epochs, gradient-tolerance, patience, target-loss, relative-gradient-tolerance}`.
    mutating func stoppingSection(_ top: [String: Node], _ root: Node, data: ExperimentSpec.Data) throws(SpecError) -> ExperimentSpec.Stopping {
        guard let stoppingRoot = top["stopping"] else { throw error(root, "stopping", "required: at least stopping.epochs") }
        let stoppingNode = try mapping(stoppingRoot, "stopping", allowed: ["epochs", "gradient-tolerance", "patience", "target-loss", "relative-gradient-tolerance"])
        var stopping = ExperimentSpec.Stopping(
            epochs: try sweep(stoppingNode["epochs"], "stopping.epochs", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            gradientTolerance: try stoppingNode["gradient-tolerance"].map { (node) throws(SpecError) in try number(node, "stopping.gradient-tolerance", minimum: 0, exclusive: true) },
            patience: try stoppingNode["patience"].map { (node) throws(SpecError) in try integer(node, "stopping.patience", minimum: 1) })
        stopping.targetLoss = try stoppingNode["target-loss"].map { (node) throws(SpecError) in try number(node, "stopping.target-loss", minimum: 0) }
        stopping.relativeGradientTolerance = try stoppingNode["relative-gradient-tolerance"].map { (node) throws(SpecError) in
            try number(node, "stopping.relative-gradient-tolerance", minimum: 0, exclusive: true, maximumExclusive: 1)
        }
        if stopping.patience != nil && data.validationSamples == 0 {
            throw error(stoppingNode["patience"], "stopping.patience", "early stopping needs data.validation-samples > 0")
        }
        return stopping
    }

    /// `metrics: [test-loss, …]`: the metrics the report summarizes.
    mutating func metricsSection(_ top: [String: Node]) throws(SpecError) -> [String] {
        var metrics = ["test-loss", "train-loss", "test-error", "train-error"]
        if let metricsNode = top["metrics"] {
            guard case .sequence(let sequence) = metricsNode else { throw error(metricsNode, "metrics", "expected a list of \(NetworkKind.metrics.joined(separator: ", "))") }
            metrics = []
            for (index, item) in sequence.enumerated() {
                let name = try scalar(item, "metrics[\(index)]", expected: "a metric name")
                guard NetworkKind.metrics.contains(name) else {
                    throw error(item, "metrics[\(index)]", "unknown metric '\(name)'; expected one of \(NetworkKind.metrics.joined(separator: ", "))")
                }
                metrics.append(name)
            }
        }
        return metrics
    }

    /// `keep-parameters: {restarts: N}`.
    mutating func keepParametersSection(_ top: [String: Node], restarts: Int) throws(SpecError) -> ExperimentSpec.KeepParameters? {
        var keepParameters: ExperimentSpec.KeepParameters?
        if let keepRoot = top["keep-parameters"] {
            let keep = try mapping(keepRoot, "keep-parameters", allowed: ["restarts"])
            guard let restartsNode = keep["restarts"] else { throw error(keepRoot, "keep-parameters.restarts", "missing; e.g. keep-parameters: {restarts: 2} keeps restarts 0 and 1 of every sweep point") }
            let count = try integer(restartsNode, "keep-parameters.restarts", minimum: 1)
            guard count <= restarts else { throw error(restartsNode, "keep-parameters.restarts", "keeps \(count) restarts per sweep point but the spec has \(restarts)") }
            keepParameters = ExperimentSpec.KeepParameters(restarts: count)
        }
        return keepParameters
    }

    /// `curve: {gradient-norm, index}`.
    mutating func curveSection(_ top: [String: Node]) throws(SpecError) -> CurveRequest? {
        if let curveRoot = top["curve"] {
            let curve = try mapping(curveRoot, "curve", allowed: ["gradient-norm", "index"])
            return CurveRequest(
                gradientNorm: try curve["gradient-norm"].map { (n) throws(SpecError) in try boolean(n, "curve.gradient-norm") } ?? false,
                index: try curve["index"].map { (n) throws(SpecError) in try hessianProbe(n, "curve.index") })
        }
        return nil
    }

    /// minimum-tolerance}, paths: {points, init-to-end, between-restarts}}`.
    mutating func probes(_ node: Node, restarts: Int, trainingSamples: Int?) throws(SpecError) -> ExperimentSpec.Probes {
        let listed = ProbeMethods.infos
        let members = try mapping(node, "probes", allowed: ["samples", "hessian", "paths"] + listed.map(\.name))
        var probes = ExperimentSpec.Probes()
        if let samples = members["samples"] {
            let count = try integer(samples, "probes.samples", minimum: 1)
            if let trainingSamples, count > trainingSamples {
                throw error(samples, "probes.samples", "probes \(count) samples but each trial trains on \(trainingSamples)")
            }
            probes.samples = count
        }
        if let hessianNode = members["hessian"] { probes.hessian = try hessianProbe(hessianNode, "probes.hessian") }
        if let pathsNode = members["paths"] {
            let paths = try mapping(pathsNode, "probes.paths", allowed: ["points", "init-to-end", "between-restarts"])
            let between = try paths["between-restarts"].map { (n) throws(SpecError) in try integer(n, "probes.paths.between-restarts", minimum: 0) } ?? 0
            if 2 * between > restarts {
                throw error(paths["between-restarts"], "probes.paths.between-restarts", "pairs restarts r and r + \(between), so needs at least \(2 * between) restarts; the spec has \(restarts)")
            }
            probes.paths = ExperimentSpec.Probes.Paths(
                points: try paths["points"].map { (n) throws(SpecError) in try integer(n, "probes.paths.points", minimum: 2) } ?? 41,
                initToEnd: try paths["init-to-end"].map { (n) throws(SpecError) in try boolean(n, "probes.paths.init-to-end") } ?? true,
                betweenRestarts: between)
        }
        var registered: [String: ProbeSettings] = [:]
        for info in listed {
            if let probeNode = members[info.name] { registered[info.name] = try listedProbe(probeNode, info: info) }
        }
        probes.registered = registered.isEmpty ? nil : registered
        return probes
    }

    /// A listed probe's section: `true` (its defaults) or a mapping of its declared settings.
    mutating func listedProbe(_ node: Node, info: ProbeInfo) throws(SpecError) -> ProbeSettings {
        let path = "probes.\(info.name)"
        if case .scalar = node {
            guard try boolean(node, path) else { throw error(node, path, "is a mapping of its settings or true; to leave it out, remove it") }
            return ProbeSettings.complete([:], for: info)
        }
        let members = try mapping(node, path, allowed: info.settings.map(\.name))
        var given: [String: Double] = [:]
        for setting in info.settings {
            guard let valueNode = members[setting.name] else { continue }
            let field = "\(path).\(setting.name)"
            let value = try number(valueNode, field, minimum: setting.lowerBound, exclusive: setting.lowerExclusive,
                                   maximumExclusive: setting.upperBound.isFinite ? setting.upperBound : nil)
            if setting.isInteger && value != value.rounded() { throw error(valueNode, field, "must be a whole number, got \(value)") }
            given[setting.name] = value
        }
        return ProbeSettings.complete(given, for: info)
    }

    /// A Hessian probe at `path`: `{extremes, max-steps, tolerance, density: {probes, steps},
    /// exact-below, epsilon, minimum-tolerance}` (`probes.hessian`, `curve.index`).
    mutating func hessianProbe(_ node: Node, _ path: String) throws(SpecError) -> HessianProbe {
        let hessian = try mapping(node, path, allowed: ["extremes", "max-steps", "tolerance", "density", "exact-below", "epsilon", "minimum-tolerance"])
        var probe = HessianProbe()
        if let n = hessian["extremes"] { probe.extremes = try integer(n, "\(path).extremes", minimum: 1) }
        if let n = hessian["max-steps"] { probe.maximumSteps = try integer(n, "\(path).max-steps", minimum: 2) }
        if let n = hessian["tolerance"] { probe.tolerance = try number(n, "\(path).tolerance", minimum: 0, exclusive: true, maximumExclusive: 1) }
        if let n = hessian["exact-below"] { probe.exactBelow = try integer(n, "\(path).exact-below", minimum: 0) }
        if let n = hessian["epsilon"] { probe.epsilon = try number(n, "\(path).epsilon", minimum: 0, maximumExclusive: 1) }
        if let n = hessian["minimum-tolerance"] { probe.minimumTolerance = try number(n, "\(path).minimum-tolerance", minimum: 0, maximumExclusive: 1) }
        if let densityNode = hessian["density"] {
            let density = try mapping(densityNode, "\(path).density", allowed: ["probes", "steps"])
            probe.density = DensityProbe(
                probes: try density["probes"].map { (n) throws(SpecError) in try integer(n, "\(path).density.probes", minimum: 1) } ?? 8,
                steps: try density["steps"].map { (n) throws(SpecError) in try integer(n, "\(path).density.steps", minimum: 2) } ?? 80)
        }
        return probe
    }

    /// `optimizer.krylov: {dimension, damping: [δ…], curvature-samples, resample-curvature}` (the
    /// damping list is the grid of one step, not a sweep).
    mutating func krylov(_ node: Node) throws(SpecError) -> KrylovSettings {
        let members = try mapping(node, "optimizer.krylov", allowed: ["dimension", "damping", "curvature-samples", "resample-curvature"])
        var settings = KrylovSettings()
        if let n = members["dimension"] { settings.dimension = try integer(n, "optimizer.krylov.dimension", minimum: 1) }
        if let n = members["damping"] {
            guard case .sequence(let values) = n, !values.isEmpty else {
                throw error(n, "optimizer.krylov.damping", "expected a list of damping values ≥ 0 tried each step, e.g. [0, 0.001, 0.01, 0.1, 1]")
            }
            settings.damping = []
            for (i, value) in values.enumerated() { settings.damping.append(try number(value, "optimizer.krylov.damping[\(i)]", minimum: 0)) }
        }
        if let n = members["curvature-samples"] {
            let count = try integer(n, "optimizer.krylov.curvature-samples", minimum: 1)
            guard count <= 100_000_000 else { throw error(n, "optimizer.krylov.curvature-samples", "must be at most 100000000, got \(count)") }
            settings.curvatureSamples = count
        }
        if let n = members["resample-curvature"] { settings.resampleCurvature = try boolean(n, "optimizer.krylov.resample-curvature") }
        if settings.dimension > 10_000 { throw error(members["dimension"], "optimizer.krylov.dimension", "must be at most 10000, got \(settings.dimension)") }
        if settings.damping.count > 64 { throw error(members["damping"], "optimizer.krylov.damping", "at most 64 values, got \(settings.damping.count)") }
        return settings
    }

    /// `warm-start: {epochs: e or [e…], optimizer: {kind: sgd|gd, batch-size, learning-rate, momentum, weight-decay}}`.
    mutating func warmStart(_ node: Node) throws(SpecError) -> ExperimentSpec.WarmStartSpec {
        let members = try mapping(node, "warm-start", allowed: ["epochs", "optimizer"])
        let epochs = try sweep(members["epochs"], "warm-start.epochs", default: nil) { (n, field) throws(SpecError) in try integer(n, field, minimum: 0) }
        guard let optimizerNode = members["optimizer"] else {
            throw error(node, "warm-start.optimizer", "required: the optimizer of the warm start, e.g. {batch-size: 10, learning-rate: 0.05}")
        }
        let o = try mapping(optimizerNode, "warm-start.optimizer", allowed: ["kind", "batch-size", "learning-rate", "momentum", "nesterov", "weight-decay"] + Self.optimizerSettingNames)
        let kind = try o["kind"].map { (n) throws(SpecError) in try choice(n, "warm-start.optimizer.kind", OptimizerKind.self) } ?? .sgd
        if !kind.canWarmStart { throw error(o["kind"], "warm-start.optimizer.kind", "a warm start is \(OptimizerKind.warmStartKinds), not \(kind.rawValue)") }
        let ownSettings = try optimizerSettings(o, "warm-start.optimizer", kinds: [kind]) ?? [:]
        guard o["learning-rate"] != nil else { throw error(optimizerNode, "warm-start.optimizer.learning-rate", "required") }
        let settings = try firstOrderSettings(o, "warm-start.optimizer", learningRateDefault: nil)
        for (key, count) in [("batch-size", settings.batchSize.count), ("learning-rate", settings.learningRate.count), ("momentum", settings.momentum.count),
                             ("nesterov", settings.nesterov.count), ("weight-decay", settings.weightDecay.count)] where count > 1 {
            throw error(o[key], "warm-start.optimizer.\(key)", "a warm start takes one value, not a sweep (sweep warm-start.epochs instead)")
        }
        let optimizer = OptimizerSpec(kind: kind, batchSize: settings.batchSize[0], learningRate: settings.learningRate[0], momentum: settings.momentum[0],
                                      nesterov: settings.nesterov[0], weightDecay: settings.weightDecay[0], settings: ownSettings)
        if optimizer.nesterov && optimizer.momentum == 0 {
            throw error(o["nesterov"], "warm-start.optimizer.nesterov", "Nesterov momentum needs warm-start.optimizer.momentum > 0")
        }
        return ExperimentSpec.WarmStartSpec(epochs: epochs, optimizer: optimizer)
    }

    /// Every optimizer's own settings' names (`beta1`, …), as spec keys.
    static var optimizerSettingNames: [String] {
        var names: [String] = []
        for kind in OptimizerKind.allCases { for setting in kind.info?.settings ?? [] where !names.contains(setting.name) { names.append(setting.name) } }
        return names
    }

    /// The optimizers' own settings in the mapping at `path`: each must be declared by one of
    /// `kinds` and lie in its declared range (nil when there are none).
    func optimizerSettings(_ node: [String: Node], _ path: String, kinds: [OptimizerKind]) throws(SpecError) -> [String: Double]? {
        var values: [String: Double] = [:]
        for name in Self.optimizerSettingNames {
            guard let valueNode = node[name] else { continue }
            let field = "\(path).\(name)"
            guard let setting = kinds.lazy.compactMap({ $0.info?.settings.first { $0.name == name } }).first else {
                let owners = OptimizerKind.allCases.filter { $0.info?.settings.contains { $0.name == name } == true }.map(\.rawValue)
                throw error(valueNode, field, "only \(owners.joined(separator: " and ")) take\(owners.count == 1 ? "s" : "") \(name); \(path).kind is \(kinds.map(\.rawValue).joined(separator: ", "))")
            }
            values[name] = try number(valueNode, field, minimum: setting.lowerBound, exclusive: setting.lowerExclusive,
                                      maximumExclusive: setting.upperBound.isFinite ? setting.upperBound : nil)
        }
        return values.isEmpty ? nil : values
    }

    /// The first-order settings of an optimizer mapping at `path` (`optimizer`, `warm-start.optimizer`),
    /// each key read one way for both: a value or a list of values to sweep.
    mutating func firstOrderSettings(_ node: [String: Node], _ path: String, learningRateDefault: Double?) throws(SpecError) -> ExperimentSpec.Optimizer {
        ExperimentSpec.Optimizer(
            batchSize: try sweep(node["batch-size"], "\(path).batch-size", default: 10) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            learningRate: try sweep(node["learning-rate"], "\(path).learning-rate", default: learningRateDefault) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) },
            momentum: try sweep(node["momentum"], "\(path).momentum", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, maximumExclusive: 1) },
            nesterov: try sweep(node["nesterov"], "\(path).nesterov", default: false) { (node, field) throws(SpecError) in try boolean(node, field) },
            weightDecay: try sweep(node["weight-decay"], "\(path).weight-decay", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0) })
    }
}
