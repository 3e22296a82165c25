import ArgumentParser
import Foundation
import MinimaCore
import MinimaData

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print JSON.",
        subcommands: [CoreBench.self])
}

/// Reference samples/s on this machine kind (best of JAX-jit, numpy/OpenBLAS, PyTorch; one thread).
private let referenceSamplesPerSecond: [Int: [Int: Double]] = [
    25: [1: 901_000, 10: 1_520_000, 100: 4_500_000],
    100: [1: 442_000, 10: 1_010_000, 100: 2_480_000],
    500: [1: 103_000, 10: 234_000, 100: 527_000],
]

struct CoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Training throughput: one epoch of 100→n1→10 ReLU, softmax cross-entropy, plain SGD, one thread.",
        discussion: "Prints one JSON object with samples/s and GFLOP/s (6·(100·n1 + 10·n1) FLOP per sample) per cell, the median of --repeats epochs.")

    @Option(help: "Hidden widths n1, comma-separated.")
    var widths = "25,100,500"
    @Option(help: "Batch sizes, comma-separated.")
    var batches = "1,10,100"
    @Option(help: "Epochs timed per cell (the median is reported).")
    var repeats = 5
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        try requireSupportedCPU()
        let data = try DatasetSource.mnist10.load()
        let widthList = widths.split(separator: ",").compactMap { Int($0) }
        let batchList = batches.split(separator: ",").compactMap { Int($0) }
        var cells: [BenchCell] = []
        for n1 in widthList {
            for batch in batchList {
                let lr = batch == 1 ? 0.01 : 0.1
                var rates: [Double] = []
                for run in 0..<repeats {
                    let trial = TrialDescription(
                        seed: 1, trialIndex: UInt64(run), data: DataSelection(dataset: "mnist10"),
                        model: ModelSpec(hidden: [n1], activation: .relu, loss: .softmaxCrossEntropy),
                        initialization: Initialization(scheme: .lecunUniform),
                        optimizer: OptimizerSpec(batchSize: batch, learningRate: lr),
                        stopping: StoppingRule(maxEpochs: 1))
                    let result = try Trainer.run(trial, data: data)
                    rates.append(result.timing.samplesPerSecond)
                }
                rates.sort()
                let median = rates[rates.count / 2]
                let flopsPerSample = 6.0 * Double(100 * n1 + 10 * n1)
                let reference = referenceSamplesPerSecond[n1]?[batch]
                cells.append(BenchCell(
                    n1: n1, batch: batch, learningRate: lr, samplesPerSecond: median.rounded(),
                    gflops: (median * flopsPerSample / 1e9 * 10).rounded() / 10,
                    minSamplesPerSecond: rates.first!.rounded(), maxSamplesPerSecond: rates.last!.rounded(),
                    referenceSamplesPerSecond: reference,
                    ratioToReference: reference.map { (median / $0 * 100).rounded() / 100 }))
                FileHandle.standardError.write(Data("n1=\(n1) batch=\(batch): \(Int(median)) samples/s\n".utf8))
            }
        }
        let report = CoreBenchReport(
            benchmark: "core", instructionSet: buildInstructionSet, threads: 1, epochSamples: data.train.count,
            repeats: repeats, statistic: "median", cpu: cpuModelName(), cells: cells)
        print(try encodeJSON(report, pretty: pretty))
    }
}

struct BenchCell: Codable {
    var n1: Int
    var batch: Int
    var learningRate: Double
    var samplesPerSecond: Double
    var gflops: Double
    var minSamplesPerSecond: Double
    var maxSamplesPerSecond: Double
    var referenceSamplesPerSecond: Double?
    var ratioToReference: Double?
}

struct CoreBenchReport: Codable {
    var benchmark: String
    var instructionSet: String
    var threads: Int
    var epochSamples: Int
    var repeats: Int
    var statistic: String
    var cpu: String
    var cells: [BenchCell]
}

func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
