import MinimaCore
import Testing

@Suite("Forward pass and gradients")
struct GradientTests {
    static let cases: [(Activation, Objective, [Int])] = Activation.allCases.flatMap { activation in
        Objective.allCases.flatMap { objective in [(activation, objective, [20, 5]), (activation, objective, [33])] }
    }

    /// A small network whose layers use both weight layouts: 7→20 and 5→3 input-major,
    /// 20→5 and 33→3 output-major.
    func network(_ activation: Activation, hidden: [Int], seed: UInt64) -> Network {
        let network = Network(inputs: 7, hidden: hidden, classes: 3, activation: activation)
        network.initialize(Initialization(scheme: .glorotUniform, scale: 1.5), seed: seed, trialIndex: 0)
        // Nonzero biases so that their gradients are exercised away from the trivial point.
        for l in network.layers.indices {
            network.setBiases(layer: l, randomFloats(network.layers[l].outputs, substream: UInt32(10 + l)).map { $0 * 0.3 })
        }
        return network
    }

    @Test(arguments: cases)
    func forwardPassAndLossMatchTheReference(activation: Activation, objective: Objective, hidden: [Int]) {
        let data = objective.data(samples: 8), loss = objective.loss
        let net = network(activation, hidden: hidden, seed: 1)
        let samples = (0..<Int32(8)).map { $0 }
        let simd = net.meanLoss(on: data.train, samples: samples, loss: loss)
        let reference = ScalarReference.meanLoss(network: net, inputs: (0..<8).map { data.train.features($0) },
                                                 targets: (0..<8).map { data.train.targetVector($0) }, loss: loss)
        #expect(abs(simd - reference) <= 1e-5 * max(1, abs(reference)))
    }

    @Test(arguments: cases)
    func gradientsMatchCentralFiniteDifferences(activation: Activation, objective: Objective, hidden: [Int]) {
        let data = objective.data(samples: 6), loss = objective.loss
        let net = network(activation, hidden: hidden, seed: 2)
        let samples = (0..<Int32(6)).map { $0 }
        let (_, gradient) = net.meanLossAndGradient(on: data.train, samples: samples, loss: loss)
        let parameters = net.canonicalParameters()
        let h: Float = 2e-3
        var mismatches: [String] = []
        for p in parameters.indices {
            var perturbed = parameters
            perturbed[p] = parameters[p] + h
            net.setCanonicalParameters(perturbed)
            let up = net.meanLoss(on: data.train, samples: samples, loss: loss)
            perturbed[p] = parameters[p] - h
            net.setCanonicalParameters(perturbed)
            let down = net.meanLoss(on: data.train, samples: samples, loss: loss)
            let finiteDifference = (up - down) / Double((parameters[p] + h) - (parameters[p] - h))
            if abs(finiteDifference - Double(gradient[p])) > 2e-3 + 2e-2 * abs(finiteDifference) {
                mismatches.append("parameter \(p): finite difference \(finiteDifference), gradient \(gradient[p])")
            }
        }
        net.setCanonicalParameters(parameters)
        // ReLU has kinks; a perturbation that crosses one makes the finite difference meaningless.
        let allowed = activation == .relu ? parameters.count / 50 : 0
        #expect(mismatches.count <= allowed, "\(mismatches.prefix(5))")
    }
}
