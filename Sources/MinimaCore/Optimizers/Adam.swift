/// Adam (Kingma & Ba 2015) on minibatches, as PyTorch's `torch.optim.Adam` computes it, with
/// weight decay as an L2 term on the weights (g ← g + λw, biases not decayed, as SGD here):
///
///     m ← β₁m + (1 − β₁)g        v ← β₂v + (1 − β₂)g²
///     w ← w − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// t counts steps over the whole trial (across epochs and a warm start of Adam). The corrections
/// are computed once per step in double precision with ``DeterministicMath``, so the bits are the
/// same everywhere.
final class Adam: OptimizerMethod {
    static let beta1 = NumericSetting("beta1", default: 0.9, in: 0, upTo: 1, summary: "β₁, the decay of the first moment")
    static let beta2 = NumericSetting("beta2", default: 0.999, in: 0, upTo: 1, summary: "β₂, the decay of the second moment")
    static let epsilon = NumericSetting("epsilon", default: 1e-8, in: 0, lowerExclusive: true, summary: "ε, added to √v̂")
    static let info = OptimizerInfo(kind: .adam, summary: "Adam (Kingma & Ba 2015), minibatch, PyTorch's update; settings beta1, beta2, epsilon",
                                    traits: [.minibatches, .learningRate, .warmStart], settings: [beta1, beta2, epsilon])

    let spec: OptimizerSpec
    let firstMoment: ParameterShapedBuffer
    let secondMoment: ParameterShapedBuffer
    /// Steps taken so far (t after the last step).
    var steps = 0

    init(_ spec: OptimizerSpec, network: Network) {
        self.spec = spec
        firstMoment = ParameterShapedBuffer(like: network)
        secondMoment = ParameterShapedBuffer(like: network)
    }

    func continueFrom(_ previous: any OptimizerMethod) {
        guard let previous = previous as? Adam else { return }
        _ = firstMoment.storage.update(fromContentsOf: previous.firstMoment.storage)
        _ = secondMoment.storage.update(fromContentsOf: previous.secondMoment.storage)
        steps = previous.steps
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        var rule = AdamStep(rate: rate, beta1: spec[Adam.beta1], beta2: spec[Adam.beta2], epsilon: Float(spec[Adam.epsilon]),
                            decay: Float(spec.weightDecay), steps: steps, m: firstMoment.base, v: secondMoment.base)
        let loss = run.trainEpoch(shuffle, rule: &rule)
        steps = rule.steps
        return loss.map { .trained(loss: $0) } ?? .failed
    }
}

struct AdamStep: UpdateRule {
    let rate: Double
    let beta1: Double, beta2: Double
    let oneMinusBeta1: Lanes, oneMinusBeta2: Lanes, beta1Lanes: Lanes, beta2Lanes: Lanes
    let epsilon: Lanes
    let decay: Lanes
    let hasDecay: Bool
    private(set) var steps: Int
    /// −η/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ) for the current step.
    var negativeStepSize = Lanes()
    var inverseRootCorrection = Lanes()
    /// The moments of the parameter at offset 0 (shifted with the rule).
    private(set) var m: UnsafeMutablePointer<Float>
    private(set) var v: UnsafeMutablePointer<Float>

    init(rate: Double, beta1: Double, beta2: Double, epsilon: Float, decay: Float, steps: Int, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        self.rate = rate
        self.beta1 = beta1
        self.beta2 = beta2
        beta1Lanes = Lanes(repeating: Float(beta1))
        beta2Lanes = Lanes(repeating: Float(beta2))
        oneMinusBeta1 = Lanes(repeating: Float(1 - beta1))
        oneMinusBeta2 = Lanes(repeating: Float(1 - beta2))
        self.epsilon = Lanes(repeating: epsilon)
        self.decay = Lanes(repeating: decay)
        hasDecay = decay != 0
        self.steps = steps
        self.m = m
        self.v = v
    }

    mutating func beginStep() {
        steps += 1
        let correction1 = 1 - DeterministicMath.power(beta1, steps)
        let correction2 = 1 - DeterministicMath.power(beta2, steps)
        negativeStepSize = Lanes(repeating: Float(-rate / correction1))
        inverseRootCorrection = Lanes(repeating: Float(1 / correction2.squareRoot()))
    }

    func shifted(by offset: Int) -> AdamStep {
        var rule = self
        rule.m += offset
        rule.v += offset
        return rule
    }

    @inline(__always)
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool) {
        let w = parameters.lanes(at: offset)
        let g = decays && hasDecay ? gradient.addingProduct(decay, w) : gradient
        let m1 = (oneMinusBeta1 * g).addingProduct(beta1Lanes, m.lanes(at: offset))
        let v1 = (oneMinusBeta2 * g * g).addingProduct(beta2Lanes, v.lanes(at: offset))
        m.storeLanes(m1, at: offset)
        v.storeLanes(v1, at: offset)
        let denominator = epsilon.addingProduct(v1.squareRoot(), inverseRootCorrection)
        parameters.storeLanes(w.addingProduct(negativeStepSize, m1 / denominator), at: offset)
    }
}
