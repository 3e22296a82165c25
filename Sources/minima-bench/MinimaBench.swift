import ArgumentParser
import Foundation
import MinimaProtocol
import MinimaCore
import MinimaData
import MinimaLedger
import MinimaRuntime

/// `minima-bench`: the benchmarks, outside the shipped `minima` (as swift-nio and
/// swift-collections keep theirs out of what they ship). Each prints one JSON object; the
/// `Scripts/bench/*` commands build it in release and add the peers (JAX, numpy, pyzmq) in the
/// same run.
@main
struct MinimaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minima-bench",
        abstract: "Benchmarks that print JSON.",
        subcommands: [CoreBench.self, DispatchBench.self, SwarmBench.self, SwarmWorkers.self, ProbeBench.self, NewtonBench.self, SpinGlassBench.self, CurveBench.self, LivePageBench.self])
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
        let widthList = try integerList(widths, flag: "--widths", what: "widths", in: 1...4096)
        let batchList = try integerList(batches, flag: "--batches", what: "batch sizes", in: 1...60_000)
        var cells: [BenchCell] = []
        for n1 in widthList {
            for batch in batchList {
                let lr = batch == 1 ? 0.01 : 0.1
                var rates = Timings()
                for run in 0..<repeats {
                    let trial = TrialDescription(
                        seed: 1, trialIndex: UInt64(run), data: DataSelection(dataset: "mnist10"),
                        model: ModelSpec(hidden: [n1], activation: .relu, loss: .softmaxCrossEntropy),
                        initialization: Initialization(scheme: .fanInUniform),
                        optimizer: OptimizerSpec(batchSize: batch, learningRate: lr),
                        stopping: StoppingRule(maxEpochs: 1))
                    let result = try Trainer.run(trial, data: data)
                    rates.append(result.timing.samplesPerSecond)
                }
                let median = rates.median
                let flopsPerSample = 6.0 * Double(100 * n1 + 10 * n1)
                let reference = referenceSamplesPerSecond[n1]?[batch]
                cells.append(BenchCell(
                    n1: n1, batch: batch, learningRate: lr, samplesPerSecond: median.rounded(),
                    gflops: (median * flopsPerSample / 1e9 * 10).rounded() / 10,
                    minSamplesPerSecond: rates.minimum.rounded(), maxSamplesPerSecond: rates.maximum.rounded(),
                    referenceSamplesPerSecond: reference,
                    ratioToReference: reference.map { (median / $0 * 100).rounded() / 100 }))
                FileHandle.standardError.write(Data("n1=\(n1) batch=\(batch): \(Int(median)) samples/s\n".utf8))
            }
        }
        let report = CoreBenchReport(
            benchmark: "core", instructionSet: buildInstructionSet, threads: 1, epochSamples: data.train.count,
            repeats: repeats, statistic: "median", cpu: cpuModelName(), cells: cells, data: try dataCells())
        print(try printableJSON(report, pretty: pretty))
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

/// The JSON of a single-thread benchmark: what ran where, and its cells (medians).
struct SingleThreadBenchReport<Cell: Codable>: Codable {
    var benchmark: String
    var instructionSet = buildInstructionSet
    var threads = 1
    var repeats: Int
    var statistic = "median"
    var cpu = cpuModelName()
    var cells: [Cell]
}

/// Data is not the bottleneck: generating a teacher dataset of 60,000 × 100 and loading an `.npz`
/// of the same size (float32 features, one float32 target), medians of 3.
func dataCells() throws -> [DataCell] {
    let teacher = "teacher:inputs=100,hidden=20,train=60000,test=10000,seed=1"
    var generation = Timings(), arrays = Timings()
    var sha = ""
    for _ in 0..<3 {
        let start = ContinuousClock.now
        let files = try DatasetSource(parsing: teacher).files()
        arrays.append(secondsSince(start))
        let data = try TrainingData(files: files, name: teacher)
        generation.append(secondsSince(start))
        sha = data.train.contentSHA256
    }
    FileHandle.standardError.write(Data("teacher arrays (draws, teacher, IDX bytes, SHA-256): \(arrays.median) s\n".utf8))
    let files = try DatasetSource(parsing: teacher).files()
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("minima-bench-\(UUID().uuidString).npz").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try NumPyArchive.write([
        .init(name: "x_train", shape: [60000, 100], values: files.trainImages.floats()), .init(name: "y_train", shape: [60000], values: files.trainLabels.floats()),
        .init(name: "x_test", shape: [10000, 100], values: files.testImages.floats()), .init(name: "y_test", shape: [10000], values: files.testLabels.floats()),
    ], to: path)
    var loading = Timings()
    for _ in 0..<3 {
        let start = ContinuousClock.now
        _ = try DatasetSource(parsing: "npz:\(path)").load()
        loading.append(secondsSince(start))
    }
    let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    FileHandle.standardError.write(Data("teacher 60000×100: \(generation.median) s; npz of \(bytes) bytes: \(loading.median) s\n".utf8))
    return [DataCell(what: "generate \(teacher) (load included)", samples: 70000, features: 100, seconds: generation.median, sha256: sha),
            DataCell(what: "load an uncompressed .npz of the same arrays (\(bytes) bytes)", samples: 70000, features: 100, seconds: loading.median, sha256: nil)]
}

private func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

struct DataCell: Codable {
    var what: String
    var samples: Int
    var features: Int
    var seconds: Double
    var sha256: String?
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
    var data: [DataCell]
}


struct DispatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Dispatch throughput: no-op trials through a coordinator and 2 local worker processes on loopback.",
        discussion: """
            Every result is committed to a fresh SQLite ledger (WAL, synchronous=FULL) before it \
            is acknowledged. Prints trials/s, the per-trial overhead in µs and the time from \
            start to the first result, as JSON (medians of --repeats runs).
            """)

    @Option(help: "No-op trials per run.")
    var trials = 200_000
    @Option(help: "Runs (the median is reported).")
    var repeats = 5
    @Option(help: "Local worker processes.")
    var workers = 2
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        var runs: [DispatchRun] = []
        for index in 0..<repeats {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = CoordinatorConfiguration(endpoint: "tcp://127.0.0.1:*", ledgerPath: directory.appendingPathComponent("ledger.sqlite").path)
            let coordinator = try Coordinator(plan: .noop(count: trials), configuration: configuration, logger: .minima("bench", quiet: true))
            let local = LocalWorkers(executable: minimaExecutable)
            coordinator.onBound = { endpoint in local.start(count: workers, endpoint: endpoint, threads: 1, prefetch: 2, quiet: true) }
            let summary = try coordinator.run()
            local.waitOrTerminate(seconds: 5)
            let stored = try Ledger(existingAt: configuration.ledgerPath).counts().done
            let run = DispatchRun(
                trialsPerSecond: (Double(trials) / summary.seconds).rounded(),
                microsecondsPerTrial: (summary.seconds * 1e6 / Double(trials) * 100).rounded() / 100,
                secondsToFirstResult: ((summary.statistics.secondsToFirstResult ?? .nan) * 1000).rounded() / 1000,
                seconds: (summary.seconds * 1000).rounded() / 1000, storedInLedger: stored, commits: summary.statistics.commits)
            runs.append(run)
            FileHandle.standardError.write(Data("run \(index + 1): \(Int(run.trialsPerSecond)) trials/s, first result after \(run.secondsToFirstResult) s, \(stored) stored\n".utf8))
        }
        func median(_ values: [Double]) -> Double { Timings(samples: values).median }
        let report = DispatchReport(
            benchmark: "dispatch", trials: trials, workers: workers, repeats: repeats, statistic: "median", durability: "every result committed (WAL, synchronous=FULL) before its ack",
            trialsPerSecond: median(runs.map(\.trialsPerSecond)), microsecondsPerTrial: median(runs.map(\.microsecondsPerTrial)),
            secondsToFirstResult: median(runs.map(\.secondsToFirstResult)),
            reference: ["ray": 3900, "dask": 670, "daskTuned": 3100, "ipyparallel": 750, "pyzmqLockStepFloor": 53000, "pyzmqPipelinedFloor": 140000],
            target: ["trialsPerSecond": 100_000, "secondsToFirstResult": 0.1],
            instructionSet: buildInstructionSet, runs: runs)
        print(try printableJSON(report, pretty: pretty))
    }
}

struct DispatchRun: Codable {
    var trialsPerSecond: Double
    var microsecondsPerTrial: Double
    var secondsToFirstResult: Double
    var seconds: Double
    var storedInLedger: Int
    var commits: Int
}

struct DispatchReport: Codable {
    var benchmark: String
    var trials: Int
    var workers: Int
    var repeats: Int
    var statistic: String
    var durability: String
    var trialsPerSecond: Double
    var microsecondsPerTrial: Double
    var secondsToFirstResult: Double
    var reference: [String: Double]
    var target: [String: Double]
    var instructionSet: String
    var runs: [DispatchRun]
}
