/// A teacher network and the law of its inputs: the description of a synthetic dataset whose
/// targets a student network can fit exactly (the realizable case, whose global minimum is known).
///
/// Written as `teacher:KEY=VALUE,…` wherever a dataset is named (a spec's `data.dataset`,
/// `minima train --data`); every key but `inputs` and `hidden` has a default:
///
/// | key | meaning | default |
/// | --- | --- | --- |
/// | `inputs` | d, the input dimension (inputs are standard Gaussian) | — |
/// | `hidden` | the teacher's hidden widths, `k` or `k1x k2x …` | — |
/// | `outputs` | output values (regression) or classes | 1 |
/// | `activation` | `relu` or `linear` (exact in any arithmetic) | `relu` |
/// | `init` | hidden weights: `gaussian` (N(0, 1/fan-in)) or `orthonormal` (the first layer's rows are e₁…e_k, as Safran & Shamir; needs k ≤ d) | `gaussian` |
/// | `output-weights` | `ones` (fixed to 1, as Safran & Shamir) or `drawn` (N(0, 1/fan-in)) | `ones` |
/// | `targets` | `values` (regression, for mse) or `classes` (argmax of the outputs; needs outputs ≥ 2) | `values` |
/// | `train`, `test` | samples in each set | 10000, 2000 |
/// | `seed` | the dataset's own seed (weights and samples) | 1 |
///
/// The teacher has no biases. Everything is drawn from the counter-based stream and computed in
/// double precision in a fixed order, then rounded once to float32, so the same description gives
/// the same bytes on every machine; their SHA-256 is the dataset's identity.
public struct TeacherDescription: Hashable, Sendable, CustomStringConvertible {
    public enum WeightLaw: String, Sendable, CaseIterable { case gaussian, orthonormal }
    public enum OutputWeights: String, Sendable, CaseIterable { case ones, drawn }
    public enum Targets: String, Sendable, CaseIterable { case values, classes }

    public var inputs: Int
    public var hidden: [Int]
    public var outputs = 1
    public var activation: Activation = .relu
    public var initialization: WeightLaw = .gaussian
    public var outputWeights: OutputWeights = .ones
    public var targets: Targets = .values
    public var trainingSamples = 10_000
    public var testSamples = 2_000
    public var seed: UInt64 = 1

    /// The most values (features and targets of both sets) a synthetic dataset may hold: 2²⁵
    /// floats, 128 MiB — far beyond these studies, and a bound on what a hostile name can cost.
    public static let maximumValues = 1 << 25

    public init(inputs: Int, hidden: [Int]) {
        self.inputs = inputs
        self.hidden = hidden
    }

    /// Parses `KEY=VALUE,…` (the part after `teacher:`); errors name the key.
    public init(parsing text: String) throws(TrialDescriptionError) {
        let values = try KeyValueArguments(text, scheme: "teacher", keys: Self.keys, example: "inputs=10,hidden=4")
        guard let inputs = try values.integer("inputs", 1...4096) else { throw TrialDescriptionError(field: "teacher.inputs", problem: "missing: the input dimension d") }
        guard let hiddenText = values["hidden"] else { throw TrialDescriptionError(field: "teacher.hidden", problem: "missing: the teacher's hidden widths, e.g. hidden=4 or hidden=8x4") }
        var hidden: [Int] = []
        for width in hiddenText.split(separator: "x", omittingEmptySubsequences: false) {
            guard let value = Int(width), (1...4096).contains(value) else {
                throw TrialDescriptionError(field: "teacher.hidden", problem: "'\(hiddenText.prefix(40))' is not widths 1…4096 joined by x (e.g. 8x4)")
            }
            hidden.append(value)
        }
        guard hidden.count <= 16 else { throw TrialDescriptionError(field: "teacher.hidden", problem: "\(hidden.count) layers; at most 16") }
        self.init(inputs: inputs, hidden: hidden)
        outputs = try values.integer("outputs", 1...4096) ?? outputs
        if let text = values["activation"] {
            guard let value = Activation(rawValue: text), value == .relu || value == .linear else {
                throw TrialDescriptionError(field: "teacher.activation", problem: "'\(text.prefix(40))' is not relu or linear")
            }
            activation = value
        }
        initialization = try values.choice("init", WeightLaw.self) ?? initialization
        outputWeights = try values.choice("output-weights", OutputWeights.self) ?? outputWeights
        targets = try values.choice("targets", Targets.self) ?? targets
        trainingSamples = try values.integer("train", 1...1_000_000) ?? trainingSamples
        testSamples = try values.integer("test", 1...1_000_000) ?? testSamples
        seed = try values.seed() ?? seed
        try validate()
    }

    /// The keys, for messages.
    public static var keysText: String { keys.joined(separator: ", ") }
    static let keys = ["inputs", "hidden", "outputs", "activation", "init", "output-weights", "targets", "train", "test", "seed"]

    public func validate() throws(TrialDescriptionError) {
        if initialization == .orthonormal && hidden[0] > inputs {
            throw TrialDescriptionError(field: "teacher.init", problem: "orthonormal rows e₁…e_k need k ≤ d; hidden=\(hidden[0]) > inputs=\(inputs)")
        }
        if targets == .classes && outputs < 2 {
            throw TrialDescriptionError(field: "teacher.targets", problem: "classes are the argmax of the outputs, so they need outputs ≥ 2")
        }
        let perSample = inputs + (targets == .values ? outputs : 0)
        let total = Double(perSample) * Double(trainingSamples + testSamples)
        guard total <= Double(Self.maximumValues) else {
            throw TrialDescriptionError(field: "teacher", problem: "\(trainingSamples + testSamples) samples × \(perSample) values is \(Int(total)) floats; at most \(Self.maximumValues)")
        }
    }

    /// The canonical text (keys in a fixed order, every one written).
    public var description: String {
        "inputs=\(inputs),hidden=\(hidden.map(String.init).joined(separator: "x")),outputs=\(outputs),activation=\(activation.rawValue),"
            + "init=\(initialization.rawValue),output-weights=\(outputWeights.rawValue),targets=\(targets.rawValue),"
            + "train=\(trainingSamples),test=\(testSamples),seed=\(seed)"
    }

    /// The teacher's weights, layer by layer, W[output][input] row-major (input side first).
    public func weights() -> [[Double]] {
        let widths = [inputs] + hidden + [outputs]
        return (0 ..< widths.count - 1).map { l in
            let fanIn = widths[l], fanOut = widths[l + 1]
            let isOutput = l == widths.count - 2
            if isOutput && outputWeights == .ones { return [Double](repeating: 1, count: fanOut * fanIn) }
            if l == 0 && initialization == .orthonormal {
                return (0 ..< fanOut * fanIn).map { $0 / fanIn == $0 % fanIn ? 1 : 0 }
            }
            var stream = RandomStream(seed: seed, trial: 0, purpose: .syntheticData, substream: UInt32(1 + l))
            let scale = 1 / Double(fanIn).squareRoot()
            return (0 ..< fanOut * fanIn).map { _ in stream.nextGaussian() * scale }
        }
    }

    /// One set's samples: `count` standard Gaussian inputs (float32, row-major) and the teacher's
    /// outputs for them (float64 before rounding, row-major).
    public func samples(test: Bool) -> (inputs: [Float], outputs: [Double]) {
        let count = test ? testSamples : trainingSamples
        let weights = self.weights()
        var gaussians = RandomStream.PairedGaussians(RandomStream(seed: seed, trial: 0, purpose: .syntheticData, substream: test ? 101 : 100))
        var features = [Float](repeating: 0, count: count * inputs)
        var outputs = [Double](repeating: 0, count: count * self.outputs)
        let widest = ([inputs] + hidden + [self.outputs]).max()!
        // Two activation buffers, swapped layer by layer (no allocation per sample).
        var current = [Double](repeating: 0, count: widest), next = [Double](repeating: 0, count: widest)
        for sample in 0..<count {
            for i in 0..<inputs {
                let x = Float(gaussians.next())
                features[sample * inputs + i] = x
                current[i] = Double(x)   // the teacher sees the stored inputs
            }
            var fanIn = inputs
            for (l, w) in weights.enumerated() {
                let fanOut = w.count / fanIn
                let rectify = l < weights.count - 1 && activation == .relu
                w.withUnsafeBufferPointer { w in
                    for o in 0..<fanOut {
                        var sum = 0.0
                        for i in 0..<fanIn { sum += w[o * fanIn + i] * current[i] }
                        next[o] = rectify ? max(0, sum) : sum
                    }
                }
                swap(&current, &next)
                fanIn = fanOut
            }
            for o in 0..<self.outputs { outputs[sample * self.outputs + o] = current[o] }
        }
        return (features, outputs)
    }
}
