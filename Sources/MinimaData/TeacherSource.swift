import MinimaCore

/// `teacher:KEY=VALUE,…`: standard Gaussian inputs labelled by a teacher network
/// (``TeacherDescription``), generated where it is used — a worker regenerates it from the name
/// and checks the hash like any other source. Inputs and regression targets are float32 IDX
/// arrays (features used as they are), classes byte or int32 labels.
struct TeacherSource: DataSourceFormat {
    static let scheme = "teacher"
    static let usage = "teacher:inputs=D,hidden=K[,…]"
    let teacher: TeacherDescription

    init(argument: String?) throws(DataError) {
        guard let argument, !argument.isEmpty else {
            throw DataError(file: "teacher", problem: "names no teacher; expected e.g. teacher:inputs=10,hidden=4 (keys: \(TeacherDescription.keysText))")
        }
        do { teacher = try TeacherDescription(parsing: argument) } catch { throw DataError(file: "teacher:\(argument.prefix(200))", problem: error.description) }
    }

    var description: String { "teacher:\(teacher)" }

    func files() throws(DataError) -> IDXQuadruple {
        func set(test: Bool) -> (IDXFile, IDXFile) {
            let (inputs, outputs) = teacher.samples(test: test)
            let count = test ? teacher.testSamples : teacher.trainingSamples
            let features = IDXFile(dimensions: [count, teacher.inputs], floats: inputs)
            switch teacher.targets {
            case .values:
                return (features, IDXFile(dimensions: [count, teacher.outputs], floats: outputs.map { Float($0) }))
            case .classes:
                let labels = (0..<count).map { sample -> Int32 in
                    let row = outputs[sample * teacher.outputs ..< (sample + 1) * teacher.outputs]
                    return Int32(row.indices.max(by: { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) })! - row.startIndex)
                }
                return (features, teacher.outputs <= 256 ? IDXFile(dimensions: [count], values: labels.map { UInt8($0) }) : IDXFile(dimensions: [count], integers: labels))
            }
        }
        let train = set(test: false), test = set(test: true)
        return IDXQuadruple(trainImages: train.0, trainLabels: train.1, testImages: test.0, testLabels: test.1)
    }
}
