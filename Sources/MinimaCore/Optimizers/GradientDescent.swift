/// Minibatch stochastic gradient descent: w ← w − η(g + λw), with heavy-ball or Nesterov
/// momentum when μ > 0. One epoch is one pass over the shuffled training samples.
final class StochasticGradientDescent: MomentumGradientDescent, OptimizerMethod {
    static let info = OptimizerInfo(kind: .sgd, summary: "minibatch SGD with momentum, Nesterov and weight decay",
                                    traits: [.minibatches, .learningRate, .momentum, .warmStart])
}

/// Full-batch gradient descent: one step per epoch on the gradient of the mean loss over all
/// training samples, with the same momentum and weight decay as SGD.
final class FullBatchGradientDescent: MomentumGradientDescent, OptimizerMethod {
    static let info = OptimizerInfo(kind: .gd, summary: "full-batch gradient descent (one step per epoch), momentum and weight decay",
                                    traits: [.learningRate, .momentum, .warmStart])
    override class var fullBatch: Bool { true }
}

/// SGD and GD: the plain or the momentum step, each its own rule type so the kernels are
/// specialized for it. The momentum buffer carries over from one to the next (a warm start's SGD
/// to the trial's SGD or GD).
class MomentumGradientDescent {
    let spec: OptimizerSpec
    let velocity: ParameterShapedBuffer
    class var fullBatch: Bool { false }

    required init(_ spec: OptimizerSpec, network: Network) {
        self.spec = spec
        velocity = ParameterShapedBuffer(like: network)
    }

    func continueFrom(_ previous: any OptimizerMethod) {
        guard let previous = previous as? MomentumGradientDescent else { return }
        _ = velocity.storage.update(fromContentsOf: previous.velocity.storage)
    }

    func epoch(_ run: inout TrialRun, shuffle: Int, rate: Double) -> EpochOutcome {
        let fullBatch = Self.fullBatch
        let negativeRate = Lanes(repeating: -Float(rate)), decay = Lanes(repeating: Float(spec.weightDecay))
        let loss: Double?
        if spec.momentum == 0 {
            var rule = PlainStep(negativeRate: negativeRate, decay: decay)
            loss = fullBatch ? run.fullBatchEpoch(rule: &rule) : run.trainEpoch(shuffle, rule: &rule)
        } else {
            var rule = MomentumStep(negativeRate: negativeRate, decay: decay, momentum: Lanes(repeating: Float(spec.momentum)),
                                    nesterov: spec.nesterov, velocity: velocity.base)
            loss = fullBatch ? run.fullBatchEpoch(rule: &rule) : run.trainEpoch(shuffle, rule: &rule)
        }
        return loss.map { .trained(loss: $0) } ?? .failed
    }
}

/// w ← w − η(g + λw)
struct PlainStep: UpdateRule {
    let negativeRate: Lanes
    let decay: Lanes
    let hasDecay: Bool

    init(negativeRate: Lanes, decay: Lanes) {
        self.negativeRate = negativeRate
        self.decay = decay
        hasDecay = decay[0] != 0
    }

    @inline(__always)
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool) {
        let w = parameters.lanes(at: offset)
        let g = decays && hasDecay ? gradient.addingProduct(decay, w) : gradient
        parameters.storeLanes(w.addingProduct(negativeRate, g), at: offset)
    }
}

/// v ← μv + (g + λw); w ← w − ηv, or with Nesterov w ← w − η((g + λw) + μv).
struct MomentumStep: UpdateRule {
    let negativeRate: Lanes
    let decay: Lanes
    let momentum: Lanes
    let nesterov: Bool
    let hasDecay: Bool
    /// The velocity of the parameter at offset 0 (shifted with the rule).
    let velocity: UnsafeMutablePointer<Float>

    init(negativeRate: Lanes, decay: Lanes, momentum: Lanes, nesterov: Bool, velocity: UnsafeMutablePointer<Float>) {
        self.negativeRate = negativeRate
        self.decay = decay
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = velocity
        hasDecay = decay[0] != 0
    }

    func shifted(by offset: Int) -> MomentumStep {
        MomentumStep(negativeRate: negativeRate, decay: decay, momentum: momentum, nesterov: nesterov, velocity: velocity + offset)
    }

    @inline(__always)
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool) {
        let w = parameters.lanes(at: offset)
        let g = decays && hasDecay ? gradient.addingProduct(decay, w) : gradient
        let v = g.addingProduct(momentum, velocity.lanes(at: offset))
        velocity.storeLanes(v, at: offset)
        let step = nesterov ? g.addingProduct(momentum, v) : v
        parameters.storeLanes(w.addingProduct(negativeRate, step), at: offset)
    }
}
