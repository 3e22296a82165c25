import MinimaCore
import MinimaProtocol
import Yams

/// The spherical H-spin glass of Choromanska et al. 2015, Fig. 2 (left): random couplings,
/// (noisy) projected descent on the sphere ‖w‖² = Λ from random starts. Its settings are the
/// spec's `spin-glass` section with `optimizer: {learning-rate, noise}` and
/// `stopping: {steps, gradient-tolerance}`; a trial is a ``SpinGlassDescription`` (task kind
/// `spin-glass`). It needs no dataset: the couplings come from the seed.
public enum SpinGlassKind: ExperimentKind {
    public static let name = "spin-glass"
    public static var taskTypes: [any TaskPayload.Type] { [SpinGlassDescription.self] }

    public static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec {
        try reader.spinGlassSpec(root)
    }

    /// The length of each dimension of the sweep, in ``sweepPoints(of:)``'s order.
    static func dimensions(of spec: ExperimentSpec) -> [(field: String, count: Int)] {
        guard let glass = spec.spinGlass else { return [] }
        return [("spin-glass.order", glass.order.count), ("spin-glass.spins", glass.spins.count), ("optimizer.learning-rate", spec.optimizer.learningRate.count),
                ("optimizer.noise", glass.noise.count), ("stopping.steps", spec.stopping.epochs.count)]
    }

    /// H, Λ, learning rate, noise, steps — the first outermost.
    public static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint] {
        guard let glass = spec.spinGlass else { return [] }
        var points: [SweepPoint] = []
        for order in glass.order {
            for spins in glass.spins {
                for rate in spec.optimizer.learningRate {
                    for noise in glass.noise {
                        for steps in spec.stopping.epochs {
                            points.append(SweepPoint(
                                index: points.count, hidden: [], activation: .linear, loss: .meanSquaredError, initScheme: .gaussian, initScale: 1,
                                batchSize: 1, learningRate: rate, momentum: 0, nesterov: false, weightDecay: 0, epochs: steps,
                                order: order, spins: spins, noise: noise))
                        }
                    }
                }
            }
        }
        return points
    }

    public static func varyingDimensions(of spec: ExperimentSpec) -> Set<String> {
        var varying = Set<String>()
        guard let glass = spec.spinGlass else { return varying }
        if glass.order.count > 1 { varying.insert("order") }
        if glass.spins.count > 1 { varying.insert("spins") }
        if glass.noise.count > 1 { varying.insert("noise") }
        if spec.optimizer.learningRate.count > 1 { varying.insert("lr") }
        if spec.stopping.epochs.count > 1 { varying.insert("epochs") }
        return varying
    }

    public static func label(of point: SweepPoint, varying: Set<String>) -> String {
        var parts: [String] = []
        if varying.contains("order") { parts.append("H = \(point.order ?? 0)") }
        if varying.contains("spins") || varying.isEmpty { parts.append("Λ = \(point.spins ?? 0)") }
        if varying.contains("noise") { parts.append("σ = \(point.noise ?? 0)") }
        if varying.contains("lr") { parts.append("lr \(point.learningRate)") }
        if varying.contains("epochs") { parts.append("\(point.epochs) steps") }
        return parts.joined(separator: ", ")
    }

    /// The number of spins Λ.
    public static func size(of point: SweepPoint, stored: StoredSpec) -> Int { point.spins ?? 0 }

    public static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription {
        let glass = spec.spinGlass!, order = point.order ?? 3, spins = point.spins ?? 0
        return .spinGlass(SpinGlassDescription(
            seed: spec.seed, trialIndex: UInt64(index), order: order, spins: spins,
            realization: glass.couplings == .shared ? UInt64(point.index) : UInt64(index),
            optimizer: SphereDescent(learningRate: point.learningRate, noise: point.noise ?? 0), schedule: spec.learningRateSchedule,
            stopping: StoppingRule(maxEpochs: point.epochs, gradientTolerance: spec.stopping.gradientTolerance), computeIndex: glass.index))
    }

    public static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String]) {
        (StoredSpec(spec: spec, datasetSHA256: "", inputs: 0, classes: 0), [:])
    }

    public static func describe(_ point: SweepPoint, stored: StoredSpec) -> String {
        let order = point.order ?? 3, spins = point.spins ?? 0
        return "H = \(order), Λ = \(spins), \(SpinGlassCouplings.count(order: order, spins: spins)) couplings, \(point.epochs) steps"
    }

    /// 4 FLOP per stored coupling per step; drawing them costs about as much as 50 steps.
    public static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double {
        let couplings = Double(SpinGlassCouplings.count(order: point.order ?? 3, spins: point.spins ?? 0))
        return 4 * couplings * Double(point.epochs + 50)
    }
}

extension ExperimentSpec {
    /// `spin-glass:` — the spherical H-spin glass of Choromanska et al.'s Fig. 2 (left).
    public struct SpinGlassSettings: Codable, Hashable, Sendable {
        /// H, swept.
        public var order: [Int]
        /// Λ, swept.
        public var spins: [Int]
        public var couplings: CouplingRealization
        /// σ of noisy descent, swept (0: projected gradient descent).
        public var noise: [Double]
        /// Compute the index of every end point (dense Riemannian Hessian).
        public var index: Bool
    }
}

/// Which couplings the restarts of a spin-glass sweep point descend: a fresh realization per
/// trial, or one realization shared by all restarts of the point.
public enum CouplingRealization: String, Codable, Hashable, Sendable, CaseIterable {
    case perTrial = "per-trial"
    case shared
}

// Reading a spin-glass spec.
extension SpecReader {
    mutating func spinGlassSpec(_ root: Node) throws(SpecError) -> ExperimentSpec {
        let top = try mapping(root, "", allowed: ["name", "kind", "seed", "restarts", "spin-glass", "optimizer", "schedule", "stopping", "report", "verify"])
        let (name, seed, restarts) = try identity(top, root)

        guard let glassRoot = top["spin-glass"] else { throw error(root, "spin-glass", "required: at least spin-glass.spins") }
        let glassNode = try mapping(glassRoot, "spin-glass", allowed: ["order", "spins", "couplings", "index"])
        let couplings = try glassNode["couplings"].map { (node) throws(SpecError) in try choice(node, "spin-glass.couplings", CouplingRealization.self) } ?? .perTrial
        let index = try glassNode["index"].map { (node) throws(SpecError) in try boolean(node, "spin-glass.index") } ?? false

        guard let optimizerRoot = top["optimizer"] else { throw error(root, "optimizer", "required: at least optimizer.learning-rate") }
        let optimizerNode = try mapping(optimizerRoot, "optimizer", allowed: ["learning-rate", "noise"])
        let rates = try sweep(optimizerNode["learning-rate"], "optimizer.learning-rate", default: nil) { (node, field) throws(SpecError) in try number(node, field, minimum: 0, exclusive: true) }
        let settings = ExperimentSpec.SpinGlassSettings(
            order: try sweep(glassNode["order"], "spin-glass.order", default: 3) { (node, field) throws(SpecError) in try integer(node, field, minimum: 2) },
            spins: try sweep(glassNode["spins"], "spin-glass.spins", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 2) },
            couplings: couplings,
            noise: try sweep(optimizerNode["noise"], "optimizer.noise", default: 0) { (node, field) throws(SpecError) in try number(node, field, minimum: 0) },
            index: index)

        let schedule = try schedule(top)

        guard let stoppingRoot = top["stopping"] else { throw error(root, "stopping", "required: at least stopping.steps") }
        let stoppingNode = try mapping(stoppingRoot, "stopping", allowed: ["steps", "gradient-tolerance"])
        let stopping = ExperimentSpec.Stopping(
            epochs: try sweep(stoppingNode["steps"], "stopping.steps", default: nil) { (node, field) throws(SpecError) in try integer(node, field, minimum: 1) },
            gradientTolerance: try stoppingNode["gradient-tolerance"].map { (node) throws(SpecError) in try number(node, "stopping.gradient-tolerance", minimum: 0, exclusive: true) },
            patience: nil)
        let report = try report(top)
        let verify = try verify(top)
        let spec = ExperimentSpec(
            name: name, seed: seed, restarts: restarts,
            data: ExperimentSpec.Data(dataset: "none", trainingSamples: nil, sampling: .first, validationSamples: 0, testSamples: nil),
            model: ExperimentSpec.Model(architectures: [], activation: [], loss: []),
            initialization: ExperimentSpec.InitializationSpec(scheme: [], scale: []),
            optimizer: ExperimentSpec.Optimizer(batchSize: [], learningRate: rates, momentum: [], nesterov: [], weightDecay: []),
            schedule: schedule, stopping: stopping,
            metrics: ["energy", "gradient-norm"] + (index ? ["index"] : []), report: report, verify: verify, spinGlass: settings)
        if let refusal = SpecParser.tooLargeSweep(SpinGlassKind.dimensions(of: spec)) { throw error(at: refusal.field, refusal.problem) }
        let points = spec.sweepPoints
        let (trials, overflow) = points.count.multipliedReportingOverflow(by: restarts)
        guard !overflow, trials <= SpecParser.maximumTrials else {
            throw error(at: "restarts", "\(points.count) sweep points × \(restarts) restarts is more than \(SpecParser.maximumTrials) trials")
        }
        for point in points {
            guard let description = SpinGlassKind.task(0, point: point, spec: spec, datasetSHA256: nil).as(SpinGlassDescription.self) else { continue }
            do throws(TrialDescriptionError) { try description.validate() } catch {
                let field = SpinGlassKind.fields.specPath(of: error.field)
                throw self.error(at: field, "\(error.problem)" + (point.spins.map { " (at Λ = \($0))" } ?? ""))
            }
        }
        return spec
    }

    /// `probes: {samples, hessian: {extremes, max-steps, tolerance, density: {probes, steps}, exact-below, epsilon,
}

extension SpinGlassKind {
    /// Description paths ↔ spec keys ↔ `minima spin-glass` flags.
    public static let fields = FieldNames([
        FieldName("order", spec: "spin-glass.order", flag: "--order"),
        FieldName("spins", spec: "spin-glass.spins", flag: "--spins"),
        FieldName("computeIndex", spec: "spin-glass.index", flag: "--index"),
        FieldName("optimizer.learningRate", spec: "optimizer.learning-rate", flag: "--lr"),
        FieldName("optimizer.noise", spec: "optimizer.noise", flag: "--noise"),
        FieldName("stopping.maxEpochs", spec: "stopping.steps", flag: "--steps"),
        FieldName("stopping.gradientTolerance", spec: "stopping.gradient-tolerance", flag: "--grad-tol"),
        FieldName("schedule.every", spec: "schedule.every", flag: "--schedule-every"),
        FieldName("schedule.factor", spec: "schedule.factor", flag: "--schedule-factor"),
        FieldName("schedule.gamma", spec: "schedule.gamma", flag: "--schedule-factor"),
        FieldName("schedule.k", spec: "schedule.k", flag: "--schedule-factor"),
    ])
}
