import ArgumentParser
import Foundation
import MinimaProtocol
import MinimaCore
import MinimaData

/// `minima bench newton`: what one saddle-free Newton step costs, as a multiple of one SGD epoch
/// on the same samples — the practical question about Hessian methods.
struct NewtonBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "newton",
        abstract: "The cost of one saddle-free Newton step as a multiple of one SGD epoch (batch 10), one thread.",
        discussion: "100→n1→10 tanh, softmax cross-entropy, on the first --samples training samples of mnist10, after one SGD epoch. One step: the gradient, k Lanczos vectors (k Hessian-vector products with full reorthogonalization) and one loss per damping value of the dauphin2014 grid.")

    @Option(help: "Hidden widths n1, comma-separated.")
    var widths = "10,25,100,500"
    @Option(help: "Samples (the SGD epoch and the full-batch step use the same ones).")
    var samples = 10_000
    @Option(help: "Krylov dimension k.")
    var krylov = 100
    @Option(name: .customLong("curvature-fractions"),
            help: "Fractions of the samples the Hessian-vector products use (subsampled curvature; the gradient stays full-batch), comma-separated.")
    var curvatureFractions = "1,0.1"
    @Option(help: "Timed repetitions per cell (the median is reported).")
    var repeats = 3
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func validate() throws {
        _ = try integerList(widths, flag: "--widths", what: "widths", in: 1...4096)
        guard (1...60_000).contains(samples) else { throw ValidationError("--samples: must be in 1...60000 (mnist10's training set), got \(samples)") }
        guard (1...10_000).contains(krylov) else { throw ValidationError("--krylov: must be in 1...10000, got \(krylov)") }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats: must be in 1...1000, got \(repeats)") }
        _ = try fractions()
    }

    func fractions() throws -> [Double] {
        try curvatureFractions.split(separator: ",").map { part in
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)), value > 0 && value <= 1 else {
                throw ValidationError("--curvature-fractions: '\(part)' is not a fraction in (0, 1]")
            }
            return value
        }
    }

    func run() throws {
        try requireSupportedCPU()
        let data = try DatasetSource.mnist10.load()
        var cells: [NewtonBenchCell] = []
        for n1 in try integerList(widths, flag: "--widths", what: "widths", in: 1...4096) {
            let description = TrialDescription(
                seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10", trainingSubset: .first(samples)),
                model: ModelSpec(hidden: [n1], activation: .tanh, loss: .softmaxCrossEntropy),
                initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.05),
                stopping: StoppingRule(maxEpochs: 1))
            // One SGD epoch, as a trial times it (training only).
            var epochTimes: [Double] = []
            var parameters: TrialParameters?
            for _ in 0..<repeats {
                let (result, kept) = try Trainer.run(description, data: data, keepingParameters: true)
                epochTimes.append(result.timing.trainingSeconds)
                parameters = kept
            }
            let network = Network(inputs: data.train.featureCount, hidden: [n1], classes: data.train.outputCount, activation: .tanh)
            func reset() {
                for l in network.layers.indices {
                    network.setWeights(layer: l, parameters!.final.weights[l])
                    network.setBiases(layer: l, parameters!.final.biases[l])
                }
            }
            let surface = LossSurface(network: network, dataset: data.train, samples: (0..<Int32(samples)).map { $0 }, loss: .softmaxCrossEntropy)
            let settings = KrylovSettings(dimension: krylov)
            let method = KrylovNewton(method: .saddleFree, settings: settings)
            let epoch = Timings(samples: epochTimes).median
            for fraction in try fractions() {
                // The curvature subset: the first samples (a trial draws them from its stream).
                let count = max(1, Int((Double(samples) * fraction).rounded()))
                let objective: any SecondOrderObjective = count < samples
                    ? SubsampledCurvature(full: surface, curvatureSamples: (0..<Int32(count)).map { $0 }) : surface
                var stepTimes: [Double] = [], gradientTimes: [Double] = []
                var subspace = 0
                for _ in 0..<repeats {
                    reset()
                    let start = ContinuousClock.now
                    let gradient = objective.gradient()
                    gradientTimes.append(secondsElapsed(since: start))
                    let outcome = method.step(objective, gradient: gradient, current: objective.objective())
                    stepTimes.append(secondsElapsed(since: start))
                    subspace = outcome.subspace
                }
                let step = Timings(samples: stepTimes).median
                cells.append(NewtonBenchCell(n1: n1, parameters: surface.dimension, samples: samples, curvatureSamples: count, krylovDimension: subspace,
                                             dampingValues: settings.damping.count, sgdEpochSeconds: epoch, gradientSeconds: Timings(samples: gradientTimes).median,
                                             saddleFreeNewtonStepSeconds: step, stepOverEpoch: step / epoch))
                FileHandle.standardError.write(Data("n1=\(n1), curvature on \(count) samples: SGD epoch \(String(format: "%.3f", epoch)) s, SFN step \(String(format: "%.3f", step)) s (\(String(format: "%.1f", step / epoch))× an epoch)\n".utf8))
            }
        }
        let report = SingleThreadBenchReport(benchmark: "newton", repeats: repeats, cells: cells)
        print(try printableJSON(report, pretty: pretty))
    }
}

struct NewtonBenchCell: Codable {
    var n1: Int
    var parameters: Int
    var samples: Int
    /// The samples the Hessian-vector products used (subsampled curvature when below `samples`).
    var curvatureSamples: Int
    var krylovDimension: Int
    var dampingValues: Int
    var sgdEpochSeconds: Double
    var gradientSeconds: Double
    var saddleFreeNewtonStepSeconds: Double
    var stepOverEpoch: Double
}

