import ArgumentParser
import Foundation
import MinimaProtocol
import MinimaCore
import MinimaData

/// `minima bench probes`: Hessian-vector products and gradients on the same data, and whole
/// Hessian probes, one thread. With --export it also writes each cell's data, parameters, a
/// direction and Minima's H·v as .npz, so that a peer (Scripts/bench/probes-jax.py) can time the
/// same products and check them.
struct ProbeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "Hessian-vector products and gradients per second, and the time of a whole Hessian probe, one thread.",
        discussion: "100→n1→10 ReLU, softmax cross-entropy, on the first --samples training samples of mnist10, at a fan-in-uniform initial point trained for one epoch.")

    @Option(help: "Hidden widths n1, comma-separated.")
    var widths = "25,100,500"
    @Option(help: "Samples in the loss (full batch).")
    var samples = 10_000
    @Option(help: "Timed repetitions per cell (the median is reported).")
    var repeats = 7
    @Option(help: "Samples for the whole Hessian probe (the landscape preset's setting).")
    var probeSamples = 2000
    @Option(help: "Write <dir>/n1-<width>.npz with the data, parameters, a direction and Minima's H·v.")
    var export: String?
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        try requireSupportedCPU()
        let data = try DatasetSource.mnist10.load()
        let widthList = try integerList(widths, flag: "--widths", what: "widths", in: 1...4096)
        var cells: [ProbeBenchCell] = []
        for n1 in widthList {
            let description = TrialDescription(
                seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10", trainingSubset: .first(samples)),
                model: ModelSpec(hidden: [n1], activation: .relu, loss: .softmaxCrossEntropy),
                initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 100, learningRate: 0.1),
                stopping: StoppingRule(maxEpochs: 1))
            let (_, parameters) = try Trainer.run(description, data: data, keepingParameters: true)
            let network = Network(inputs: data.train.featureCount, hidden: [n1], classes: data.train.outputCount, activation: .relu)
            for l in network.layers.indices {
                network.setWeights(layer: l, parameters!.final.weights[l])
                network.setBiases(layer: l, parameters!.final.biases[l])
            }
            let sampleList = (0..<Int32(samples)).map { $0 }
            let surface = LossSurface(network: network, dataset: data.train, samples: sampleList, loss: .softmaxCrossEntropy)
            var stream = RandomStream(seed: 1, trial: 0, purpose: .testing, substream: UInt32(n1))
            let direction = (0..<surface.dimension).map { _ in stream.nextGaussian() }
            var product: [Double] = []
            func time(_ body: () -> Void) -> Timings {
                body()   // warm-up
                return Timings(samples: (0..<repeats).map { _ in let start = ContinuousClock.now; body(); return secondsElapsed(since: start) })
            }
            let gradientTimes = time { _ = surface.gradient() }
            let productTimes = time { product = surface.hessianVectorProduct(direction) }
            // The whole probe of the landscape preset, on its sample count.
            var probed = description
            probed.probes = ProbeRequest(samples: probeSamples, hessian: HessianProbe(extremes: 5, tolerance: 1e-4, density: DensityProbe(probes: 4, steps: 60)))
            let probeResult = try Trainer.run(probed, data: data)
            let gradient = gradientTimes.median, hvp = productTimes.median
            let cell = ProbeBenchCell(
                n1: n1, parameters: surface.dimension, samples: samples,
                gradientSeconds: gradient, hessianVectorProductSeconds: hvp,
                hessianVectorProductsPerSecond: 1 / hvp, productOverGradient: hvp / gradient,
                minimumHessianVectorProductSeconds: productTimes.minimum, maximumHessianVectorProductSeconds: productTimes.maximum,
                hessianProbeSeconds: probeResult.timing.probeSeconds ?? .nan, hessianProbeSamples: probeSamples,
                hessianProbeProducts: (probeResult.probes?.hessian?.lanczosSteps ?? 0) + 4 * 60)
            cells.append(cell)
            FileHandle.standardError.write(Data("n1=\(n1): gradient \(String(format: "%.2f", gradient * 1000)) ms, H·v \(String(format: "%.2f", hvp * 1000)) ms (\(String(format: "%.2f", hvp / gradient))×), whole probe \(String(format: "%.1f", cell.hessianProbeSeconds)) s\n".utf8))
            if let export {
                try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
                var features: [Float] = [], labels: [Float] = []
                for s in 0..<samples {
                    features += data.train.features(s)
                    labels.append(Float(data.train.label(s)))
                }
                let arrays = NumPyArchive.arrays(of: parameters!).filter { $0.name.hasPrefix("final/") } + [
                    NumPyArchive.Array(name: "features", shape: [samples, data.train.featureCount], values: features),
                    NumPyArchive.Array(name: "labels", shape: [samples], values: labels),
                    NumPyArchive.Array(name: "direction", shape: [direction.count], values: direction.map(Float.init)),
                    NumPyArchive.Array(name: "product", shape: [product.count], values: product.map(Float.init)),
                ]
                try NumPyArchive.write(arrays, to: "\(export)/n1-\(n1).npz")
            }
        }
        let report = SingleThreadBenchReport(benchmark: "probes", repeats: repeats, cells: cells)
        print(try printableJSON(report, pretty: pretty))
    }
}

struct ProbeBenchCell: Codable {
    var n1: Int
    var parameters: Int
    var samples: Int
    var gradientSeconds: Double
    var hessianVectorProductSeconds: Double
    var hessianVectorProductsPerSecond: Double
    var productOverGradient: Double
    var minimumHessianVectorProductSeconds: Double
    var maximumHessianVectorProductSeconds: Double
    var hessianProbeSeconds: Double
    var hessianProbeSamples: Int
    var hessianProbeProducts: Int
}

