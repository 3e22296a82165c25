import MinimaCore
import MinimaExperiment
import Testing

/// `optimizer.variants`: optimizers side by side, each with its own learning-rate grid, momentum,
/// Krylov settings, own settings and epoch budget.
@Suite("Optimizer variants")
struct OptimizerVariantsTests {
    static func spec(variants: String, extra: String = "") -> String {
        """
        name: compare
        restarts: 2
        data: {dataset: mnist10, training-samples: 100}
        model: {layers: [[5], [3, 3]]}
        optimizer:
          batch-size: 10
          weight-decay: 0.001
        \(extra)
          variants:
        \(variants)
        stopping: {epochs: 50, target-loss: 0.1}
        curve: {}
        report: {targets: [1, 0.5, 0.1]}
        """
    }

    static let comparison = """
            - {name: sgd, kind: sgd, learning-rate: [0.01, 0.1]}
            - {name: heavy ball, kind: sgd, momentum: 0.9, nesterov: true, learning-rate: 0.01}
            - {kind: adam, learning-rate: [0.001, 0.003, 0.01], beta2: 0.99}
            - {name: sfn, kind: saddle-free-newton, epochs: 8, krylov: {dimension: 7, damping: [0.1, 1]}}
        """

    @Test func eachVariantIsSweptWithItsOwnLearningRatesWithinEachArchitecture() throws {
        let spec = try parse(Self.spec(variants: Self.comparison))
        let points = spec.sweepPoints
        // (2 + 1 + 3 + 1) variant settings × 2 architectures.
        #expect(points.count == 14 && spec.trialCount == 28)
        let first = points.prefix(7)
        #expect(first.map(\.variantName) == ["sgd", "sgd", "heavy ball", "adam", "adam", "adam", "sfn"])
        #expect(first.map(\.learningRate) == [0.01, 0.1, 0.01, 0.001, 0.003, 0.01, 1])
        #expect(first.map(\.optimizer) == [nil, nil, nil, .adam, .adam, .adam, .saddleFreeNewton])
        #expect(points[2].momentum == 0.9 && points[2].nesterov && points[0].momentum == 0)
        #expect(first.map(\.epochs) == [50, 50, 50, 50, 50, 50, 8], "the Newton variant's own step budget")
        #expect(points.allSatisfy { $0.weightDecay == 0.001 && $0.batchSize == 10 })
        #expect(NetworkKind.label(of: points[4], varying: spec.varyingDimensions) == "n1 = 5, adam lr 0.003")
        #expect(spec.report.targets == [1, 0.5, 0.1])
    }

    @Test func eachTrialGetsItsVariantsKrylovAndOwnSettings() throws {
        let spec = try parse(Self.spec(variants: Self.comparison))
        let points = spec.sweepPoints
        let adam = spec.trialDescription(3, point: points[3], datasetSHA256: nil)
        #expect(adam.optimizer.kind == .adam && adam.optimizer.settings == ["beta2": 0.99] && adam.optimizer.krylov == nil)
        let newton = spec.trialDescription(6, point: points[6], datasetSHA256: nil)
        #expect(newton.optimizer.kind == .saddleFreeNewton && newton.optimizer.krylov?.dimension == 7 && newton.optimizer.krylov?.damping == [0.1, 1])
        #expect(newton.stopping.maxEpochs == 8 && newton.stopping.targetLoss == 0.1)
        let sgd = spec.trialDescription(0, point: points[0], datasetSHA256: nil)
        #expect(sgd.optimizer.kind == .sgd && sgd.optimizer.settings == nil || sgd.optimizer.settings == [:])
        #expect(throws: Never.self) { try newton.validate(); try adam.validate() }
    }

    @Test(arguments: [
        ("    - {kind: saddle-free-newton, learning-rate: 0.1}", "optimizer.variants[0].learning-rate", "takes no learning rate"),
        ("    - {kind: adam, learning-rate: 0.1, momentum: 0.9}", "optimizer.variants[0].momentum", "takes no momentum"),
        ("    - {kind: sgd, learning-rate: 0.1}\n    - {kind: sgd, learning-rate: 0.3}", "optimizer.variants[1].name", "names another variant"),
        ("    - {kind: sgd, learning-rate: 0.1, krylov: {dimension: 5}}", "optimizer.variants[0].krylov", "only newton and saddle-free-newton"),
        ("    - {learning-rate: 0.1}", "optimizer.variants[0].kind", "required"),
        ("    - {kind: sgd}", "optimizer.variants[0].learning-rate", "required"),
        ("    - {kind: sgd, learning-rate: 0.1, beta2: 0.9}", "optimizer.variants[0].beta2", "only adam"),
        ("    - {kind: rmsprop, learning-rate: 0.1}", "optimizer.variants[0].kind", "rmsprop"),
    ])
    func aBadVariantIsRefusedByName(variants: String, field: String, problem: String) throws {
        let found = try #require(error(of: Self.spec(variants: variants)))
        #expect(found.description.contains(field) && found.description.contains(problem), "\(found)")
    }

    @Test(arguments: [
        ("    - {kind: sgd, learning-rate: 0.1, epochs: 0}", "optimizer.variants[0].epochs", "positive integer"),
        ("    - {kind: sgd, learning-rate: 0.1, epochs: 100000000000}", "optimizer.variants[0].epochs", "at most 1000000"),
        ("    - {kind: sgd, learning-rate: -0.1}", "optimizer.variants[0].learning-rate", "> 0"),
        ("    - {kind: sgd, learning-rate: .nan}", "optimizer.variants[0].learning-rate", ".nan"),
        ("    - {name: '\(String(repeating: "x", count: 61))', kind: sgd, learning-rate: 0.1}", "optimizer.variants[0].name", "1 to 60"),
        ("    - {name: [a], kind: sgd, learning-rate: 0.1}", "optimizer.variants[0].name", "short name"),
        ("    - {kind: newton-mr-lm, maxit: 1001}", "optimizer.variants[0].maxit", "1001"),
        ("    - {kind: newton-mr-lm, tau: -1}", "optimizer.variants[0].tau", "-1"),
        ("    - sgd", "optimizer.variants[0]", "mapping"),
    ])
    func aHostileVariantValueIsRefusedByName(variants: String, field: String, problem: String) throws {
        let found = try #require(error(of: Self.spec(variants: variants)))
        #expect(found.description.contains(field) && found.description.contains(problem), "\(found)")
    }

    @Test func tooManyVariantsAreRefused() throws {
        let many = (0..<65).map { "    - {name: v\($0), kind: sgd, learning-rate: 0.1}" }.joined(separator: "\n")
        let found = try #require(error(of: Self.spec(variants: many)))
        #expect(found.description.contains("at most 64 variants"), "\(found)")
    }

    @Test(arguments: [("[-1]", "report.targets[0]"), ("[.nan]", "report.targets[0]"), ("[]", "report.targets"),
                      ("{a: 1}", "report.targets"), ("[\((0..<17).map { _ in "0.1" }.joined(separator: ", "))]", "report.targets")])
    func hostileTargetsAreRefusedByName(targets: String, field: String) throws {
        let yaml = Self.spec(variants: "    - {kind: sgd, learning-rate: 0.1}").replacingOccurrences(of: "report: {targets: [1, 0.5, 0.1]}", with: "report: {targets: \(targets)}")
        let found = try #require(error(of: yaml))
        #expect(found.description.contains(field), "\(found)")
    }

    @Test func theSweepKeysMoveIntoTheVariants() throws {
        let found = try #require(error(of: Self.spec(variants: "    - {kind: sgd, learning-rate: 0.1}", extra: "  learning-rate: 0.1")))
        #expect(found.description.contains("optimizer.learning-rate") && found.description.contains("move it into the variants"), "\(found)")
        let noCurve = try #require(error(of: Self.spec(variants: "    - {kind: sgd, learning-rate: 0.1}").replacingOccurrences(of: "curve: {}\n", with: "")))
        #expect(noCurve.description.contains("report.targets") && noCurve.description.contains("curve"), "\(noCurve)")
    }

    @Test func aSpecWithoutVariantsKeepsItsCanonicalForm() throws {
        let spec = try parse(minimalSpec)
        #expect(spec.optimizer.variants == nil && spec.report.targets == nil)
        #expect(spec.sweepPoints.allSatisfy { $0.variant == nil && $0.variantName == nil })
    }
}
