import MinimaCore

/// `gaussian:KEY=VALUE,…`: Gaussian inputs with variances r⁰ … r^{d−1} and targets equal to the
/// inputs (``GaussianDataDescription``) — the linear autoencoder's data, generated where it is
/// used like `teacher:`.
struct GaussianSource: DataSourceFormat {
    static let scheme = "gaussian"
    static let usage = "gaussian:inputs=D[,…]"
    let data: GaussianDataDescription

    init(argument: String?) throws(DataError) {
        guard let argument, !argument.isEmpty else {
            throw DataError(file: "gaussian", problem: "names no dimension; expected e.g. gaussian:inputs=8,variance-ratio=0.7")
        }
        do { data = try GaussianDataDescription(parsing: argument) } catch { throw DataError(file: "gaussian:\(argument.prefix(200))", problem: error.description) }
    }

    var description: String { "gaussian:\(data)" }

    func files() throws(DataError) -> IDXQuadruple {
        let train = data.samples(test: false), test = data.samples(test: true)
        let trainFile = IDXFile(dimensions: [data.trainingSamples, data.inputs], floats: train)
        let testFile = IDXFile(dimensions: [data.testSamples, data.inputs], floats: test)
        return IDXQuadruple(trainImages: trainFile, trainLabels: trainFile, testImages: testFile, testLabels: testFile)
    }
}
