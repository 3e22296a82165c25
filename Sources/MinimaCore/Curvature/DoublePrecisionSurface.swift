/// A network's training objective in double precision: the parameters, the forward pass, the
/// gradient and the Hessian-vector products (Pearlmutter's R-operator) all in Float64, in plain
/// loops in a fixed order (so the bits are the same everywhere, as the float32 kernels' are). For
/// the critical-point searches of small networks, where float32 products and float32 parameters
/// limit how close a search can get (`precision: 64` on Newton-MR). The network's own float32
/// parameters follow (rounded) after every move, for the epoch's metrics.
///
/// Activations whose second derivative vanishes — `linear` and `relu` — and squared error (on
/// target values or one-hot classes): exact arithmetic only, no transcendental functions, so no
/// platform libm can change a bit. L(θ) = (1/N) Σ ½‖f(x) − t‖² + (λ/2)‖W‖².
public final class DoublePrecisionSurface: SecondOrderObjective {
    let network: Network
    let dataset: Dataset
    let samples: [Int32]
    let weightDecay: Double
    /// The parameters, in canonical order (per layer W[out][in] row-major, then the biases).
    public private(set) var parameters: [Double]
    private var saved: [Double]?
    /// (offset of W, offset of b, inputs, outputs, rectified) per layer.
    private let layers: [(weights: Int, biases: Int, inputs: Int, outputs: Int, rectified: Bool)]

    /// Why a network cannot use this path (nil: it can).
    public static func unsupported(activation: Activation, loss: LossFunction) -> String? {
        guard activation == .linear || activation == .relu else { return "64-bit curvature supports linear and relu activations (exact arithmetic), not \(activation.rawValue)" }
        guard loss == .meanSquaredError else { return "64-bit curvature supports mse, not \(loss.rawValue)" }
        return nil
    }

    public init(network: Network, dataset: Dataset, samples: [Int32], weightDecay: Double) {
        self.network = network
        self.dataset = dataset
        self.samples = samples
        self.weightDecay = weightDecay
        parameters = network.canonicalParameters().map(Double.init)
        var offset = 0
        var layers: [(Int, Int, Int, Int, Bool)] = []
        for (l, layer) in network.layers.enumerated() {
            let rectified = l < network.layers.count - 1 && layer.activation == .relu
            layers.append((offset, offset + layer.inputs * layer.outputs, layer.inputs, layer.outputs, rectified))
            offset += layer.inputs * layer.outputs + layer.outputs
        }
        self.layers = layers
    }

    public var dimension: Int { parameters.count }

    /// Forward pass of one sample: pre-activations and activations per layer (a[0] = x).
    private func forward(_ x: [Double], _ θ: [Double]) -> (z: [[Double]], a: [[Double]]) {
        var a: [[Double]] = [x], z: [[Double]] = []
        for layer in layers {
            var out = [Double](repeating: 0, count: layer.outputs)
            let input = a[a.count - 1]
            for o in 0..<layer.outputs {
                var sum = θ[layer.biases + o]
                for i in 0..<layer.inputs { sum += θ[layer.weights + o * layer.inputs + i] * input[i] }
                out[o] = sum
            }
            z.append(out)
            a.append(layer.rectified ? out.map { max(0, $0) } : out)
        }
        return (z, a)
    }

    private func sample(_ s: Int32) -> (x: [Double], t: [Double]) {
        (dataset.features(Int(s)).map(Double.init), dataset.targetVector(Int(s)).map(Double.init))
    }

    private var decay: Double {
        guard weightDecay > 0 else { return 0 }
        var total = 0.0
        for layer in layers { for k in layer.weights ..< layer.biases { total += parameters[k] * parameters[k] } }
        return 0.5 * weightDecay * total
    }

    public func objective() -> Double {
        var total = 0.0
        for s in samples {
            let (x, t) = sample(s)
            let output = forward(x, parameters).a.last!
            var squares = 0.0
            for o in output.indices { squares += (output[o] - t[o]) * (output[o] - t[o]) }
            total += 0.5 * squares
        }
        return total / Double(samples.count) + decay
    }

    public func gradient() -> [Double] {
        var g = [Double](repeating: 0, count: parameters.count)
        for s in samples {
            let (x, t) = sample(s)
            let (z, a) = forward(x, parameters)
            var delta = zip(a[layers.count], t).map { $0 - $1 }
            for l in stride(from: layers.count - 1, through: 0, by: -1) {
                let layer = layers[l]
                for o in 0..<layer.outputs {
                    for i in 0..<layer.inputs { g[layer.weights + o * layer.inputs + i] += delta[o] * a[l][i] }
                    g[layer.biases + o] += delta[o]
                }
                if l > 0 {
                    var previous = [Double](repeating: 0, count: layer.inputs)
                    for i in 0..<layer.inputs {
                        var sum = 0.0
                        for o in 0..<layer.outputs { sum += parameters[layer.weights + o * layer.inputs + i] * delta[o] }
                        previous[i] = layers[l - 1].rectified && z[l - 1][i] <= 0 ? 0 : sum
                    }
                    delta = previous
                }
            }
        }
        let n = Double(samples.count)
        for k in g.indices { g[k] /= n }
        for layer in layers where weightDecay > 0 { for k in layer.weights ..< layer.biases { g[k] += weightDecay * parameters[k] } }
        return g
    }

    /// H·v by the R-operator (the activations' second derivatives vanish).
    public func hessianVectorProduct(_ input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        let v = Array(UnsafeBufferPointer(start: input, count: parameters.count))
        var hv = [Double](repeating: 0, count: parameters.count)
        for s in samples {
            let (x, t) = sample(s)
            let (z, a) = forward(x, parameters)
            // R-forward: R(z_l) = V_l a_{l−1} + W_l R(a_{l−1}) + Vb_l; R(a_l) = φ'(z_l) R(z_l).
            var ra: [[Double]] = [[Double](repeating: 0, count: x.count)]
            for (l, layer) in layers.enumerated() {
                var rz = [Double](repeating: 0, count: layer.outputs)
                for o in 0..<layer.outputs {
                    var sum = v[layer.biases + o]
                    for i in 0..<layer.inputs {
                        sum += v[layer.weights + o * layer.inputs + i] * a[l][i] + parameters[layer.weights + o * layer.inputs + i] * ra[l][i]
                    }
                    rz[o] = layer.rectified && z[l][o] <= 0 ? 0 : sum
                }
                ra.append(rz)
            }
            // Backward with R: δ_L = a_L − t, R(δ_L) = R(a_L).
            var delta = zip(a[layers.count], t).map { $0 - $1 }
            var rDelta = ra[layers.count]
            for l in stride(from: layers.count - 1, through: 0, by: -1) {
                let layer = layers[l]
                for o in 0..<layer.outputs {
                    for i in 0..<layer.inputs { hv[layer.weights + o * layer.inputs + i] += rDelta[o] * a[l][i] + delta[o] * ra[l][i] }
                    hv[layer.biases + o] += rDelta[o]
                }
                if l > 0 {
                    var previous = [Double](repeating: 0, count: layer.inputs), rPrevious = previous
                    for i in 0..<layer.inputs {
                        var sum = 0.0, rSum = 0.0
                        for o in 0..<layer.outputs {
                            let w = parameters[layer.weights + o * layer.inputs + i]
                            sum += w * delta[o]
                            rSum += w * rDelta[o] + v[layer.weights + o * layer.inputs + i] * delta[o]
                        }
                        let active = !(layers[l - 1].rectified && z[l - 1][i] <= 0)
                        previous[i] = active ? sum : 0
                        rPrevious[i] = active ? rSum : 0
                    }
                    delta = previous
                    rDelta = rPrevious
                }
            }
        }
        let n = Double(samples.count)
        for k in hv.indices { output[k] = hv[k] / n }
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
