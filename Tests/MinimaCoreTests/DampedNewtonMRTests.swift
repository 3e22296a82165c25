import Testing
@testable import MinimaCore

/// Newton-MR with a trust region (Levenberg–Marquardt on ½‖∇f‖²): the Krylov-space least-squares
/// problem against its dense solution, the closed-form problems Newton-MR is tested on, and the
/// linear autoencoder, whose every critical point is known.
@Suite("Newton-MR with a trust region")
struct DampedNewtonMRTests {
    /// Up to `count` steps, until one does not move or lands at a zero gradient.
    static func steps(_ f: Quadratic, _ count: Int, settings: DampedNewtonMR.Settings = .init()) -> [NewtonMR.Outcome] {
        var method = DampedNewtonMR(settings: settings)
        var outcomes: [NewtonMR.Outcome] = []
        for _ in 0..<count {
            outcomes.append(method.step(f, gradient: f.gradient()))
            if !outcomes.last!.moved || outcomes.last!.gradientNormAfter == 0 { break }
        }
        return outcomes
    }

    @Test func theKrylovLeastSquaresProblemIsSolvedAsTheNormalEquationsSay() {
        // T̄ (4×3) from α = (2, −1, 0.5), β = (0.7, 0.3, 0.2), right-hand side 1.5, damping 0.05:
        // y = −(T̄ᵀT̄ + μI)⁻¹ T̄ᵀ (1.5 e₁), solved here by Cramer-free Gaussian elimination.
        let model = KrylovLeastSquares(alphas: [2, -1, 0.5], betas: [0.7, 0.3, 0.2], exhausted: false, rightHandSide: 1.5)
        let t: [[Double]] = [[2, 0.7, 0], [0.7, -1, 0.3], [0, 0.3, 0.5], [0, 0, 0.2]]
        var normal = (0..<3).map { i in (0..<3).map { j in (0..<4).reduce(0.0) { $0 + t[$1][i] * t[$1][j] } + (i == j ? 0.05 : 0) } }
        var rhs = (0..<3).map { -t[0][$0] * 1.5 }
        for pivot in 0..<3 {
            for row in (pivot + 1)..<3 {
                let factor = normal[row][pivot] / normal[pivot][pivot]
                for column in 0..<3 { normal[row][column] -= factor * normal[pivot][column] }
                rhs[row] -= factor * rhs[pivot]
            }
        }
        var expected = [0.0, 0, 0]
        for row in stride(from: 2, through: 0, by: -1) {
            expected[row] = (rhs[row] - ((row + 1)..<3).reduce(0.0) { $0 + normal[row][$1] * expected[$1] }) / normal[row][row]
        }
        let solution = model.solve(damping: 0.05)
        for i in 0..<3 { #expect(abs(solution.coefficients[i] - expected[i]) < 1e-12, "y[\(i)] = \(solution.coefficients[i]), expected \(expected[i])") }
        let residual = (0..<4).map { r in (r == 0 ? 1.5 : 0) + (0..<3).reduce(0.0) { $0 + t[r][$1] * solution.coefficients[$1] } }
        #expect(abs(solution.modelValue - 0.5 * residual.reduce(0) { $0 + $1 * $1 }) < 1e-14)
    }

    @Test func onAQuadraticWithASingularHessianItEndsAtTheMinimumNormStepsPoint() {
        // As for Newton-MR: f = ½xᵀAx − bᵀx, A of rank 2 in 4 dimensions, b in A's range. The
        // damped steps only move within A's range, so they end where −A⁺∇f(x₀) leads: the
        // kernel component of x₀ is untouched.
        let lambdas = [2.0, 0, 1, 0]
        let a = rotatedDiagonal(lambdas)
        let inRange = rotatedDiagonal([1, 0, 1, 0]).map { row in zip(row, [1.0, 2, 3, 4]).reduce(0) { $0 + $1.0 * $1.1 } }
        let f = Quadratic(a, b: inRange, at: [0.3, -0.2, 0.1, 0.4])
        let start = f.point, g = f.gradient()
        let expectedEnd = rotatedDiagonal(lambdas.map { $0 == 0 ? 0 : 1 / $0 }).enumerated().map { i, row in start[i] - zip(row, g).reduce(0) { $0 + $1.0 * $1.1 } }
        let outcomes = Self.steps(f, 8)
        // Every step moves until ‖∇f‖ is at rounding level, where no step can lower it further.
        let moved = outcomes.filter(\.moved)
        #expect(moved.count >= outcomes.count - 1 && outcomes.last!.gradientNormAfter < 1e-12 * outcomes[0].gradientNormBefore)
        for i in 0..<4 { #expect(abs(f.point[i] - expectedEnd[i]) < 1e-10, "coordinate \(i): \(f.point[i]) against \(expectedEnd[i])") }
        // The damping falls as the model proves right: the last steps are Newton-MR's.
        #expect(moved.last!.damping! < 1e-4 && moved[0].damping! > moved.last!.damping!)
    }

    @Test func itConvergesToTheSaddleOfXSquaredMinusYSquared() {
        let saddle = Quadratic([[2, 0], [0, -2]], b: [0, 0], at: [0.5, 0.3])
        let outcomes = Self.steps(saddle, 10)
        #expect(outcomes.filter(\.moved).count >= outcomes.count - 1)
        #expect(abs(saddle.point[0]) < 1e-12 && abs(saddle.point[1]) < 1e-12, "attracted to the saddle: \(saddle.point)")
    }

    @Test func aGradientInTheHessiansKernelEndsGradientFlat() {
        // f = ½x² − y: ∇f = (x, −1), H = diag(1, 0); ‖∇f‖ cannot fall below 1.
        let flat = Quadratic([[1, 0], [0, 0]], b: [0, 1], at: [0.5, 0])
        let outcomes = Self.steps(flat, 6)
        let last = outcomes.last!
        #expect(abs(last.gradientNormAfter - 1) < 1e-9)
        #expect(abs(last.kernelFraction - 1) < 1e-9)
        let end = CriticalPointSearchEnd.classify(gradientNorm: last.gradientNormAfter, initialGradientNorm: outcomes[0].gradientNormBefore, tolerance: 1e-6,
                                                  hessianGradientNorm: last.hessianGradientNorm, operatorNorm: last.operatorNorm, kernelFraction: last.kernelFraction)
        #expect(end == .gradientFlat)
    }

    /// Searches from Gaussian starts on the linear autoencoder (5 inputs with variances 3, 2, 1.3,
    /// 0.7, 0.3; 2 hidden units; 64-bit curvature): the trust region carries them to critical
    /// points — Newton-MR's Armijo search stalls in most (see the README) — and every converged
    /// one is a closed-form critical point: its loss to 10⁻⁶ and its exact Hessian's index.
    @Test func searchesOnTheLinearAutoencoderEndAtItsClosedFormCriticalPoints() throws {
        let (data, _, eigenvalues, _) = LinearAutoencoderTests.data()
        let theory = LinearAutoencoderTheory.criticalPoints(eigenvalues: eigenvalues, hidden: LinearAutoencoderTests.p)
        var converged = 0, matched = 0, found = Set<[Int]>()
        let seeds = 1...8
        for seed in seeds {
            let description = TrialDescription(
                seed: UInt64(seed), trialIndex: 0, data: DataSelection(dataset: "autoencoder"),
                model: ModelSpec(hidden: [LinearAutoencoderTests.p], activation: .linear, loss: .meanSquaredError),
                initialization: Initialization(scheme: .gaussian),
                optimizer: OptimizerSpec(kind: .newtonMRLM, batchSize: 10, learningRate: 0.1, settings: ["precision": 64]),
                stopping: StoppingRule(maxEpochs: 80, relativeGradientTolerance: 1e-8),
                probes: ProbeRequest(hessian: HessianProbe(extremes: 1, density: nil, exactBelow: 100, epsilon: 1e-5)))
            let result = try Trainer.run(description, data: data)
            let search = try #require(result.search)
            guard search.end == .converged else { continue }
            converged += 1
            let loss = try #require(search.loss)
            let exact = try #require(result.probes?.hessian?.exact)
            let index = Int((exact.index * Double(result.probes!.hessian!.parameters)).rounded())
            guard let nearest = LinearAutoencoderTheory.nearest(loss: loss, among: theory) else { continue }
            if nearest.relativeDifference <= 1e-6 && nearest.point.index == index {
                matched += 1
                found.insert(nearest.point.kept)
            } else {
                Issue.record("seed \(seed): loss \(loss), index \(index); nearest closed form \(nearest.point) at relative \(nearest.relativeDifference)")
            }
        }
        #expect(converged >= 7, "\(converged) of \(seeds.count) converged")
        #expect(matched == converged)
        #expect(found.count >= 2, "the searches find more than one critical point: \(found)")
    }

    @Test(arguments: [("maxit", 0.0), ("maxit", 1001), ("maxit", 2.5), ("maxit", .nan), ("tau", 0), ("tau", -1), ("tau", .nan), ("tau", .infinity), ("precision", 48)])
    func aHostileSettingIsRefusedByName(name: String, value: Double) {
        var description = NewtonMROnNetworksTests.search()
        description.optimizer.kind = .newtonMRLM
        description.optimizer.settings = [name: value]
        #expect { try description.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "optimizer.settings.\(name)" }
    }

    @Test func theSameDescriptionGivesTheSameBits() throws {
        var description = NewtonMROnNetworksTests.search()
        description.optimizer.kind = .newtonMRLM
        description.optimizer.settings = ["maxit": 40]
        description.stopping.maxEpochs = 6
        let data = syntheticData(features: 20)
        let first = try Trainer.run(description, data: data), second = try Trainer.run(description, data: data)
        #expect(first.deterministicFingerprint == second.deterministicFingerprint)
        #expect(first.search != nil && first.epochs > 0)
    }
}
