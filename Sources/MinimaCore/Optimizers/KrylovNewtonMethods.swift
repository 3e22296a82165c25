/// Damped Newton in a Krylov subspace: k Lanczos vectors V of H from the gradient, step
/// −V Θ(Θ² + δ²)⁻¹ Vᵀg (δ = 0: the exact Newton step in the subspace). Attracted to critical
/// points of any index; δ is chosen each step from the grid by the gradient norm it reaches.
/// One epoch is one step on all training samples; no learning rate.
final class KrylovNewtonMethod: KrylovStepping, OptimizerMethod {
    static let info = OptimizerInfo(kind: .newton, summary: "damped Newton in a Krylov subspace of the Hessian (finds critical points of any index)",
                                    traits: [.krylov, .criticalPoints])
}

/// Saddle-free Newton (Dauphin et al. 2014, Algorithm 1): the same subspace with |Θ|, step
/// −V (|Θ| + δ)⁻¹ Vᵀg, δ chosen each step from the grid by the loss it reaches.
final class SaddleFreeNewtonMethod: KrylovStepping, OptimizerMethod {
    static let info = OptimizerInfo(kind: .saddleFreeNewton, summary: "saddle-free Newton (Dauphin et al. 2014) in a Krylov subspace",
                                    traits: [.krylov])
    override class var method: KrylovNewton.Method { .saddleFree }
}

/// The Krylov Newton methods' epoch. Their state: what the last step already measured at the
/// point it moved to — the gradient (Newton) or the objective (saddle-free Newton) — so the next
/// step does not measure it again.
class KrylovStepping {
    class var method: KrylovNewton.Method { .newton }
    let settings: KrylovSettings
    var gradient: [Double]?
    var objective: Double?
    /// With subsampled curvature: the objective whose products use the subset, and the steps taken.
    var subsampled: SubsampledCurvature?
    var steps = 0
    /// The last step's work: the gradient and objective it measured at the start (unless the
    /// previous step had), k products (on the curvature subset's share of the samples), and the
    /// measure of each damping candidate and halving (a gradient for Newton, a loss for SFN).
    private(set) var lastEpochCost = 0.0

    required init(_ spec: OptimizerSpec, network: Network) { settings = spec.krylovSettings }

    /// The objective a step works on: the training surface, or with `curvatureSamples` below the
    /// training set's size the same surface with its products on a subset — drawn once, or each
    /// step with `resampleCurvature` (substream = the step), from the trial's stream.
    func stepObjective(_ run: inout TrialRun) -> any SecondOrderObjective {
        let surface = run.trainingSurface()
        guard let count = settings.curvatureSamples, count < run.split.training.count else { return surface }
        if let subsampled, settings.resampleCurvature != true { return subsampled }
        var stream = RandomStream(seed: run.description.seed, trial: run.description.trialIndex, purpose: .curvatureSamples,
                                  substream: settings.resampleCurvature == true ? UInt32(truncatingIfNeeded: steps) : 0)
        let made = SubsampledCurvature(full: surface, curvatureSamples: SubsampledCurvature.subset(of: run.split.training, count: count, stream: &stream))
        subsampled = made
        return made
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        let method = Self.method
        let start = ContinuousClock.now
        defer { run.trainingSeconds += secondsElapsed(since: start); steps += 1 }
        let surface = stepObjective(&run)
        let newton = KrylovNewton(method: method, settings: settings)
        let gradient = self.gradient ?? surface.gradient()
        let loss = objective ?? surface.objective()
        let current = method == .newton ? newton.measure(surface, gradient: gradient).value : loss
        guard loss.isFinite && current.isFinite else { return .failed }
        if run.control.isCancelled() { return .failed }
        let outcome = newton.step(surface, gradient: gradient, current: current)
        let share = settings.curvatureSamples.map { min(1, Double($0) / Double(max(1, run.split.training.count))) } ?? 1
        let candidates = Double(settings.damping.count + outcome.halvings) * (method == .newton ? 1 : 1.0 / 3)
        lastEpochCost = (self.gradient == nil ? 1 : 0) + (objective == nil ? 1.0 / 3 : 0) + 2 * Double(outcome.subspace) * share + candidates
        self.gradient = outcome.gradientAfter
        objective = outcome.moved && method == .saddleFree ? outcome.after : nil
        run.samplesTrained += run.split.training.count
        guard outcome.moved else { return .stalled }
        return run.network.allParametersFinite ? .trained(loss: loss) : .failed
    }
}
