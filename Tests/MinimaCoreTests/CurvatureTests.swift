import Dispatch
import Foundation
import MinimaCore
import Synchronization
import Testing

@Suite("Hessian-vector products")
struct HessianVectorProductTests {
    /// Every activation × loss × depth: no hidden layer, one (7→20→3: both layers input-major)
    /// and two (7→20→5→3: the 20→5 layer output-major).
    static let cases: [(Activation, Objective, [Int])] = Activation.allCases.flatMap { activation in
        Objective.allCases.flatMap { objective in [(activation, objective, []), (activation, objective, [20]), (activation, objective, [20, 5])] }
    }

    static func surface(_ activation: Activation, _ objective: Objective, hidden: [Int], weightDecay: Double = 0) -> LossSurface {
        let data = objective.data(samples: 300), loss = objective.loss
        let network = Network(inputs: 7, hidden: hidden, classes: 3, activation: activation)
        network.initialize(Initialization(scheme: .glorotUniform, scale: 1.5), seed: 5, trialIndex: 0)
        for l in network.layers.indices {
            network.setBiases(layer: l, randomFloats(network.layers[l].outputs, substream: UInt32(20 + l)).map { $0 * 0.3 })
        }
        return LossSurface(network: network, dataset: data.train, samples: (0..<Int32(300)).map { $0 }, loss: loss,
                           weightDecay: weightDecay, blockSize: 64)
    }

    @Test(arguments: cases)
    func productsMatchCentralDifferencesOfGradients(activation: Activation, objective: Objective, hidden: [Int]) {
        let surface = Self.surface(activation, objective, hidden: hidden, weightDecay: 1e-3)
        let parameters = surface.network.canonicalParameters()
        /// ‖(∇L(θ + hv) − ∇L(θ − hv))/2h − Hv‖.
        func differenceError(_ v: [Double], _ product: [Double], step h: Float) -> Double {
            surface.network.setCanonicalParameters(zip(parameters, v).map { $0 + h * Float($1) })
            let up = surface.gradient()
            surface.network.setCanonicalParameters(zip(parameters, v).map { $0 - h * Float($1) })
            let down = surface.gradient()
            surface.network.setCanonicalParameters(parameters)
            return zip(zip(up, down), product).map { pair, p in let d = (pair.0 - pair.1) / (2 * Double(h)) - p; return d * d }.reduce(0, +).squareRoot()
        }
        // ReLU's gradient jumps where a pre-activation crosses zero: a small step makes a crossing
        // unlikely, and a crossing shows itself by an error that changes with h — it vanishes at
        // h/2 (the crossing is no longer inside the step) or grows as 1/h — while a wrong
        // product's error does not depend on h.
        // (Real-valued targets leave larger residuals, so larger jumps: a smaller step there.)
        let h: Float = activation == .relu ? (objective == .squaredErrorOnValues ? 1e-5 : 1e-4) : 1e-2
        let allowed = activation == .relu ? 2e-2 : 5e-3
        for direction in 0..<4 {
            let v = randomFloats(parameters.count, substream: UInt32(100 + direction)).map(Double.init)
            let product = surface.hessianVectorProduct(v)
            let size = product.map { $0 * $0 }.reduce(0, +).squareRoot()
            let error = differenceError(v, product, step: h)
            if error <= allowed * max(size, 1e-3) { continue }
            let halfStepError = differenceError(v, product, step: h / 2)
            let crossesAKink = activation == .relu && (halfStepError <= allowed * max(size, 1e-3) || halfStepError > 1.5 * error)
            #expect(crossesAKink, "direction \(direction): ‖FD − Hv‖ = \(error) (\(halfStepError) at h/2), ‖Hv‖ = \(size)")
        }
    }

    @Test(arguments: cases)
    func denseHessianIsSymmetric(activation: Activation, objective: Objective, hidden: [Int]) {
        // Exact products give a symmetric matrix; a wrong R-pass almost never does.
        let surface = Self.surface(activation, objective, hidden: hidden)
        let n = surface.dimension
        var columns: [[Double]] = []
        for j in 0..<n {
            var unit = [Double](repeating: 0, count: n)
            unit[j] = 1
            columns.append(surface.hessianVectorProduct(unit))
        }
        var worst = 0.0, scale = 0.0
        for i in 0..<n { for j in 0..<n { worst = max(worst, abs(columns[j][i] - columns[i][j])); scale = max(scale, abs(columns[j][i])) } }
        #expect(worst <= 1e-5 * scale, "largest asymmetry \(worst) against largest entry \(scale)")
    }

    @Test func productsAreLinearInTheDirection() {
        let surface = Self.surface(.tanh, .crossEntropy, hidden: [20, 5])
        let a = randomFloats(surface.dimension, substream: 7).map(Double.init), b = randomFloats(surface.dimension, substream: 8).map(Double.init)
        let sum = surface.hessianVectorProduct(zip(a, b).map { $0 + $1 })
        let parts = zip(surface.hessianVectorProduct(a), surface.hessianVectorProduct(b)).map { $0 + $1 }
        let error = zip(sum, parts).map { abs($0 - $1) }.max()!, size = sum.map(abs).max()!
        #expect(error <= 1e-5 * size)
    }
}

@Suite("Symmetric eigenvalues")
struct SymmetricEigenvalueTests {
    @Test func tridiagonalLaplacianHasItsKnownSpectrum() throws {
        let n = 50
        let (values, _) = try SymmetricEigenvalues.tridiagonal(diagonal: [Double](repeating: 2, count: n), offDiagonal: [Double](repeating: -1, count: n - 1))
        let expected = (1...n).map { 2 - 2 * cos(Double($0) * .pi / Double(n + 1)) }.sorted()
        #expect(zip(values, expected).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func denseMatrixWithKnownSpectrum() throws {
        // Q diag(λ) Qᵀ with Q a product of Householder reflections.
        let n = 60
        let lambdas = (0..<n).map { Double($0) - 20.5 }
        var matrix = [Double](repeating: 0, count: n * n)
        for i in 0..<n { matrix[i * n + i] = lambdas[i] }
        for r in 0..<3 {
            let u = randomFloats(n, substream: UInt32(40 + r)).map(Double.init)
            let norm2 = u.map { $0 * $0 }.reduce(0, +)
            // A ← (I − 2uuᵀ/‖u‖²) A (I − 2uuᵀ/‖u‖²)
            var reflected = matrix
            let au = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + matrix[i * n + $1] * u[$1] } }
            let uau = zip(u, au).map(*).reduce(0, +)
            for i in 0..<n { for j in 0..<n {
                reflected[i * n + j] = matrix[i * n + j] - 2 * (au[i] * u[j] + u[i] * au[j]) / norm2 + 4 * uau * u[i] * u[j] / (norm2 * norm2)
            } }
            matrix = reflected
        }
        let values = try SymmetricEigenvalues.dense(&matrix, dimension: n)
        #expect(zip(values, lambdas).allSatisfy { abs($0 - $1) < 1e-9 }, "\(values.prefix(4))")
    }
}

@Suite("End-point probes")
struct ProbeTests {
    /// 20 → 40 → 4, 1,004 parameters, trained a little so the end point is not the start.
    static func description(_ activation: Activation, loss: LossFunction = .softmaxCrossEntropy, index: UInt64 = 0,
                            hessian: HessianProbe? = HessianProbe(extremes: 5, density: DensityProbe(probes: 16, steps: 80), exactBelow: 3000),
                            paths: PathProbe? = nil) -> TrialDescription {
        var description = trial(index: index, hidden: [40], activation: activation, loss: loss, batch: 20, lr: 0.05, epochs: 2)
        description.probes = ProbeRequest(samples: 400, hessian: hessian, paths: paths)
        return description
    }

    static func denseSpectrum(_ description: TrialDescription, data: TrainingData) throws -> [Double] {
        // The same end point, trained again, its Hessian built densely here.
        var plain = description
        plain.probes = nil
        let (_, parameters) = try Trainer.run(plain, data: data, keepingParameters: true)
        let network = Network(inputs: 20, hidden: description.model.hidden, classes: 4, activation: description.model.activation)
        for l in network.layers.indices {
            network.setWeights(layer: l, parameters!.final.weights[l])
            network.setBiases(layer: l, parameters!.final.biases[l])
        }
        let split = try SampleSplit(selection: description.data, seed: description.seed, trialIndex: description.trialIndex,
                                    trainingCount: data.train.count, testCount: data.test.count)
        let surface = LossSurface(network: network, dataset: data.train, samples: Array(split.training.prefix(400)), loss: description.model.loss)
        var matrix = surface.denseHessian()
        return try SymmetricEigenvalues.dense(&matrix, dimension: surface.dimension)
    }

    @Test(arguments: [Activation.tanh, .relu, .sigmoid])
    func lanczosExtremesMatchTheDenseSpectrum(activation: Activation) throws {
        let data = syntheticData(features: 20)
        let description = Self.description(activation)
        let hessian = try #require(try Trainer.run(description, data: data).probes?.hessian)
        let exact = try Self.denseSpectrum(description, data: data)
        #expect(hessian.parameters == exact.count && exact.count == 1004)
        let scale = exact.map(abs).max()!
        for (k, estimate) in hessian.largest.enumerated() {
            let truth = exact[exact.count - 1 - k]
            #expect(abs(estimate.value - truth) <= 1e-4 * scale, "λ_max-\(k): Lanczos \(estimate.value), dense \(truth)")
        }
        for (k, estimate) in hessian.smallest.enumerated() {
            #expect(abs(estimate.value - exact[k]) <= 1e-4 * scale, "λ_min+\(k): Lanczos \(estimate.value), dense \(exact[k])")
        }
        #expect(abs(hessian.exact!.maximum - exact.last!) <= 1e-9 * scale)
    }

    @Test(arguments: [Activation.tanh, .relu, .sigmoid, .linear])
    func quadratureIndexMatchesTheExactIndex(activation: Activation) throws {
        let data = syntheticData(features: 20)
        let hessian = try #require(try Trainer.run(Self.description(activation), data: data).probes?.hessian)
        let estimate = try #require(hessian.index), exact = try #require(hessian.exact)
        #expect(abs(estimate.value - exact.index) <= 0.02, "SLQ \(estimate.value) ± \(estimate.standardError), exact \(exact.index)")
    }

    @Test func probesAreBitIdenticalAcrossRunsAndThreads() throws {
        let data = syntheticData(features: 20)
        let descriptions = (0..<4).map { Self.description(.tanh, index: UInt64($0), paths: PathProbe(points: 5, initToEnd: true, partner: UInt64($0 + 4))) }
        let sequential = try descriptions.map { try Trainer.run($0, data: data).deterministicFingerprint }
        let concurrent = Mutex([TrialResult?](repeating: nil, count: descriptions.count))
        DispatchQueue.concurrentPerform(iterations: descriptions.count) { i in
            let result = try! Trainer.run(descriptions[descriptions.count - 1 - i], data: data)
            concurrent.withLock { $0[descriptions.count - 1 - i] = result.deterministicFingerprint }
        }
        #expect(sequential == concurrent.withLock { $0.map { $0! } })
        #expect(sequential.allSatisfy { $0.probes?.hessian?.index != nil && $0.probes?.paths?.toPartner != nil })
    }

    @Test func pathsRunFromTheStartToTheEndAndToThePartner() throws {
        let data = syntheticData(features: 20)
        let description = Self.description(.relu, hessian: nil, paths: PathProbe(points: 11, initToEnd: true, partner: 1))
        let result = try Trainer.run(description, data: data)
        let paths = try #require(result.probes?.paths)
        let start = try #require(paths.initToEnd), partner = try #require(paths.toPartner)
        #expect(start.losses.count == 11 && partner.profile.losses.count == 11)
        #expect(start.losses.last == result.probes!.loss, "t = 1 is the end point")
        #expect(partner.profile.losses.first == result.probes!.loss, "t = 0 is the end point")
        #expect(start.losses.first! > start.losses.last!, "training lowered the loss")
        var partnerDescription = description
        partnerDescription.trialIndex = 1
        partnerDescription.probes = nil
        #expect(partner.partnerParametersSHA256 == (try Trainer.run(partnerDescription, data: data)).parametersSHA256)
        #expect(partner.profile.barrier >= 0 && start.barrier >= 0)
    }

    @Test func impossibleProbeSettingsNameTheirField() {
        var description = trial()
        description.probes = ProbeRequest(hessian: HessianProbe(extremes: 0))
        #expect(throws: TrialDescriptionError(field: "probes.hessian.extremes", problem: "must be in 1...1000, got 0")) { try description.validate() }
        description.probes = ProbeRequest(paths: PathProbe(points: 1))
        #expect(throws: TrialDescriptionError(field: "probes.paths.points", problem: "must be in 2...10000, got 1")) { try description.validate() }
        description.probes = ProbeRequest(paths: PathProbe(partner: 0))
        #expect((try? description.validate()) == nil)
        // Values nobody would write.
        for (request, field) in [
            (ProbeRequest(hessian: HessianProbe(epsilon: .nan)), "probes.hessian.epsilon"),
            (ProbeRequest(hessian: HessianProbe(tolerance: -.infinity)), "probes.hessian.tolerance"),
            (ProbeRequest(hessian: HessianProbe(maximumSteps: Int.max)), "probes.hessian.maximumSteps"),
            (ProbeRequest(hessian: HessianProbe(exactBelow: 1 << 40)), "probes.hessian.exactBelow"),
            (ProbeRequest(hessian: HessianProbe(density: DensityProbe(probes: -3))), "probes.hessian.density.probes"),
            (ProbeRequest(samples: -1), "probes.samples"),
            (ProbeRequest(paths: PathProbe(points: Int.min)), "probes.paths.points"),
        ] {
            description.probes = request
            #expect { try description.validate() } throws: { ($0 as? TrialDescriptionError)?.field == field }
        }
    }
}
