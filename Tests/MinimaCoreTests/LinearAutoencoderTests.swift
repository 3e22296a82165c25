import MinimaCore
import Testing

/// The linear autoencoder's critical points (Baldi & Hornik 1989) against the network itself:
/// each closed-form critical point, built as weights, has zero gradient, the predicted loss and
/// exactly the predicted index of its dense Hessian.
@Suite("Linear autoencoder: critical points in closed form")
struct LinearAutoencoderTests {
    static let d = 5, p = 2

    /// Gaussian data with distinct variances 3, 2, 1.3, 0.7, 0.3 along the axes (and a mean),
    /// targets = inputs; and the covariance's eigenvalues and eigenvectors (computed here in
    /// double precision from the stored floats).
    static func data() -> (data: TrainingData, mean: [Double], eigenvalues: [Double], eigenvectors: [[Double]]) {
        let scales = [3.0, 2.0, 1.3, 0.7, 0.3].map { $0.squareRoot() }
        var stream = RandomStream(seed: 11, trial: 0, purpose: .testing)
        let count = 400
        var x: [Float] = []
        for _ in 0..<count { for k in 0..<d { x.append(Float(scales[k] * stream.nextGaussian() + 0.5)) } }
        let train = Dataset(name: "autoencoder", contentSHA256: "autoencoder", count: count, featureCount: d, features: x, targets: .values(x, width: d))
        let test = Dataset(name: "autoencoder-test", contentSHA256: "autoencoder", count: 1, featureCount: d, features: Array(x[0..<d]), targets: .values(Array(x[0..<d]), width: d))
        let mean = (0..<d).map { k in (0..<count).reduce(0.0) { $0 + Double(x[$1 * d + k]) } / Double(count) }
        var covariance = [Double](repeating: 0, count: d * d)
        for n in 0..<count {
            for a in 0..<d { for b in 0..<d { covariance[a * d + b] += (Double(x[n * d + a]) - mean[a]) * (Double(x[n * d + b]) - mean[b]) / Double(count) } }
        }
        let (values, vectors) = jacobi(covariance, d)
        return (TrainingData(train: train, test: test), mean, values, vectors)
    }

    /// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations, descending.
    static func jacobi(_ matrix: [Double], _ n: Int) -> ([Double], [[Double]]) {
        var a = matrix
        var v = (0..<n * n).map { $0 / n == $0 % n ? 1.0 : 0.0 }
        for _ in 0..<100 {
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-15 {
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        return (order.map { a[$0 * n + $0] }, order.map { j in (0..<n).map { v[$0 * n + j] } })
    }

    @Test func theFormulaCountsWhatTheDerivationSays() {
        let points = LinearAutoencoderTheory.criticalPoints(eigenvalues: [3, 2, 1.3, 0.7, 0.3], hidden: 2)
        // Subsets of at most 2 of 5 directions: 1 + 5 + 10.
        #expect(points.count == 16)
        #expect(points[0] == LinearAutoencoderCriticalPoint(kept: [0, 1], loss: 0.5 * (1.3 + 0.7 + 0.3), index: 0))
        #expect(points.first { $0.kept == [1, 2] }?.index == 2)          // 0 is left out and larger than both
        #expect(points.first { $0.kept == [] }?.index == 10 && points.first { $0.kept == [] }?.loss == 0.5 * 7.3)
        #expect(points.first { $0.kept == [4] }?.index == 4 + 4)           // 4 larger ones left out; one unused unit × 4
        #expect(points.filter { $0.index == 0 }.count == 1)                 // only the global minimum is a minimum
    }

    @Test(arguments: [[0, 1], [0, 2], [1, 2], [3, 4], [0], [2], []])
    func eachClosedFormCriticalPointIsOneOfTheNetwork(kept: [Int]) throws {
        let (data, mean, eigenvalues, vectors) = Self.data()
        let network = Network(inputs: Self.d, hidden: [Self.p], classes: Self.d, activation: .linear)
        // Encoder rows and decoder columns: the kept eigenvectors; an unused unit is zero.
        var encoder = [Float](repeating: 0, count: Self.p * Self.d), decoder = [Float](repeating: 0, count: Self.d * Self.p)
        for (unit, direction) in kept.enumerated() {
            for k in 0..<Self.d {
                encoder[unit * Self.d + k] = Float(vectors[direction][k])
                decoder[k * Self.p + unit] = Float(vectors[direction][k])
            }
        }
        network.setWeights(layer: 0, encoder)
        network.setWeights(layer: 1, decoder)
        // b₁ = −W₁μ, b₂ = μ: the output is W₂W₁(x − μ) + μ.
        network.setBiases(layer: 0, (0..<Self.p).map { h in -Float((0..<Self.d).reduce(0.0) { $0 + Double(encoder[h * Self.d + $1]) * mean[$1] }) })
        network.setBiases(layer: 1, mean.map { Float($0) })
        let surface = LossSurface(network: network, dataset: data.train, samples: (0..<Int32(400)).map { $0 }, loss: .meanSquaredError)
        let theory = try #require(LinearAutoencoderTheory.criticalPoints(eigenvalues: eigenvalues, hidden: Self.p).first { $0.kept == kept })
        let loss = surface.value().loss
        #expect(abs(loss - theory.loss) <= 1e-5 * theory.loss, "loss \(loss), closed form \(theory.loss)")
        let gradient = surface.gradient()
        #expect(gradient.map { abs($0) }.max()! < 1e-4, "‖∇L‖∞ = \(gradient.map { abs($0) }.max()!)")
        var hessian = surface.denseHessian()
        let spectrum = try SymmetricEigenvalues.dense(&hessian, dimension: surface.dimension)
        let largest = spectrum.map { abs($0) }.max()!
        let index = spectrum.filter { $0 < -1e-4 * largest }.count
        #expect(index == theory.index, "index \(index), closed form \(theory.index); spectrum \(spectrum.sorted().prefix(12))")
    }
}

/// `precision: 64`: the double-precision objective agrees with the float32 kernels' (to their
/// rounding) for every activation and both losses, and its products are symmetric and agree
/// with central differences of its own gradient.
@Suite("Double-precision curvature")
struct DoublePrecisionSurfaceTests {
    static let cases: [(Activation, LossFunction)] = [.linear, .relu, .tanh, .sigmoid].flatMap { [($0, LossFunction.meanSquaredError), ($0, .softmaxCrossEntropy)] }

    @Test(arguments: cases)
    func itAgreesWithTheFloat32Surface(activation: Activation, loss: LossFunction) {
        let data = loss == .meanSquaredError ? syntheticRegressionData(samples: 120) : syntheticData(samples: 120, features: 7, classes: 3)
        let network = Network(inputs: 7, hidden: [9, 5], classes: 3, activation: activation)
        network.initialize(Initialization(scheme: .glorotUniform, scale: 1.2), seed: 3, trialIndex: 0)
        for l in network.layers.indices { network.setBiases(layer: l, randomFloats(network.layers[l].outputs, substream: UInt32(40 + l)).map { $0 * 0.2 }) }
        let samples = (0..<Int32(120)).map { $0 }
        let single = LossSurface(network: network, dataset: data.train, samples: samples, loss: loss, weightDecay: 1e-3)
        let double = DoublePrecisionSurface(network: network, dataset: data.train, samples: samples, weightDecay: 1e-3, loss: loss)
        #expect(abs(double.objective() - single.objective()) <= 1e-5 * single.objective())
        func relativeDistance(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / max(b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        }
        #expect(relativeDistance(double.gradient(), single.gradient()) < 1e-4)
        let v = randomFloats(double.dimension, substream: 50).map(Double.init), u = randomFloats(double.dimension, substream: 51).map(Double.init)
        var hv = [Double](repeating: 0, count: double.dimension), hu = hv
        v.withUnsafeBufferPointer { double.hessianVectorProduct($0.baseAddress!, into: &hv) }
        u.withUnsafeBufferPointer { double.hessianVectorProduct($0.baseAddress!, into: &hu) }
        #expect(relativeDistance(hv, single.hessianVectorProduct(v)) < 1e-3)
        // uᵀHv = vᵀHu to double precision.
        let uHv = zip(u, hv).map(*).reduce(0, +), vHu = zip(v, hu).map(*).reduce(0, +)
        #expect(abs(uHv - vHu) <= 1e-12 * max(abs(uHv), 1))
        // H v against central differences of the double gradient (h = 1e-5: error ~h²).
        let h = 1e-5
        double.savePoint()
        v.withUnsafeBufferPointer { double.moveFromSaved(by: $0.baseAddress!, scale: h) }
        let plus = double.gradient()
        v.withUnsafeBufferPointer { double.moveFromSaved(by: $0.baseAddress!, scale: -h) }
        let minus = double.gradient()
        double.restoreSaved()
        #expect(relativeDistance(hv, zip(plus, minus).map { ($0 - $1) / (2 * h) }) < 1e-7)
    }

    @Test func onlyThirtyTwoOrSixtyFourBitsAreAccepted() {
        var description = TrialDescription(seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10"), model: ModelSpec(hidden: [4], activation: .tanh, loss: .softmaxCrossEntropy),
                                           initialization: Initialization(scheme: .fanInUniform),
                                           optimizer: OptimizerSpec(kind: .newtonMR, batchSize: 10, learningRate: 0.1, settings: ["precision": 64]), stopping: StoppingRule(maxEpochs: 1))
        #expect(throws: Never.self) { try description.validate() }
        description.optimizer.settings = ["precision": 48]
        #expect { try description.validate() } throws: { ($0 as? TrialDescriptionError)?.description.contains("must be 32 or 64") == true }
        description.optimizer.kind = .newtonMRLM
        #expect { try description.validate() } throws: { ($0 as? TrialDescriptionError)?.description.contains("must be 32 or 64") == true }
    }
}
