import Foundation
import MinimaCore
@testable import MinimaExperiment
import MinimaProtocol
import Testing

let minimalSpec = """
name: tiny
restarts: 3
model:
  width: [5, 10]
optimizer:
  learning-rate: 0.1
stopping:
  epochs: 2
"""

func parse(_ yaml: String) throws -> ExperimentSpec { try SpecParser.parse(yaml: yaml, file: "spec.yaml") }

func error(of yaml: String) -> SpecError? {
    do { _ = try SpecParser.parse(yaml: yaml, file: "spec.yaml"); return nil } catch { return error }
}

@Suite("Experiment specs")
struct SpecTests {
    @Test func aMinimalSpecGetsTheDefaults() throws {
        let spec = try parse(minimalSpec)
        #expect(spec.name == "tiny" && spec.seed == 0 && spec.restarts == 3)
        #expect(spec.data.dataset == "mnist10" && spec.data.trainingSamples == nil && spec.data.sampling == .first)
        #expect(spec.model.architectures == [[5], [10]])
        #expect(spec.model.activation == [.relu] && spec.model.loss == [.softmaxCrossEntropy])
        #expect(spec.initialization.scheme == [.fanInUniform] && spec.optimizer.batchSize == [10])
        #expect(spec.schedule.kind == .constant && spec.report.epsilon == 0.01)
        #expect(spec.trialCount == 6)
    }

    @Test func everyListIsASweepDimensionAndTheSweepIsTheirProduct() throws {
        let spec = try parse("""
            name: grid
            restarts: 2
            model: {width: [5, 10, 20], hidden-layers: [1, 2], activation: [relu, tanh]}
            initialization: {scheme: [lecun-uniform, orthogonal], scale: 1}
            optimizer: {learning-rate: [0.1, 0.01], momentum: [0, 0.9]}
            stopping: {epochs: 1}
            """)
        #expect(spec.sweepPoints.count == 3 * 2 * 2 * 2 * 2 * 2)
        #expect(spec.trialCount == spec.sweepPoints.count * 2)
        #expect(spec.model.architectures == [[5], [10], [20], [5, 5], [10, 10], [20, 20]])
        #expect(spec.varyingDimensions == ["architecture", "activation", "init", "lr", "momentum"])
    }

    @Test func theSweepOrderDoesNotDependOnTheOrderOfKeysInTheFile() throws {
        let a = try parse("name: x\nrestarts: 1\nmodel: {width: [5, 10], activation: [relu, tanh]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}")
        let b = try parse("stopping: {epochs: 1}\noptimizer: {learning-rate: 0.1}\nmodel: {activation: [relu, tanh], width: [5, 10]}\nrestarts: 1\nname: x")
        #expect(a.sweepPoints == b.sweepPoints)
        #expect(a.canonicalJSON == b.canonicalJSON)
    }

    @Test func trialsAreNumberedPointByPointAndKeyedByTheExperimentSeed() throws {
        let spec = try parse(minimalSpec.replacingOccurrences(of: "restarts: 3", with: "restarts: 3\nseed: 99"))
        let points = spec.sweepPoints
        let descriptions = (0..<spec.trialCount).map { spec.trialDescription($0, point: points[spec.pointIndex(ofTrial: $0)], datasetSHA256: "h") }
        #expect(descriptions.map(\.trialIndex) == [0, 1, 2, 3, 4, 5])
        #expect(descriptions.allSatisfy { $0.seed == 99 && $0.data.datasetSHA256 == "h" })
        #expect(descriptions.map(\.model.hidden) == [[5], [5], [5], [10], [10], [10]])
        #expect(Set(descriptions.map { $0 }).count == 6, "every restart is a distinct trial (its index keys its random streams)")
    }

    @Test func explicitArchitecturesCanBeSwept() throws {
        let spec = try parse("name: deep\nrestarts: 1\nmodel: {layers: [[100, 50], [200]]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}")
        #expect(spec.model.architectures == [[100, 50], [200]])
        let single = try parse("name: deep\nrestarts: 1\nmodel: {layers: [100, 50]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}")
        #expect(single.model.architectures == [[100, 50]])
    }

    static let invalid: [(String, String)] = [
        (minimalSpec + "\nfrobnicate: 3", "spec.yaml:9:1: frobnicate: unknown key; expected one of: name, seed, restarts, data, model"),
        (minimalSpec.replacingOccurrences(of: "  learning-rate: 0.1", with: "  learning-rate: 0.1\n  learning-rat: 0.2"), "spec.yaml:7:3: optimizer.learning-rat: unknown key"),
        (minimalSpec.replacingOccurrences(of: "restarts: 3", with: "restarts: three"), "spec.yaml:2:11: restarts: expected a positive integer, got 'three'"),
        (minimalSpec.replacingOccurrences(of: "width: [5, 10]", with: "width: [5, -10]"), "spec.yaml:4:14: model.width[1]: expected a positive integer, got -10"),
        (minimalSpec.replacingOccurrences(of: "width: [5, 10]", with: "width: []"), "model.width: an empty list sweeps nothing"),
        (minimalSpec.replacingOccurrences(of: "epochs: 2", with: "epochs: 0"), "spec.yaml:8:11: stopping.epochs: expected a positive integer, got 0"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: fast"), "optimizer.learning-rate: expected a number > 0.0, got 'fast'"),
        (minimalSpec.replacingOccurrences(of: "width: [5, 10]", with: "width: [5, 10]\n  activation: softsign"), "model.activation: expected one of relu, tanh, sigmoid, linear, got 'softsign'"),
        (minimalSpec.replacingOccurrences(of: "name: tiny\n", with: ""), "name: required"),
        (minimalSpec.replacingOccurrences(of: "optimizer:\n  learning-rate: 0.1\n", with: ""), "optimizer: required"),
        (minimalSpec + "\nschedule: {kind: inverse}", "the inverse schedule needs schedule.k"),
        (minimalSpec + "\nschedule: {kind: constant, gamma: 0.5}", "schedule.gamma: does not apply to the constant schedule"),
        (minimalSpec.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  patience: 3"), "stopping.patience: early stopping needs data.validation-samples > 0"),
        (minimalSpec + "\ndata: {training-samples: 100, validation-samples: 100}", "data.validation-samples: holds out 100 of 100 training samples"),
        (minimalSpec + "\noptimizer2: 1", "optimizer2: unknown key"),
        (minimalSpec.replacingOccurrences(of: "width: [5, 10]", with: "width: [5, 10]\n  layers: [3]"), "give either layers (explicit architectures) or width and hidden-layers, not both"),
        (minimalSpec + "\nmetrics: [test-loss, beauty]", "metrics[1]: unknown metric 'beauty'"),
        ("name: x\nrestarts: [1, 2", "spec.yaml:3:1: not valid YAML: while parsing a flow sequence"),
        ("", "the file is empty"),
        ("- just\n- a list", "top level: expected a mapping"),
        (minimalSpec + "\ndata: {dataset: cifar10}", "data.dataset: expected mnist10, mnist10:DIR, idx:DIR, npz:FILE, teacher:inputs=D,hidden=K[,…] or gaussian:inputs=D[,…], got 'cifar10'"),
        // Numbers nobody would write, which once crashed the parser or the trainer.
        (minimalSpec.replacingOccurrences(of: "restarts: 3", with: "restarts: 4611686018427387904"), "spec.yaml:2:11: restarts: at most 1000000000, got 4611686018427387904"),
        (minimalSpec.replacingOccurrences(of: "restarts: 3", with: "restarts: 600000000"), "restarts: 2 sweep points × 600000000 restarts is more than 1000000000 trials"),
        (minimalSpec.replacingOccurrences(of: "width: [5, 10]", with: "layers: [65536, 65536]"), "model.hidden[1]: 65536 × 65536 = 4294967296 weights in one layer; at most 67108864"),
        (minimalSpec + "\nverify: {fraction: 1.5}", "verify.fraction: expected a number between 0 and 1, got 1.5"),
        (minimalSpec + "\nverify: {fraction: nan}", "verify.fraction: expected a number ≥ 0.0, got 'nan'"),
        (minimalSpec + "\nverify: {fraction: -0.1}", "verify.fraction: expected a number ≥ 0.0, got -0.1"),
        (minimalSpec + "\nverify: {}", "verify.fraction: missing"),
        (minimalSpec + "\nverify: {fraction: 0.1, path: ../x}", "verify.path: unknown key"),
        (minimalSpec + "\nprobes: {hessian: {extremes: 0}}", "spec.yaml:9:30: probes.hessian.extremes: expected a positive integer, got 0"),
        (minimalSpec + "\nprobes: {hessian: {exact-below: 50000}}", "probes.hessian.exact-below: must be in 0...20000"),
        (minimalSpec + "\nprobes: {hessian: {density: {probes: 8, stepz: 80}}}", "probes.hessian.density.stepz: unknown key; expected one of: probes, steps"),
        (minimalSpec + "\nprobes: {hessian: {epsilon: 1.5}}", "probes.hessian.epsilon: expected a number ≥ 0.0 and < 1.0, got 1.5"),
        (minimalSpec + "\nprobes: {paths: {points: 1}}", "probes.paths.points: expected an integer ≥ 2, got 1"),
        (minimalSpec + "\nprobes: {paths: {between-restarts: 2}}", "probes.paths.between-restarts: pairs restarts r and r + 2, so needs at least 4 restarts; the spec has 3"),
        (minimalSpec + "\nprobes: {hesian: {}}", "probes.hesian: unknown key; expected one of: samples, hessian, paths"),
        (minimalSpec + "\ndata: {training-samples: 100}\nprobes: {samples: 200}", "probes.samples: probes 200 samples but each trial trains on 100"),
        (minimalSpec + "\nkeep-parameters: {restarts: 5}", "keep-parameters.restarts: keeps 5 restarts per sweep point but the spec has 3"),
        (minimalSpec + "\nkeep-parameters: {}", "keep-parameters.restarts: missing"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: adagrad"), "optimizer.kind: expected one of sgd, gd, newton, saddle-free-newton, adam, newton-mr, newton-mr-lm, got 'adagrad'"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  beta1: 0.8"), "optimizer.beta1: only adam takes beta1; optimizer.kind is sgd"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: adam\n  beta2: 1"), "optimizer.beta2: expected a number ≥ 0.0 and < 1.0, got 1"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: adam\n  epsilon: 0"), "optimizer.epsilon: expected a number > 0.0, got 0"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {curvature-samples: -1}"), "optimizer.krylov.curvature-samples: expected a positive integer, got -1"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {curvature-samples: 1e12}"), "optimizer.krylov.curvature-samples: expected a positive integer, got '1e12'"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {curvature-samples: 200000000}"), "optimizer.krylov.curvature-samples: must be at most 100000000, got 200000000"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {resample-curvature: maybe}"), "optimizer.krylov.resample-curvature: expected true or false, got 'maybe'"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton-mr\n  maxit: 0"), "optimizer.maxit: expected a number ≥ 1.0 and < 100001.0, got 0"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton-mr\n  maxit: 2.5"), "optimizer.maxit: must be a whole number ≥ 1.0 and < 100001.0, got 2.5"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton-mr\n  rtol: .nan"), "optimizer.rtol: expected a number > 0.0 and < 1.0, got '.nan'"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton-mr\n  acondlim: .inf"), "optimizer.acondlim: expected a number ≥ 1.0, got '.inf'"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: [sgd, adam]\n  momentum: 0.9"), "optimizer.momentum: adam takes no momentum"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  krylov: {dimension: 10}"), "optimizer.krylov: only newton and saddle-free-newton take Krylov settings"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  momentum: 0.9"), "optimizer.momentum: newton takes no momentum"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {damping: [0, -1]}"), "optimizer.krylov.damping[1]: expected a number ≥ 0.0, got -1"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {damping: 0.1}"), "optimizer.krylov.damping: expected a list of damping values"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {dimension: 20000}"), "optimizer.krylov.dimension: must be at most 10000"),
        (minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: newton\n  krylov: {dimensions: 2}"), "optimizer.krylov.dimensions: unknown key"),
        (minimalSpec + "\nwarm-start: {epochs: [1, 2]}", "warm-start.optimizer: required"),
        (minimalSpec + "\nwarm-start: {epochs: -1, optimizer: {learning-rate: 0.1}}", "warm-start.epochs: expected a non-negative integer, got -1"),
        (minimalSpec + "\nwarm-start: {epochs: 1, optimizer: {kind: newton, learning-rate: 0.1}}", "warm-start.optimizer.kind: a warm start is sgd, gd or adam, not newton"),
        (minimalSpec + "\nwarm-start: {epochs: 1, optimizer: {batch-size: 10}}", "warm-start.optimizer.learning-rate: required"),
        (minimalSpec + "\nwarm-start: {epochs: 1, optimizer: {learning-rate: [0.1, 0.2]}}", "warm-start.optimizer.learning-rate: a warm start takes one value"),
        (minimalSpec + "\nwarm-start: {epochs: 1, optimizer: {learning-rate: 0.1, momentum: 1.5}}", "warm-start.optimizer.momentum: expected a number ≥ 0.0 and < 1.0, got 1.5"),
        (minimalSpec.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  target-loss: -1"), "stopping.target-loss: expected a number ≥ 0.0, got -1"),
        (minimalSpec.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  relative-gradient-tolerance: 1"), "stopping.relative-gradient-tolerance: expected a number > 0.0 and < 1.0, got 1"),
        (minimalSpec + "\ncurve: {index: {extremes: 0}}", "curve.index.extremes: expected a positive integer, got 0"),
        (minimalSpec + "\ncurve: {gradient-norms: true}", "curve.gradient-norms: unknown key"),
        // The teacher-student kind.
        (teacherStudent("teacher-units: [6]\n  depth: 3"), "teacher-student.depth: unknown key; expected one of: teacher-units, student-units"),
        (teacherStudent("teacher-units: [0]"), "teacher-student.teacher-units[0]: expected a positive integer, got 0"),
        (teacherStudent("teacher-units: [300]"), "spec.yaml:5:19: teacher-student.teacher-units[0]: at most 256 units, got 300"),
        (teacherStudent("teacher-units: [6]\n  student-units: [k-1]"), "teacher-student.student-units[0]: 'k-1' is not k, k+M, Mk or a number of units (1…256)"),
        (teacherStudent("teacher-units: [6]\n  student-units: [99k]"), "is not k, k+M, Mk or a number of units"),
        (teacherStudent("teacher-units: [6, 12]\n  inputs: 8"), "teacher-student.teacher: orthonormal units e₁…e_k need k ≤ d; k = 12 > d = 8 (at k = 12, n = 12, d = 8)"),
        (teacherStudent("teacher-units: [6]\n  momentum: 1"), "teacher-student.momentum: expected a number ≥ 0.0 and < 1.0, got 1"),
        (teacherStudent("teacher-units: [6]\n  learning-rate: nan"), "teacher-student.learning-rate"),
        (teacherStudent("teacher-units: [6]\n  recovery-cosine: 2"), "teacher-student.recovery-cosine: must be in (0, 1], got 2.0"),
        (teacherStudent("teacher-units: [6]\n  teacher: random"), "teacher-student.teacher: expected one of"),
        (teacherStudent("teacher-units: [6, 8]\n  student-units: [k, k+1, 2k]").replacingOccurrences(of: "restarts: 3", with: "restarts: 900000000"), "restarts: 6 sweep points × 900000000 restarts is more than 1000000000 trials"),
        ("name: x\nkind: teacher-student\nrestarts: 3", "teacher-student: required: at least teacher-student.teacher-units"),
        ("name: x\nrestarts: 1\nmodel: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000), "spec.yaml:3: nested 5000 levels deep; a spec is at most 64"),
    ]

    static func teacherStudent(_ section: String) -> String {
        "name: ts\nkind: teacher-student\nrestarts: 3\nteacher-student:\n  \(section)\n"
    }

    @Test func aTeacherStudentSweepIsKTimesTheStudentRules() throws {
        let spec = try parse(Self.teacherStudent("teacher-units: [6, 10]\n  student-units: [k, k+1, 2k, 30]"))
        let points = spec.sweepPoints
        #expect(points.map { Int($0.coordinates["student-units"]!) } == [6, 7, 12, 30, 10, 11, 20, 30])
        #expect(points.allSatisfy { $0.coordinates["inputs"] == $0.coordinates["teacher-units"] })
        #expect(points.map { spec.label(of: $0) }.prefix(2) == ["k = 6, n = 6", "k = 6, n = 7"])
        let task = try #require(spec.kind.task(5, point: points[5], spec: spec, datasetSHA256: nil).as(TeacherStudentDescription.self))
        #expect(task.teacherUnits == 10 && task.studentUnits == 11 && task.trialIndex == 5 && task.learningRate == 0.05 && task.checkHessian)
    }

    @Test(arguments: invalid)
    func invalidSpecsNameFileLineFieldAndWhatIsExpected(yaml: String, message: String) {
        let found = error(of: yaml)
        #expect(found != nil, "expected an error containing \(message)")
        #expect(found?.description.contains(message) == true, "\(found?.description ?? "no error")")
    }

    @Test func probesReachEveryTrialAndPairRestartsForPaths() throws {
        let spec = try parse(minimalSpec.replacingOccurrences(of: "restarts: 3", with: "restarts: 4") + """

            probes:
              samples: 500
              hessian: {extremes: 3, density: {probes: 4, steps: 30}, exact-below: 2000, epsilon: 0.02}
              paths: {points: 21, between-restarts: 1}
            """)
        let points = spec.sweepPoints
        let first = spec.trialDescription(4, point: points[1], datasetSHA256: nil)
        #expect(first.probes?.samples == 500)
        #expect(first.probes?.hessian == HessianProbe(extremes: 3, density: DensityProbe(probes: 4, steps: 30), exactBelow: 2000, epsilon: 0.02))
        #expect(first.probes?.paths == PathProbe(points: 21, initToEnd: true, partner: 5), "restart 0 of point 1 pairs with restart 1")
        #expect(spec.trialDescription(5, point: points[1], datasetSHA256: nil).probes?.paths == PathProbe(points: 21, initToEnd: true, partner: nil))
        // A spec without probes keeps its canonical JSON (and so its hash and old ledgers).
        #expect(!(try parse(minimalSpec)).canonicalJSON.contains("probes"))
    }

    static let glass = """
        name: glass
        kind: spin-glass
        restarts: 3
        spin-glass: {order: 3, spins: [20, 40], couplings: shared}
        optimizer: {learning-rate: 0.2}
        stopping: {steps: 500, gradient-tolerance: 1e-5}
        """

    @Test func aSpinGlassSpecSweepsSpinsAndSharesARealizationPerPoint() throws {
        let spec = try parse(Self.glass)
        #expect(spec.spinGlass?.spins == [20, 40] && spec.trialCount == 6 && spec.metrics == ["energy", "gradient-norm"])
        let points = spec.sweepPoints
        #expect(points.map { spec.label(of: $0) } == ["Λ = 20", "Λ = 40"])
        guard let fourth = spec.task(4, point: points[1], datasetSHA256: nil).as(SpinGlassDescription.self) else { Issue.record("not a spin glass"); return }
        #expect(fourth.spins == 40 && fourth.order == 3 && fourth.trialIndex == 4 && fourth.realization == 1, "shared: the point's realization")
        #expect(fourth.stopping == StoppingRule(maxEpochs: 500, gradientTolerance: 1e-5))
        let perTrial = try parse(Self.glass.replacingOccurrences(of: "couplings: shared", with: "couplings: per-trial"))
        guard let own = perTrial.task(4, point: points[1], datasetSHA256: nil).as(SpinGlassDescription.self) else { return }
        #expect(own.realization == 4)
        // Network specs keep their canonical JSON (no spinGlass key).
        #expect(!(try parse(minimalSpec)).canonicalJSON.contains("spinGlass"))
    }

    @Test(arguments: [
        (glass.replacingOccurrences(of: "order: 3", with: "order: 7"), "spin-glass.order: must be 2, 3 or 4, got 7 (at Λ = 20)"),
        (glass.replacingOccurrences(of: "spins: [20, 40]", with: "spins: [20, 1000]"), "spin-glass.spins: H = 3 with Λ = 1000 has 167167000 distinct couplings"),
        (glass.replacingOccurrences(of: "couplings: shared", with: "couplings: fresh"), "spin-glass.couplings: expected one of per-trial, shared, got 'fresh'"),
        (glass.replacingOccurrences(of: "steps: 500", with: "epochs: 500"), "stopping.epochs: unknown key; expected one of: steps, gradient-tolerance"),
        (glass + "\nmodel: {width: 5}", "model: unknown key"),
        (glass.replacingOccurrences(of: "kind: spin-glass", with: "kind: ising"), "got 'ising'"),   // the kinds it lists include any that other tests in this process registered
        (glass.replacingOccurrences(of: "learning-rate: 0.2", with: "learning-rate: 0.2, noise: -1"), "optimizer.noise: expected a number ≥ 0.0, got -1"),
    ])
    func invalidSpinGlassSpecsNameTheField(yaml: String, message: String) {
        let found = error(of: yaml)
        #expect(found?.description.contains(message) == true, "\(found?.description ?? "no error")")
    }

    @Test func overridesSetDottedKeysToYAMLValuesAndTheStoredSpecIsTheResult() throws {
        let overrides = try SpecOverrides.parse(["restarts=40", "model.width=[25, 100]", "optimizer.momentum=0.9", "probes.hessian={extremes: 3}", "restarts=41"])
        let (spec, text) = try SpecOverrides.parse(minimalSpec, file: "spec.yaml", overrides: overrides)
        #expect(spec.restarts == 41, "the later override wins")
        #expect(spec.model.architectures == [[25], [100]] && spec.optimizer.momentum == [0.9] && spec.probes?.hessian?.extremes == 3)
        #expect(try parse(text) == spec, "the text after overrides is the spec the run stores")
        #expect(spec.canonicalJSON != (try parse(minimalSpec)).canonicalJSON)
    }

    @Test(arguments: [
        (["restarts=many"], "--set restarts=many: restarts: expected a positive integer, got 'many'"),
        (["optimizer.learning-rat=0.1"], "--set optimizer.learning-rat=0.1: optimizer.learning-rat: unknown key; expected one of"),
        (["model.width=[]"], "--set model.width=[]: model.width: an empty list sweeps nothing"),
        (["restarts"], "--set restarts: expected KEY=VALUE"),
        (["=3"], "--set =3: expected a dotted key"),
        (["a..b=3"], "--set a..b=3: a..b: expected a dotted key"),
        (["restarts="], "--set restarts=: restarts: no value after '='"),
        (["name.first=x"], "--set name.first=x: name.first: name is not a mapping, so it has no key 'first'"),
        (["model.width=[1, 2"], "--set model.width=[1, 2: model.width: the value is not valid YAML"),
        (["model.width=" + String(repeating: "[", count: 100_000)], "--set model.width=…: model.width: a value nested 100000 levels deep; a spec is at most 64"),
        ([Array(repeating: "a", count: 5000).joined(separator: ".") + "=1"], "a key 5000 levels deep; a spec is at most 64"),
        (["data.dataset=../../etc"], "--set data.dataset=../../etc: data.dataset: expected mnist10, mnist10:DIR, idx:DIR, npz:FILE, teacher:inputs=D,hidden=K[,…] or gaussian:inputs=D[,…]"),
    ])
    func badOverridesNameTheOverride(arguments: [String], message: String) {
        do {
            _ = try SpecOverrides.parse(minimalSpec, file: "spec.yaml", overrides: try SpecOverrides.parse(arguments))
            Issue.record("expected an error containing \(message)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func aMistakeOfTheFileItselfKeepsItsLineWithOverrides() {
        let broken = minimalSpec.replacingOccurrences(of: "  learning-rate: 0.1", with: "  learning-rate: 0.1\n  learning-rat: 0.2")
        do {
            _ = try SpecOverrides.parse(broken, file: "spec.yaml", overrides: try SpecOverrides.parse(["restarts=5"]))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("spec.yaml:7:3: optimizer.learning-rat: unknown key"), "\(error.description)")
        }
    }

    @Test func optimizersAndWarmStartsAreSweptAndReachEveryTrial() throws {
        let spec = try parse(minimalSpec.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1\n  kind: [newton, sgd]\n  krylov: {dimension: 30, damping: [0, 0.1]}")
                             .replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  target-loss: 0.5\n  relative-gradient-tolerance: 1e-6")
                             + "\nwarm-start: {epochs: [0, 3], optimizer: {batch-size: 20, learning-rate: 0.05}}\ncurve: {gradient-norm: true}")
        #expect(spec.trialCount == 2 * 2 * 2 * 3)
        #expect(spec.varyingDimensions.isSuperset(of: ["optimizer", "warm-start", "architecture"]))
        let points = spec.sweepPoints
        #expect(points.map(\.optimizer) == [.newton, .newton, nil, nil, .newton, .newton, nil, nil])
        #expect(points.map(\.warmStartEpochs) == [0, 3, 0, 3, 0, 3, 0, 3])
        #expect(spec.label(of: points[1]) == "n1 = 5, newton, after 3 epochs")
        let newton = spec.trialDescription(3, point: points[1], datasetSHA256: nil)
        #expect(newton.optimizer.kind == .newton && newton.optimizer.krylov == KrylovSettings(dimension: 30, damping: [0, 0.1]))
        #expect(newton.warmStart == WarmStart(epochs: 3, optimizer: OptimizerSpec(batchSize: 20, learningRate: 0.05)))
        #expect(newton.stopping.targetLoss == 0.5 && newton.stopping.relativeGradientTolerance == 1e-6 && newton.curve == CurveRequest(gradientNorm: true))
        let sgd = spec.trialDescription(6, point: points[2], datasetSHA256: nil)
        #expect(sgd.optimizer.kind == .sgd && sgd.optimizer.krylov == nil)
        // A spec without the new keys keeps its canonical JSON (and so its hash and trial order).
        let plain = try parse(minimalSpec).canonicalJSON
        #expect(!plain.contains("warmStart") && !plain.contains("krylov") && !plain.contains("curve") && !plain.contains("targetLoss"))
    }

    @Test func theWorkEstimateWeighsANewtonStepByItsProducts() throws {
        let resolved = try ResolvedExperiment.load(path: nil, preset: "dauphin2014")
        let work = resolved.workPerTrial, points = resolved.spec.sweepPoints
        let newton = try #require(points.firstIndex { $0.optimizer == .newtonMR && $0.warmStartEpochs == 0 })
        let sgd = try #require(points.firstIndex { $0.optimizer == nil && $0.warmStartEpochs == 0 })
        let later = try #require(points.firstIndex { $0.optimizer == nil && $0.warmStartEpochs == 30 })
        // Both probe their end point alike; the Newton-MR trial's 40 steps add up to maxit = 200
        // products of ≈ 16 FLOP per weight per sample each: 40 × 3,200 × 1,120 parameters × 1,000 samples.
        #expect(work[newton] - work[sgd] > 40 * 3200 * 1120 * 1000, "\(work[newton]) against \(work[sgd])")
        #expect(work[later] > work[sgd], "a longer warm start costs more")
    }

    @Test func thePresetFilesAreTheBuiltInPresets() throws {
        var scripts = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { scripts.deleteLastPathComponent() }
        for name in Presets.names {
            let file = try String(contentsOf: scripts.appendingPathComponent("Scripts/presets/\(name).yaml"), encoding: .utf8)
            #expect(file.trimmingCharacters(in: .newlines) == Presets.text(name)?.trimmingCharacters(in: .newlines), "Scripts/presets/\(name).yaml differs from the built-in preset")
            #expect(try Presets.spec(name) != nil)
        }
        // The count a spec is checked with before its sweep is built is the sweep's size.
        for name in Presets.names {
            let spec = try #require(try Presets.spec(name))
            if spec.kind == TeacherStudentKind.self { continue }   // its sweep is built before it is counted
            let dimensions = spec.kind == SpinGlassKind.self ? SpinGlassKind.dimensions(of: spec) : NetworkKind.dimensions(of: spec)
            #expect(dimensions.map(\.count).reduce(1, *) == spec.sweepPoints.count, "\(name): the counted sweep differs from the built one")
        }
        let quick = try #require(try Presets.spec("quick"))
        #expect(quick.model.architectures == [[5], [10], [25], [50], [100]] && quick.restarts == 64 && quick.data.trainingSamples == 20000)
        #expect(quick.stopping.epochs == [10] && quick.optimizer.batchSize == [100] && quick.schedule.kind == .inverse && quick.schedule.factor == 1)
        let paper = try #require(try Presets.spec("choromanska2015"))
        #expect(paper.model.architectures == [[25], [50], [100], [250], [500]] && paper.restarts == 1000 && paper.data.trainingSamples == nil)
    }
}

@Suite("The plan of an experiment")
struct PlanTests {
    @Test func aTaskListNamesEveryDatasetItUsesWhereverItFirstAppears() {
        // Once only the first 64 trials were looked at, and a worker fetching a dataset first
        // used at trial 100 waited forever.
        let other = String(repeating: "ab", count: 32)
        var tasks = [TaskDescription](repeating: .noop, count: 100)
        tasks.append(.train(TrialDescription(seed: 1, trialIndex: 0, data: DataSelection(dataset: "idx:/data/other", datasetSHA256: other),
                                             model: ModelSpec(hidden: [4]), initialization: Initialization(scheme: .fanInUniform),
                                             optimizer: OptimizerSpec(batchSize: 1, learningRate: 0.1), stopping: StoppingRule(maxEpochs: 1))))
        let plan = ExperimentPlan.list(tasks, name: "late")
        #expect(plan.datasets == [other: "idx:/data/other"])
    }
}
