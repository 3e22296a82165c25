/// Autoencoding data with a known spectrum: x ~ N(0, diag(r⁰, r¹, …, r^{d−1})) and targets = x.
/// Written `gaussian:KEY=VALUE,…`: `inputs` (d, required), `variance-ratio` (r, 0 < r ≤ 1;
/// default 0.7), `train` (1000) and `test` (200) samples, `seed` (1). The eigenvalues of the
/// covariance are distinct, so a linear autoencoder's critical points are isolated up to its
/// symmetries and known in closed form (``LinearAutoencoderTheory``). Drawn like the teacher data
/// (counter-based stream, double precision, rounded once): the name fixes the bytes.
public struct GaussianDataDescription: Hashable, Sendable, CustomStringConvertible {
    public var inputs: Int
    public var varianceRatio = 0.7
    public var trainingSamples = 1000
    public var testSamples = 200
    public var seed: UInt64 = 1

    public init(inputs: Int) { self.inputs = inputs }

    static let keys = ["inputs", "variance-ratio", "train", "test", "seed"]

    /// Parses `KEY=VALUE,…` (the part after `gaussian:`); errors name the key.
    public init(parsing text: String) throws(TrialDescriptionError) {
        let values = try KeyValueArguments(text, scheme: "gaussian", keys: Self.keys, example: "inputs=8,variance-ratio=0.7")
        guard let inputs = try values.integer("inputs", 1...4096) else { throw TrialDescriptionError(field: "gaussian.inputs", problem: "missing: the dimension d") }
        self.init(inputs: inputs)
        if let text = values["variance-ratio"] {
            guard let value = Double(text), value > 0, value <= 1 else {
                throw TrialDescriptionError(field: "gaussian.variance-ratio", problem: "'\(text.prefix(40))' is not a number in (0, 1]")
            }
            varianceRatio = value
        }
        trainingSamples = try values.integer("train", 1...1_000_000) ?? trainingSamples
        testSamples = try values.integer("test", 1...1_000_000) ?? testSamples
        seed = try values.seed() ?? seed
        let total = 2 * Double(inputs) * Double(trainingSamples + testSamples)
        guard total <= Double(TeacherDescription.maximumValues) else {
            throw TrialDescriptionError(field: "gaussian", problem: "\(trainingSamples + testSamples) samples × \(2 * inputs) values is \(Int(total)) floats; at most \(TeacherDescription.maximumValues)")
        }
    }

    public var description: String { "inputs=\(inputs),variance-ratio=\(varianceRatio),train=\(trainingSamples),test=\(testSamples),seed=\(seed)" }

    /// The variance of each coordinate: r^k.
    public var variances: [Double] { (0..<inputs).map { DeterministicMath.power(varianceRatio, $0) } }

    /// One set's inputs (float32, row-major; the targets are the same values).
    public func samples(test: Bool) -> [Float] {
        let count = test ? testSamples : trainingSamples
        let scales = variances.map { $0.squareRoot() }
        var gaussians = RandomStream.PairedGaussians(RandomStream(seed: seed, trial: 0, purpose: .syntheticData, substream: test ? 201 : 200))
        var values = [Float](repeating: 0, count: count * inputs)
        for sample in 0..<count {
            for k in 0..<inputs {
                values[sample * inputs + k] = Float(scales[k] * gaussians.next())
            }
        }
        return values
    }
}
