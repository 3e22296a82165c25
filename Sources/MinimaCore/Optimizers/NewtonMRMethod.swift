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
                                          summary: "bits of the curvature path: 32 (the network's float32 kernels) or 64 (parameters, gradients and Hessian-vector products in double precision, deterministic)")
    static let info = OptimizerInfo(kind: .newtonMR, summary: "Newton-MR: MINRES-QLP steps with an Armijo search on ‖∇L‖² (finds critical points of any index)",
                                    traits: [.criticalPoints], settings: [relativeTolerance, maximumIterations, conditionLimit, precision])

    let newton: NewtonMR
    private var search: CriticalPointSearchState

    init(_ spec: OptimizerSpec, network: Network) {
        search = CriticalPointSearchState(doublePrecision: spec[Self.precision] == 64)
        newton = NewtonMR(settings: NewtonMR.Settings(solver: MinresQLP.Settings(
            relativeTolerance: spec[Self.relativeTolerance], maximumIterations: Int(spec[Self.maximumIterations]), conditionLimit: spec[Self.conditionLimit])))
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        search.epoch(&run) { surface, gradient in
            let step = newton.step(surface, gradient: gradient)
            // H g, MINRES-QLP's products, H p.
            return (step, step.solverIterations + 2)
        }
    }

    var lastEpochCost: Double { search.lastEpochCost }
    func criticalPointSearch(tolerance: Double) -> CriticalPointSearch? { search.summary(tolerance: tolerance) }
    var exactGradientNorm: Double? { search.exactGradientNorm }

    /// MINRES-QLP's vectors, the step, its products and gradients (about 12 double vectors),
    /// and at 64 bits the double-precision surface.
    static func workingMemoryBytes(_ spec: OptimizerSpec, parameters: Double, samples: Double, sampleWidth: Double) -> Double {
        12 * parameters * 8 + CriticalPointSearchState.doubleSurfaceBytes(spec, parameters: parameters, samples: samples, sampleWidth: sampleWidth)
    }
}

/// Newton-MR with a trust region (``DampedNewtonMR``): Levenberg–Marquardt on ‖∇L‖², the same
/// model as Newton-MR's step, damped where the Hessian's small eigenvalues would make that step
/// unreliable (gradient-flat regions, degenerate critical points). One Lanczos run of `maxit`
/// products per step; rejected damping values cost a gradient each. No learning rate.
final class DampedNewtonMRMethod: OptimizerMethod {
    /// At most 1,000: each damping value solves a dense (2k+1)×k least-squares problem (16 MB and
    /// about 2·10⁹ operations at k = 1,000).
    static let maximumIterations = NumericSetting("maxit", default: 100, in: 1, upTo: 1_001, integer: true,
                                                  summary: "Lanczos steps — Hessian-vector products — per step (the Krylov space the damped step is chosen in; at most 1000)")
    static let initialDamping = NumericSetting("tau", default: 1e-3, in: 0, upTo: 1e10, lowerExclusive: true,
                                               summary: "the first step's damping relative to the largest diagonal entry of T̄ᵀT̄ (Madsen et al.'s τ); later steps adapt it")
    static let info = OptimizerInfo(kind: .newtonMRLM, summary: "Newton-MR with a trust region: Levenberg–Marquardt on ‖∇L‖² in a Krylov space (finds critical points of any index, through gradient-flat regions)",
                                    traits: [.criticalPoints], settings: [maximumIterations, initialDamping, NewtonMRMethod.precision])

    private var damped: DampedNewtonMR
    private var search: CriticalPointSearchState

    init(_ spec: OptimizerSpec, network: Network) {
        search = CriticalPointSearchState(doublePrecision: spec[NewtonMRMethod.precision] == 64)
        damped = DampedNewtonMR(settings: DampedNewtonMR.Settings(krylovDimension: Int(spec[Self.maximumIterations]), initialDamping: spec[Self.initialDamping]))
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        search.epoch(&run) { surface, gradient in
            let step = damped.step(surface, gradient: gradient)
            return (step, step.solverIterations)
        }
    }

    var lastEpochCost: Double { search.lastEpochCost }
    func criticalPointSearch(tolerance: Double) -> CriticalPointSearch? { search.summary(tolerance: tolerance) }
    var exactGradientNorm: Double? { search.exactGradientNorm }

    /// The Lanczos basis (k + 1 double vectors, k = min(maxit, parameters)), the dense damped
    /// least-squares problem and its copy ((2k + 1)·k doubles each), a few more vectors, and at
    /// 64 bits the double-precision surface.
    static func workingMemoryBytes(_ spec: OptimizerSpec, parameters: Double, samples: Double, sampleWidth: Double) -> Double {
        let k = min(spec[maximumIterations], parameters)
        return (k + 6) * parameters * 8 + 2 * (2 * k + 1) * k * 8
            + CriticalPointSearchState.doubleSurfaceBytes(spec, parameters: parameters, samples: samples, sampleWidth: sampleWidth)
    }
}

/// What the critical-point searches share: the objective they step on (the network's float32
/// kernels, or with `precision: 64` a double-precision surface kept across epochs that the float32
/// network follows), the gradient a step's last trial measured (the next step's start), the first
/// and last steps' measurements, and the epoch's cost.
struct CriticalPointSearchState {
    let doublePrecision: Bool
    private var doubleSurface: DoublePrecisionSurface?
    private var gradient: [Double]?
    private(set) var lastStep: NewtonMR.Outcome?
    private(set) var firstGradientNorm: Double?
    /// The last step's work: its start's gradient (unless the previous step measured it) and
    /// loss, two per Hessian-vector product, and a gradient per trial point.
    private(set) var lastEpochCost = 0.0

    init(doublePrecision: Bool) { self.doublePrecision = doublePrecision }

    /// With `precision: 64`: the samples' features and targets as doubles, and the surface's
    /// parameters, saved point and product vectors.
    static func doubleSurfaceBytes(_ spec: OptimizerSpec, parameters: Double, samples: Double, sampleWidth: Double) -> Double {
        spec[NewtonMRMethod.precision] == 64 ? samples * sampleWidth * 8 + 6 * parameters * 8 : 0
    }

    /// At 64 bits, ‖∇L‖ in double precision where the last step ended (the float32 network's
    /// gradient has a rounding floor near 10⁻⁷ of the start's).
    var exactGradientNorm: Double? { doublePrecision ? lastStep?.gradientNormAfter : nil }

    /// One step; `step` takes the objective and its gradient and returns what it did and how
    /// many Hessian-vector products it took.
    mutating func epoch(_ run: inout TrialRun, step: (any SecondOrderObjective, [Double]) -> (NewtonMR.Outcome, products: Int)) -> EpochOutcome {
        let start = ContinuousClock.now
        defer { run.trainingSeconds += secondsElapsed(since: start) }
        let surface: any SecondOrderObjective
        if doublePrecision {
            let double = doubleSurface ?? DoublePrecisionSurface(network: run.network, dataset: run.data.train, samples: run.split.training,
                                                                 weightDecay: run.description.optimizer.weightDecay, loss: run.description.model.loss)
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
        let (outcome, products) = step(surface, gradient)
        lastEpochCost = (cached ? 0 : 1) + 1.0 / 3 + 2 * Double(products) + Double(outcome.lineSearchTrials)
        if firstGradientNorm == nil { firstGradientNorm = outcome.gradientNormBefore }
        lastStep = outcome
        self.gradient = outcome.gradientAfter
        run.samplesTrained += run.split.training.count
        guard outcome.moved else { return .stalled }
        return run.network.allParametersFinite ? .trained(loss: loss) : .failed
    }

    /// Where the search ended: converged when ‖∇L‖ ≤ `tolerance`·‖∇L₀‖.
    func summary(tolerance: Double) -> CriticalPointSearch? {
        guard let last = lastStep, let first = firstGradientNorm else { return nil }
        let end = CriticalPointSearchEnd.classify(gradientNorm: last.gradientNormAfter, initialGradientNorm: first, tolerance: tolerance,
                                                  hessianGradientNorm: last.hessianGradientNorm, operatorNorm: last.operatorNorm,
                                                  kernelFraction: last.kernelFraction)
        let scale = last.operatorNorm * last.gradientNormBefore
        return CriticalPointSearch(end: end, kernelFraction: last.kernelFraction, relativeHessianGradient: scale > 0 ? last.hessianGradientNorm / scale : 0,
                                   solverEnding: last.solverEnding, solverIterations: last.solverIterations, damping: last.damping,
                                   loss: doubleSurface?.objective())
    }
}
