import MinimaCore
import MinimaData
import Testing

/// `teacher:…` — Gaussian inputs labelled by a teacher network: the realizable case, whose global
/// minimum (zero loss) is known.
@Suite("teacher data source")
struct TeacherSourceTests {
    static let small = "teacher:inputs=6,hidden=3,train=50,test=10,seed=4"

    @Test func theBytesAreFixedByTheirSHA256() throws {
        // Golden: a change to the generator (stream, order, rounding) changes every study's data.
        let files = try DatasetSource(parsing: Self.small).files()
        #expect(files.contentSHA256 == "db51ebac3aa183de52d952d313f1f320ea92cbfed338b5fb4954cb1d41819282")
        #expect(files.trainImages.dimensions == [50, 6] && files.trainImages.elementType == .float32)
        #expect(files.trainLabels.dimensions == [50, 1] && files.trainLabels.elementType == .float32)
        // The same name gives the same bytes; another seed other bytes.
        #expect(try DatasetSource(parsing: Self.small).files().contentSHA256 == files.contentSHA256)
        #expect(try DatasetSource(parsing: Self.small.replacingOccurrences(of: "seed=4", with: "seed=5")).files().contentSHA256 != files.contentSHA256)
    }

    @Test func aStudentEqualToTheTeacherHasZeroLossAndStaysThere() throws {
        let teacher = try TeacherDescription(parsing: "inputs=8,hidden=4,train=400,test=50,seed=2")
        let data = try DatasetSource(parsing: "teacher:\(teacher)").load()
        #expect(data.train.targets == .values(1))
        let weights = teacher.weights()
        let student = Network(inputs: 8, hidden: [4], classes: 1, activation: .relu)
        student.setWeights(layer: 0, weights[0].map { Float($0) })
        student.setWeights(layer: 1, weights[1].map { Float($0) })
        let samples = (0..<Int32(400)).map { $0 }
        let loss = student.meanLoss(on: data.train, samples: samples, loss: .meanSquaredError)
        #expect(loss < 1e-12, "loss \(loss)")
        // It is a critical point: the full-batch gradient vanishes there too.
        let (_, gradient) = student.meanLossAndGradient(on: data.train, samples: samples, loss: .meanSquaredError)
        #expect(gradient.map { abs($0) }.max()! < 1e-6)
        // A student of another width or seed starts far above it.
        student.initialize(Initialization(scheme: .fanInUniform), seed: 9, trialIndex: 0)
        #expect(student.meanLoss(on: data.train, samples: samples, loss: .meanSquaredError) > 0.05)
    }

    @Test func classesAreTheArgmaxOfTheTeachersOutputs() throws {
        let teacher = try TeacherDescription(parsing: "inputs=5,hidden=6,outputs=3,targets=classes,output-weights=drawn,train=200,test=20")
        let files = try DatasetSource(parsing: "teacher:\(teacher)").files()
        let (_, outputs) = teacher.samples(test: false)
        let labels = files.trainLabels.integers()
        for sample in 0..<200 {
            let row = Array(outputs[sample * 3 ..< sample * 3 + 3])
            #expect(Int(labels[sample]) == row.firstIndex(of: row.max()!)!)
        }
        let data = try TrainingData(files: files, name: "teacher")
        #expect(data.train.targets == .classes(3))
    }

    @Test func orthonormalTeachersUseTheFirstUnitVectors() throws {
        let teacher = try TeacherDescription(parsing: "inputs=5,hidden=3,init=orthonormal")
        #expect(teacher.weights()[0] == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0] && teacher.weights()[1] == [1, 1, 1])
    }

    @Test func badDescriptionsNameTheKey() {
        func problem(_ text: String) -> String? {
            do { _ = try DatasetSource(parsing: text); return nil } catch { return error.description }
        }
        #expect(problem("teacher")?.contains("names no teacher") == true)
        #expect(problem("teacher:inputs=5,hidden=3,widht=4")?.contains("teacher.widht: unknown key; the keys are inputs, hidden") == true)
        #expect(problem("teacher:hidden=3")?.contains("teacher.inputs: missing") == true)
        #expect(problem("teacher:inputs=-1,hidden=3")?.contains("teacher.inputs: '-1' is not an integer in 1…4096") == true)
        #expect(problem("teacher:inputs=4,hidden=3x0")?.contains("teacher.hidden") == true)
        #expect(problem("teacher:inputs=2,hidden=3,init=orthonormal")?.contains("need k ≤ d") == true)
        #expect(problem("teacher:inputs=4,hidden=3,targets=classes")?.contains("outputs ≥ 2") == true)
        #expect(problem("teacher:inputs=4096,hidden=3,train=1000000")?.contains("at most 33554432") == true)
        #expect(problem("teacher:inputs=4,hidden=3,activation=tanh")?.contains("not relu or linear") == true)
        #expect(problem("teacher:inputs=4,inputs=5,hidden=3")?.contains("given twice") == true)
        #expect(problem("teacher:inputs=4,hidden=3,seed=x")?.contains("teacher.seed") == true)
    }
}

/// `gaussian:…` — the linear autoencoder's data: variances r^k, targets = inputs.
@Suite("gaussian data source")
struct GaussianSourceTests {
    @Test func targetsAreTheInputsAndTheVariancesFallGeometrically() throws {
        let data = try DatasetSource(parsing: "gaussian:inputs=4,variance-ratio=0.5,train=4000,test=10,seed=2").load()
        #expect(data.train.targets == .values(4) && data.train.featureCount == 4)
        #expect(data.train.features(17) == data.train.targetVector(17))
        for k in 0..<4 {
            let values = (0..<4000).map { Double(data.train.features($0)[k]) }
            let variance = values.map { $0 * $0 }.reduce(0, +) / 4000
            let expected = [1, 0.5, 0.25, 0.125][k]
            #expect(abs(variance - expected) < 0.1 * expected, "coordinate \(k): variance \(variance), expected \(expected)")
        }
        #expect(try DatasetSource(parsing: "gaussian:inputs=4,variance-ratio=0.5,train=4000,test=10,seed=2").files().contentSHA256 == data.train.contentSHA256)
    }

    @Test func badDescriptionsNameTheKey() {
        func problem(_ text: String) -> String? {
            do { _ = try DatasetSource(parsing: text); return nil } catch { return error.description }
        }
        #expect(problem("gaussian")?.contains("names no dimension") == true)
        #expect(problem("gaussian:inputs=4,ratio=2")?.contains("gaussian.ratio: unknown key") == true)
        #expect(problem("gaussian:inputs=4,variance-ratio=1.5")?.contains("gaussian.variance-ratio: '1.5' is not a number in (0, 1]") == true)
        #expect(problem("gaussian:inputs=4,variance-ratio=nan")?.contains("gaussian.variance-ratio") == true)
        #expect(problem("gaussian:train=4")?.contains("gaussian.inputs: missing") == true)
        #expect(problem("gaussian:inputs=4096,train=1000000")?.contains("at most 33554432") == true)
    }
}
