/// Newton-MR (Roosta et al. 2018; Frye et al. 2019, 2021): each epoch one step p = −H⁺g by
/// MINRES-QLP on all training samples, with an Armijo line search on ‖∇L‖² (``NewtonMR``).
/// Attracted to critical points of any index, and — unlike the damped Krylov Newton — it handles
/// a singular Hessian by the minimum-norm step and says why it stopped: the last step's
/// measurements classify the end point (``CriticalPointSearchEnd``). No learning rate.
final class NewtonMRMethod: OptimizerMethod {
    static let relativeTolerance = NumericSetting("rtol", default: 1e-10, in: 0, upTo: 1, lowerExclusive: true,
                                                  summary: "MINRES-QLP's relative tolerance per step (autocrit: 1e-10)")
    static let maximumIterations = NumericSetting("maxit", default: 25, in: 1, upTo: 100_001, integer: true,
                                                  summary: "MINRES-QLP's iterations — Hessian-vector products — per step (autocrit: 25)")
    static let conditionLimit = NumericSetting("acondlim", default: 1e15, in: 1, upTo: .infinity,
                                               summary: "MINRES-QLP stops when its condition estimate passes this")
    static let precision = NumericSetting("precision", default: 32, in: 32, upTo: 65, integer: true,
                                          summary: "bits of the curvature path: 32 (the network's float32 kernels) or 64 (parameters, gradients and Hessian-vector products in double precision; linear or relu activations, mse)")
    static let info = OptimizerInfo(kind: .newtonMR, summary: "Newton-MR: MINRES-QLP steps with an Armijo search on ‖∇L‖² (finds critical points of any index)",
                                    traits: [], settings: [relativeTolerance, maximumIterations, conditionLimit, precision])

    let newton: NewtonMR
    /// The gradient where the last step ended (measured by its line search).
    var gradient: [Double]?
    /// The last step's measurements, and ‖∇L‖ where the first step started.
    private(set) var lastStep: NewtonMR.Outcome?
    private(set) var firstGradientNorm: Double?
    /// The last step's work: its start's gradient (unless the previous step measured it) and
    /// loss, H g, MINRES-QLP's products, H p, and a gradient per line-search trial.
    private(set) var lastEpochCost = 0.0

    /// Where the search ended: converged when ‖∇L‖ ≤ `tolerance`·‖∇L₀‖.
    func criticalPointSearch(tolerance: Double) -> CriticalPointSearch? {
        guard let last = lastStep, let first = firstGradientNorm else { return nil }
        let norm = last.gradientNormAfter
        let end = CriticalPointSearchEnd.classify(gradientNorm: norm, initialGradientNorm: first, tolerance: tolerance,
                                                  hessianGradientNorm: last.hessianGradientNorm, operatorNorm: last.operatorNorm,
                                                  kernelFraction: last.kernelFraction)
        let scale = last.operatorNorm * last.gradientNormBefore
        return CriticalPointSearch(end: end, kernelFraction: last.kernelFraction, relativeHessianGradient: scale > 0 ? last.hessianGradientNorm / scale : 0,
                                   solverEnding: last.solverEnding, solverIterations: last.solverIterations)
    }

    /// With `precision: 64`: the double-precision objective, kept across epochs (the float32
    /// network only follows it).
    let doublePrecision: Bool
    private var doubleSurface: DoublePrecisionSurface?

    init(_ spec: OptimizerSpec, network: Network) {
        doublePrecision = spec[Self.precision] == 64
        newton = NewtonMR(settings: NewtonMR.Settings(solver: MinresQLP.Settings(
            relativeTolerance: spec[Self.relativeTolerance], maximumIterations: Int(spec[Self.maximumIterations]), conditionLimit: spec[Self.conditionLimit])))
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        let start = ContinuousClock.now
        defer { run.trainingSeconds += secondsElapsed(since: start) }
        let surface: any SecondOrderObjective
        if doublePrecision {
            let double = doubleSurface ?? DoublePrecisionSurface(network: run.network, dataset: run.data.train, samples: run.split.training,
                                                                 weightDecay: run.description.optimizer.weightDecay)
            doubleSurface = double
            surface = double
        } else {
            surface = run.trainingSurface()
        }
        let gradient = self.gradient ?? surface.gradient()
        let loss = surface.objective()
        guard loss.isFinite else { return .failed }
        if run.control.isCancelled() { return .failed }
        let cached = self.gradient != nil
        let step = newton.step(surface, gradient: gradient)
        lastEpochCost = (cached ? 0 : 1) + 1.0 / 3 + 2 * Double(step.solverIterations + 2) + Double(step.lineSearchTrials)
        if firstGradientNorm == nil { firstGradientNorm = step.gradientNormBefore }
        lastStep = step
        self.gradient = step.gradientAfter
        run.samplesTrained += run.split.training.count
        guard step.moved else { return .stalled }
        return run.network.allParametersFinite ? .trained(loss: loss) : .failed
    }
}
