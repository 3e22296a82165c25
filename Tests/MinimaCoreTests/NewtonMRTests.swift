import Testing
@testable import MinimaCore

/// A symmetric matrix Q diag(λ) Qᵀ with a fixed orthogonal Q (a product of reflections), so that
/// nothing about the tests' systems is aligned with the coordinates.
func rotatedDiagonal(_ lambdas: [Double]) -> [[Double]] {
    let n = lambdas.count
    var q = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for r in 0..<3 {
        let u = (0..<n).map { Double(($0 * 7 + r * 3) % 5) - 1.7 }
        let norm2 = u.reduce(0) { $0 + $1 * $1 }
        q = q.map { row in
            let dot = zip(row, u).reduce(0) { $0 + $1.0 * $1.1 }
            return zip(row, u).map { $0 - 2 * dot / norm2 * $1 }
        }
    }
    return (0..<n).map { i in (0..<n).map { j in (0..<n).reduce(0) { $0 + q[i][$1] * lambdas[$1] * q[j][$1] } } }
}

func solveMinres(_ a: [[Double]], _ b: [Double], settings: MinresQLP.Settings = MinresQLP.Settings(maximumIterations: 100)) -> MinresQLP.Solution {
    MinresQLP.solve(b, settings: settings) { input, output in
        for i in a.indices { output[i] = a[i].indices.reduce(0) { $0 + a[i][$1] * input[$1] } }
    }
}

@Suite("MINRES-QLP")
struct MinresQLPTests {
    @Test func aSingularInconsistentSystemGetsTheMinimumLengthLeastSquaresSolution() {
        // diag(1, 2, 3, 0) x = 1: no solution; the least-squares solutions are (1, ½, ⅓, t) and
        // the shortest has t = 0 (MINRES alone may return any t).
        let solution = solveMinres([[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]], [1, 1, 1, 1])
        #expect(solution.ending == .leastSquares)
        for (value, expected) in zip(solution.x, [1, 0.5, 1.0 / 3, 0]) { #expect(abs(value - expected) < 1e-12, "\(solution.x)") }
        let residual = zip([1.0, 2, 3, 0], solution.x).map { $0 * $1 - 1 }
        #expect(abs(residual.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-12, "the residual is the kernel's share of b")
    }

    @Test func anIndefiniteSingularSystemInRotatedCoordinatesGetsThePseudoinverseSolution() {
        let lambdas = [3.0, -2.0, 0.5, 0, 0, -1.0]
        let a = rotatedDiagonal(lambdas)
        let b = [1.0, -2.0, 0.5, 3.0, 0.25, -1.0]
        // The pseudoinverse's solution, in closed form: Q diag(1/λ or 0) Qᵀ b.
        let pseudoinverse = rotatedDiagonal(lambdas.map { $0 == 0 ? 0 : 1 / $0 })
        let expected = pseudoinverse.map { row in zip(row, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let solution = solveMinres(a, b)
        #expect(solution.ending == .leastSquares)
        for (value, truth) in zip(solution.x, expected) { #expect(abs(value - truth) < 1e-9, "\(solution.x) vs \(expected)") }
    }

    @Test func aNonsingularIndefiniteSystemIsSolved() {
        let a = rotatedDiagonal([4, -3, 2, -1, 0.5])
        let b = [1.0, 2, 3, 4, 5]
        let solution = solveMinres(a, b)
        #expect(solution.ending == .solved)
        let residual = a.indices.map { i in zip(a[i], solution.x).reduce(0) { $0 + $1.0 * $1.1 } - b[i] }
        #expect(residual.allSatisfy { abs($0) < 1e-9 }, "\(residual)")
        #expect(solution.iterations <= 5)
    }

    @Test func aZeroRightHandSideIsAnswered() {
        #expect(solveMinres([[1]], [0]).ending == .zeroRightHandSide)
    }
}

@Suite("Newton-MR")
struct NewtonMRTests {
    @Test func theStepOnAQuadraticWithASingularHessianIsTheMinimumNormStep() {
        // f = ½xᵀAx − bᵀx with A of rank 2 in 4 dimensions and b in A's range: the Newton step
        // from x₀ is −A⁺∇f(x₀), which lands on the minimizer closest to x₀ in A's range — the
        // kernel component of x₀ is untouched.
        let lambdas = [2.0, 0, 1, 0]
        let a = rotatedDiagonal(lambdas)
        let inRange = rotatedDiagonal([1, 0, 1, 0]).map { row in zip(row, [1.0, 2, 3, 4]).reduce(0) { $0 + $1.0 * $1.1 } }
        let f = Quadratic(a, b: inRange, at: [0.3, -0.2, 0.1, 0.4])
        let start = f.point
        let g = f.gradient()
        let step = NewtonMR().step(f, gradient: g)
        #expect(step.moved && step.stepSize == 1)
        #expect(step.gradientNormAfter < 1e-10 * step.gradientNormBefore)
        let expectedStep = rotatedDiagonal(lambdas.map { $0 == 0 ? 0 : 1 / $0 }).map { row in -zip(row, g).reduce(0) { $0 + $1.0 * $1.1 } }
        for i in 0..<4 { #expect(abs((f.point[i] - start[i]) - expectedStep[i]) < 1e-10, "coordinate \(i)") }
        #expect(step.kernelFraction < 1e-20, "g is in A's range")
    }

    @Test func itConvergesToTheSaddleOfXSquaredMinusYSquared() {
        let saddle = Quadratic([[2, 0], [0, -2]], b: [0, 0], at: [0.5, 0.3])
        let step = NewtonMR().step(saddle, gradient: saddle.gradient())
        #expect(step.moved)
        #expect(abs(saddle.point[0]) < 1e-12 && abs(saddle.point[1]) < 1e-12, "Newton-MR is attracted to the saddle: \(saddle.point)")
    }

    @Test func aGradientInTheHessiansKernelCannotBeLowered() {
        // f = ½x² − y: ∇f = (x, −1), H = diag(1, 0). The −1 lies in H's kernel: no step lowers
        // ‖∇f‖ below 1, and the search is gradient-flat.
        let flat = Quadratic([[1, 0], [0, 0]], b: [0, 1], at: [0.5, 0])
        let first = NewtonMR().step(flat, gradient: flat.gradient())
        #expect(first.moved && abs(first.gradientNormAfter - 1) < 1e-12)
        let second = NewtonMR().step(flat, gradient: flat.gradient())
        #expect(!second.moved)
        #expect(abs(second.kernelFraction - 1) < 1e-12)
        let end = CriticalPointSearchEnd.classify(gradientNorm: second.gradientNormAfter, initialGradientNorm: first.gradientNormBefore, tolerance: 1e-6,
                                                  hessianGradientNorm: second.hessianGradientNorm, operatorNorm: second.operatorNorm,
                                                  kernelFraction: second.kernelFraction)
        #expect(end == .gradientFlat)
    }

    @Test func searchEndsAreClassifiedFromTheirLastMeasurements() {
        let classify = { (g: Double, hg: Double, kernel: Double) in
            CriticalPointSearchEnd.classify(gradientNorm: g, initialGradientNorm: 1, tolerance: 1e-6, hessianGradientNorm: hg, operatorNorm: 10, kernelFraction: kernel)
        }
        #expect(classify(1e-7, 1e-7, 0) == .converged)
        #expect(classify(1e-2, 1e-6, 0.1) == .gradientFlat, "‖Hg‖ ≤ 10⁻³‖H‖‖g‖")
        #expect(classify(1e-2, 1, 0.9) == .gradientFlat, "most of g in the near-kernel")
        #expect(classify(1e-2, 1, 0.1) == .stalled)
    }
}

@Suite("Newton-MR on networks")
struct NewtonMROnNetworksTests {
    /// The Krylov Newton search's problem (20 → 6 → 4, 154 parameters, 200 samples, weight decay
    /// 10⁻³, one SGD epoch first), with Newton-MR.
    static func search(warmEpochs: Int = 1) -> TrialDescription {
        var description = OptimizerTests.criticalPointSearch(warmEpochs: warmEpochs, method: .newtonMR)
        description.optimizer.krylov = nil
        description.optimizer.settings = ["maxit": 200]
        description.probes = nil
        return description
    }

    @Test func itFindsACriticalPointAndSaysHowItsSearchEnded() throws {
        let result = try Trainer.run(Self.search(), data: syntheticData(features: 20))
        let search = try #require(result.search)
        let relative = try #require(result.relativeGradientNorm)
        #expect(result.status == .completed)
        if search.end == .converged {
            #expect(relative <= 1e-6 && result.stopReason == .relativeGradientTolerance, "‖∇L‖/‖∇L₀‖ = \(relative)")
        } else {
            Issue.record("Newton-MR ended \(search.end.rawValue) at ‖∇L‖/‖∇L₀‖ = \(relative) after \(result.epochs) steps (kernel fraction \(search.kernelFraction))")
        }
    }

    @Test func theSameDescriptionGivesTheSameBits() throws {
        let data = syntheticData(features: 20)
        let first = try Trainer.run(Self.search(), data: data), second = try Trainer.run(Self.search(), data: data)
        #expect(first.deterministicFingerprint == second.deterministicFingerprint)
    }
}

@Suite("Subsampled curvature")
struct SubsampledCurvatureTests {
    @Test func theSubsetIsDrawnWithoutReplacementFromTheTrialsStreamInOrder() {
        let samples = (0..<1000).map { Int32($0 * 3) }
        var first = RandomStream(seed: 1, trial: 2, purpose: .curvatureSamples), again = RandomStream(seed: 1, trial: 2, purpose: .curvatureSamples)
        let subset = SubsampledCurvature.subset(of: samples, count: 100, stream: &first)
        #expect(subset == SubsampledCurvature.subset(of: samples, count: 100, stream: &again))
        #expect(subset.count == 100 && Set(subset).count == 100 && subset == subset.sorted() && subset.allSatisfy { $0 % 3 == 0 })
        var other = RandomStream(seed: 1, trial: 3, purpose: .curvatureSamples)
        #expect(SubsampledCurvature.subset(of: samples, count: 100, stream: &other) != subset)
    }

    @Test func productsAreTheSubsetsAndEverythingElseTheFullObjectives() throws {
        let data = syntheticData(features: 20)
        let network = Network(inputs: 20, hidden: [6], classes: 4, activation: .tanh)
        let all = (0..<Int32(200)).map { $0 }, some = Array(all.prefix(50))
        let full = LossSurface(network: network, dataset: data.train, samples: all, loss: .softmaxCrossEntropy, weightDecay: 1e-3)
        let alone = LossSurface(network: network, dataset: data.train, samples: some, loss: .softmaxCrossEntropy, weightDecay: 1e-3)
        let subsampled = SubsampledCurvature(full: full, curvatureSamples: some)
        let v = (0..<full.dimension).map { Double($0 % 7) - 3 }
        var product = [Double](repeating: 0, count: v.count)
        v.withUnsafeBufferPointer { input in product.withUnsafeMutableBufferPointer { subsampled.hessianVectorProduct(input.baseAddress!, into: $0.baseAddress!) } }
        #expect(product == alone.hessianVectorProduct(v))
        #expect(subsampled.gradient() == full.gradient() && subsampled.objective() == full.objective())
    }

    @Test func aNewtonSearchWithATenthOfTheCurvatureSamplesRunsAndIsDeterministic() throws {
        var description = OptimizerTests.criticalPointSearch(method: .saddleFreeNewton)
        description.optimizer.krylov = KrylovSettings(dimension: 20, curvatureSamples: 20, resampleCurvature: true)
        description.probes = nil
        description.stopping.maxEpochs = 10
        let data = syntheticData(features: 20)
        let first = try Trainer.run(description, data: data), second = try Trainer.run(description, data: data)
        #expect(first.status == .completed && first.epochs > 0)
        #expect(first.deterministicFingerprint == second.deterministicFingerprint)
        #expect(first.train.loss < 1.386, "saddle-free Newton lowers the loss from the start with a tenth of the curvature")
    }
}
