/// A network's training objective in double precision: the parameters, the forward pass, the
/// gradient and the Hessian-vector products (Pearlmutter's R-operator) all in Float64, in plain
/// loops in a fixed order (so the bits are the same everywhere, as the float32 kernels' are). For
/// the critical-point searches of small networks, where float32 products and float32 parameters
/// limit how close a search can get (`precision: 64` on the Newton-MR searches). The network's own
/// float32 parameters follow (rounded) after every move, for the epoch's metrics.
///
/// Every activation (linear, relu, tanh, sigmoid) and both losses (squared error on target values
/// or one-hot classes; softmax cross-entropy on classes). The transcendental functions are
/// ``DeterministicMath``'s double-precision `exp` and `log` — polynomials in a fixed order — so no
/// platform libm can change a bit. L(θ) = (1/N) Σ ℓ(f(x), t) + (λ/2)‖W‖².
public final class DoublePrecisionSurface: SecondOrderObjective {
    let network: Network
    let samples: [Int32]
    let weightDecay: Double
    let loss: LossFunction
    /// The parameters, in canonical order (per layer W[out][in] row-major, then the biases).
    public private(set) var parameters: [Double]
    private var saved: [Double]?

    struct Layer {
        var weights: Int, biases: Int, inputs: Int, outputs: Int
        /// Offset of this layer's outputs in the per-sample unit buffers (its inputs are the
        /// previous layer's outputs, or the sample's features for the first).
        var units: Int
        /// Hidden layers apply the activation; the last layer is linear (its loss follows).
        var activation: Activation?
    }
    private let layers: [Layer]
    private let inputCount: Int, outputCount: Int, unitCount: Int
    /// The samples' features and targets (one-hot for classes), as doubles, row by row.
    private let features: [Double], targets: [Double]
    /// Per-sample scratch, reused: z, a, R(z)/R(a), δ, R(δ) for every unit, and the input row.
    private var z: [Double], a: [Double], rz: [Double], ra: [Double], delta: [Double], rDelta: [Double]

    public init(network: Network, dataset: Dataset, samples: [Int32], weightDecay: Double, loss: LossFunction = .meanSquaredError) {
        self.network = network
        self.samples = samples
        self.weightDecay = weightDecay
        self.loss = loss
        parameters = network.canonicalParameters().map(Double.init)
        var offset = 0, units = 0
        var layers: [Layer] = []
        for (l, layer) in network.layers.enumerated() {
            let hidden = l < network.layers.count - 1
            layers.append(Layer(weights: offset, biases: offset + layer.inputs * layer.outputs, inputs: layer.inputs, outputs: layer.outputs,
                                units: units, activation: hidden ? layer.activation : nil))
            offset += layer.inputs * layer.outputs + layer.outputs
            units += layer.outputs
        }
        self.layers = layers
        inputCount = network.layers[0].inputs
        outputCount = network.layers[network.layers.count - 1].outputs
        unitCount = units
        var features: [Double] = [], targets: [Double] = []
        features.reserveCapacity(samples.count * inputCount)
        targets.reserveCapacity(samples.count * outputCount)
        for s in samples {
            features += dataset.features(Int(s)).map(Double.init)
            targets += dataset.targetVector(Int(s)).map(Double.init)
        }
        self.features = features
        self.targets = targets
        z = [Double](repeating: 0, count: units)
        a = z; rz = z; ra = z; delta = z; rDelta = z
    }

    public var dimension: Int { parameters.count }

    // MARK: One sample

    /// φ(x), φ'(x) and φ''(x) in double precision.
    @inline(__always)
    static func activation(_ kind: Activation, _ x: Double) -> (value: Double, slope: Double, curvature: Double) {
        switch kind {
        case .linear: return (x, 1, 0)
        case .relu: return x > 0 ? (x, 1, 0) : (0, 0, 0)
        case .tanh:
            let t = 1 - 2 / (DeterministicMath.exp(2 * x) + 1)
            let slope = 1 - t * t
            return (t, slope, -2 * t * slope)
        case .sigmoid:
            let s = 1 / (1 + DeterministicMath.exp(-x))
            let slope = s * (1 - s)
            return (s, slope, slope * (1 - 2 * s))
        }
    }

    /// The forward pass of sample `n` into z and a; returns its loss, and leaves ∂ℓ/∂z_L in the
    /// output units' δ (with, for cross-entropy, the softmax in the output units' a).
    private func forward(_ n: Int) -> Double {
        let x = n * inputCount, t = n * outputCount
        for layer in layers {
            for o in 0..<layer.outputs {
                var sum = parameters[layer.biases + o]
                let row = layer.weights + o * layer.inputs
                if layer.units == 0 {
                    for i in 0..<layer.inputs { sum += parameters[row + i] * features[x + i] }
                } else {
                    let input = layer.units - layer.inputs
                    for i in 0..<layer.inputs { sum += parameters[row + i] * a[input + i] }
                }
                z[layer.units + o] = sum
                a[layer.units + o] = layer.activation.map { Self.activation($0, sum).value } ?? sum
            }
        }
        let out = unitCount - outputCount
        switch loss {
        case .meanSquaredError:
            var squares = 0.0
            for o in 0..<outputCount {
                let d = z[out + o] - targets[t + o]
                delta[out + o] = d
                squares += d * d
            }
            return 0.5 * squares
        case .softmaxCrossEntropy:
            var largest = -Double.infinity
            for o in 0..<outputCount { largest = max(largest, z[out + o]) }
            var total = 0.0
            for o in 0..<outputCount {
                let e = DeterministicMath.exp(z[out + o] - largest)
                a[out + o] = e
                total += e
            }
            var value = 0.0
            for o in 0..<outputCount {
                a[out + o] /= total
                delta[out + o] = a[out + o] - targets[t + o]
                value -= targets[t + o] * (z[out + o] - largest)
            }
            var mass = 0.0
            for o in 0..<outputCount { mass += targets[t + o] }
            return value + mass * DeterministicMath.log(total)
        }
    }

    /// δ of every hidden unit from the output's, back through the layers.
    private func backward() {
        for l in stride(from: layers.count - 1, through: 1, by: -1) {
            let layer = layers[l], below = layers[l - 1]
            for i in 0..<layer.inputs {
                var sum = 0.0
                for o in 0..<layer.outputs { sum += parameters[layer.weights + o * layer.inputs + i] * delta[layer.units + o] }
                delta[below.units + i] = sum * Self.activation(below.activation!, z[below.units + i]).slope
            }
        }
    }

    /// The input of layer `l`'s unit i for sample `n` (a feature or the previous layer's a).
    @inline(__always)
    private func input(_ l: Int, _ i: Int, sample n: Int) -> Double {
        l == 0 ? features[n * inputCount + i] : a[layers[l].units - layers[l].inputs + i]
    }

    private var decay: Double {
        guard weightDecay > 0 else { return 0 }
        var total = 0.0
        for layer in layers { for k in layer.weights ..< layer.biases { total += parameters[k] * parameters[k] } }
        return 0.5 * weightDecay * total
    }

    // MARK: The objective

    public func objective() -> Double {
        var total = 0.0
        for n in samples.indices { total += forward(n) }
        return total / Double(samples.count) + decay
    }

    public func gradient() -> [Double] {
        var g = [Double](repeating: 0, count: parameters.count)
        for n in samples.indices {
            _ = forward(n)
            backward()
            for (l, layer) in layers.enumerated() {
                for o in 0..<layer.outputs {
                    let d = delta[layer.units + o]
                    for i in 0..<layer.inputs { g[layer.weights + o * layer.inputs + i] += d * input(l, i, sample: n) }
                    g[layer.biases + o] += d
                }
            }
        }
        let count = Double(samples.count)
        for k in g.indices { g[k] /= count }
        for layer in layers where weightDecay > 0 { for k in layer.weights ..< layer.biases { g[k] += weightDecay * parameters[k] } }
        return g
    }

    /// H·v by the R-operator: R(z) forward, then δ and R(δ) backward, with the activations'
    /// second derivatives and the loss's curvature (identity for squared error, diag(p) − ppᵀ
    /// for softmax cross-entropy).
    public func hessianVectorProduct(_ input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        let v = UnsafeBufferPointer(start: input, count: parameters.count)
        var hv = [Double](repeating: 0, count: parameters.count)
        let out = unitCount - outputCount
        for n in samples.indices {
            _ = forward(n)
            backward()
            // R-forward: R(z_l) = V_l a_{l−1} + W_l R(a_{l−1}) + Vb_l; R(a_l) = φ'(z_l) R(z_l).
            for (l, layer) in layers.enumerated() {
                for o in 0..<layer.outputs {
                    var sum = v[layer.biases + o]
                    let row = layer.weights + o * layer.inputs
                    for i in 0..<layer.inputs {
                        sum += v[row + i] * self.input(l, i, sample: n)
                        if l > 0 { sum += parameters[row + i] * ra[layer.units - layer.inputs + i] }
                    }
                    rz[layer.units + o] = sum
                    ra[layer.units + o] = layer.activation.map { sum * Self.activation($0, z[layer.units + o]).slope } ?? sum
                }
            }
            // R(δ_L): R(z_L) for squared error; p ⊙ R(z_L) − p (pᵀR(z_L)) for cross-entropy.
            switch loss {
            case .meanSquaredError:
                for o in 0..<outputCount { rDelta[out + o] = rz[out + o] }
            case .softmaxCrossEntropy:
                var pr = 0.0
                for o in 0..<outputCount { pr += a[out + o] * rz[out + o] }
                for o in 0..<outputCount { rDelta[out + o] = a[out + o] * (rz[out + o] - pr) }
            }
            // R-backward: R(δ_l) = φ''(z_l) R(z_l) ⊙ (W_{l+1}ᵀδ_{l+1}) + φ'(z_l) ⊙ (V_{l+1}ᵀδ_{l+1} + W_{l+1}ᵀR(δ_{l+1})).
            for l in stride(from: layers.count - 1, through: 1, by: -1) {
                let layer = layers[l], below = layers[l - 1]
                for i in 0..<layer.inputs {
                    var back = 0.0, rBack = 0.0
                    for o in 0..<layer.outputs {
                        let k = layer.weights + o * layer.inputs + i
                        back += parameters[k] * delta[layer.units + o]
                        rBack += parameters[k] * rDelta[layer.units + o] + v[k] * delta[layer.units + o]
                    }
                    let phi = Self.activation(below.activation!, z[below.units + i])
                    rDelta[below.units + i] = phi.curvature * rz[below.units + i] * back + phi.slope * rBack
                }
            }
            for (l, layer) in layers.enumerated() {
                for o in 0..<layer.outputs {
                    let d = delta[layer.units + o], rd = rDelta[layer.units + o]
                    let row = layer.weights + o * layer.inputs
                    for i in 0..<layer.inputs {
                        let rInput = l == 0 ? 0 : ra[layer.units - layer.inputs + i]
                        hv[row + i] += rd * self.input(l, i, sample: n) + d * rInput
                    }
                    hv[layer.biases + o] += rd
                }
            }
        }
        let count = Double(samples.count)
        for k in hv.indices { output[k] = hv[k] / count }
        for layer in layers where weightDecay > 0 { for k in layer.weights ..< layer.biases { output[k] += weightDecay * v[k] } }
    }

    public func savePoint() { saved = parameters }

    public func moveFromSaved(by step: UnsafePointer<Double>, scale: Double) {
        guard let saved else { preconditionFailure("moveFromSaved before savePoint") }
        for k in parameters.indices { parameters[k] = saved[k] + scale * step[k] }
        syncNetwork()
    }

    public func restoreSaved() {
        guard let saved else { preconditionFailure("restoreSaved before savePoint") }
        parameters = saved
        syncNetwork()
    }

    /// The network's float32 parameters ← the double ones, rounded.
    func syncNetwork() { network.setCanonicalParameters(parameters.map { Float($0) }) }
}
