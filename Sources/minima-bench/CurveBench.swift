import ArgumentParser
import Foundation
import MinimaCore
import MinimaData
import MinimaProtocol

/// `minima-bench curves`: the cost of a curve-fitting step (Garipov et al.'s objective: one
/// minibatch gradient at a point θ(t) of a Bézier curve and the bend's momentum update) and of a
/// 51 × 51 filter-normalized slice, one thread, through the code a connectivity trial and the
/// `slice2d` probe run. With --export it writes each cell's data and end points as .npz for the
/// peer (Scripts/bench/curves-jax.py), which times the same work.
struct CurveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "Curve-fitting steps per second and the time of a 51×51 slice, one thread.",
        discussion: "100→n1→10 ReLU, softmax cross-entropy, on the first --samples training samples of mnist10; two ends trained one epoch each.")

    @Option(help: "Hidden widths n1, comma-separated.")
    var widths = "25,100,500"
    @Option(help: "Training samples: the fit's epoch, minibatches of 100.")
    var samples = 10_000
    @Option(help: "Fit epochs per timed repetition.")
    var fitEpochs = 2
    @Option(help: "Grid points per axis of the slice.")
    var slicePoints = 51
    @Option(help: "Samples the slice's loss is evaluated on.")
    var sliceSamples = 500
    @Option(help: "Timed repetitions per cell (the median is reported).")
    var repeats = 3
    @Option(help: "Write <dir>/n1-<width>.npz with the data and the two end points.")
    var export: String?
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        try requireSupportedCPU()
        let data = try DatasetSource.mnist10.load()
        var cells: [CurveBenchCell] = []
        for n1 in try integerList(widths, flag: "--widths", what: "widths", in: 1...4096) {
            let ends = TrialDescription(
                seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10", trainingSubset: .first(samples)),
                model: ModelSpec(hidden: [n1], activation: .relu, loss: .softmaxCrossEntropy),
                initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 100, learningRate: 0.1),
                stopping: StoppingRule(maxEpochs: 1))
            let connect = ConnectivityDescription(trialIndex: 0, ends: ends, partner: 1, shapes: [.bezier],
                                                  fit: CurveFitSettings(epochs: fitEpochs, batchSize: 100, learningRate: 0.05, momentum: 0.9),
                                                  points: 2, samples: 1)
            let steps = fitEpochs * ((samples + 99) / 100)
            var fit = Timings()
            for _ in 0..<repeats { fit.append(try ConnectivityRunner.run(connect, data: data).timing.fitSeconds / Double(steps)) }
            var sliced = ends
            sliced.probes = ProbeRequest(samples: sliceSamples, registered: ["slice2d": ProbeSettings(["points": Double(slicePoints), "radius": 1])])
            var slice = Timings()
            for _ in 0..<repeats { slice.append(try Trainer.run(sliced, data: data).timing.probeSeconds ?? .nan) }
            let cell = CurveBenchCell(n1: n1, parameters: 100 * n1 + n1 + 10 * n1 + 10, samples: samples, fitSteps: steps,
                                      curveStepSeconds: fit.median, curveStepsPerSecond: 1 / fit.median,
                                      slicePoints: slicePoints, sliceSamples: sliceSamples, sliceSeconds: slice.median)
            cells.append(cell)
            FileHandle.standardError.write(Data("n1=\(n1): curve step \(String(format: "%.3f", fit.median * 1000)) ms, \(slicePoints)×\(slicePoints) slice \(String(format: "%.2f", slice.median)) s\n".utf8))
            if let export {
                try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
                var arrays: [NumPyArchive.Array] = []
                for which in 0..<2 {
                    var end = ends
                    end.trialIndex = UInt64(which)
                    let (_, parameters) = try Trainer.run(end, data: data, keepingParameters: true)
                    arrays += NumPyArchive.arrays(of: parameters!).filter { $0.name.hasPrefix("final/") }.map { array in
                        var renamed = array
                        renamed.name = "end\(which)/" + array.name.dropFirst("final/".count)
                        return renamed
                    }
                }
                var features: [Float] = [], labels: [Float] = []
                for s in 0..<samples {
                    features += data.train.features(s)
                    labels.append(Float(data.train.label(s)))
                }
                arrays += [NumPyArchive.Array(name: "features", shape: [samples, data.train.featureCount], values: features),
                           NumPyArchive.Array(name: "labels", shape: [samples], values: labels)]
                try NumPyArchive.write(arrays, to: "\(export)/n1-\(n1).npz")
            }
        }
        print(try printableJSON(SingleThreadBenchReport(benchmark: "curves", repeats: repeats, cells: cells), pretty: pretty))
    }
}

struct CurveBenchCell: Codable {
    var n1: Int
    var parameters: Int
    var samples: Int
    var fitSteps: Int
    var curveStepSeconds: Double
    var curveStepsPerSecond: Double
    var slicePoints: Int
    var sliceSamples: Int
    var sliceSeconds: Double
}
