import Foundation
import MinimaCore
import Testing

/// The `minima` executable built beside this test bundle (or $MINIMA_BINARY).
let minimaBinary: String = {
    if let path = ProcessInfo.processInfo.environment["MINIMA_BINARY"] { return path }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("minima").path
}()

/// The benchmarks' binary, beside `minima`.
let minimaBenchBinary: String = URL(fileURLWithPath: minimaBinary).deletingLastPathComponent().appendingPathComponent("minima-bench").path

struct ProcessOutput {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs `minima` with `arguments` and waits for it.
func minima(_ arguments: [String], binary: String = minimaBinary) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes concurrently so that neither can fill up and block the child.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = error.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return ProcessOutput(status: process.terminationStatus,
                         standardOutput: String(decoding: outputData, as: UTF8.self),
                         standardError: String(decoding: errorData, as: UTF8.self))
}

func json(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("minima train, as a process")
struct TrainCommandTests {
    @Test func parametersLeaveTheProcessAsANumPyArchive() throws {
        let file = try scratchDirectory().appendingPathComponent("end point.npz").path
        let run = try minima(["train", "--hidden", "7,5", "--epochs", "1", "--train-subset", "500", "--save-parameters", file])
        #expect(run.status == 0, "\(run.standardError)")
        let result = try #require(try json(run.standardOutput)["result"] as? [String: Any])
        // numpy reads every array with its shape, and the final arrays hash to the result's
        // parametersSHA256 (each layer's weights [out][in], then its biases, float32 LE).
        let check = try minimaPython("-c", ["""
            import hashlib, sys, numpy
            z = numpy.load(sys.argv[1])
            print(sorted((k, z[k].shape, str(z[k].dtype)) for k in z.files))
            final = b"".join(z[f"final/layer{l}/{p}"].astype("<f4").tobytes() for l in range(3) for p in ("weight", "bias"))
            print(hashlib.sha256(final).hexdigest())
            print(bool((z["initial/layer0/weight"] != z["final/layer0/weight"]).any()))
            """, file])
        #expect(check.status == 0, "\(check.standardError)")
        let lines = check.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "[('final/layer0/bias', (7,), 'float32'), ('final/layer0/weight', (7, 100), 'float32'), ('final/layer1/bias', (5,), 'float32'), ('final/layer1/weight', (5, 7), 'float32'), ('final/layer2/bias', (10,), 'float32'), ('final/layer2/weight', (10, 5), 'float32'), ('initial/layer0/bias', (7,), 'float32'), ('initial/layer0/weight', (7, 100), 'float32'), ('initial/layer1/bias', (5,), 'float32'), ('initial/layer1/weight', (5, 7), 'float32'), ('initial/layer2/bias', (10,), 'float32'), ('initial/layer2/weight', (10, 5), 'float32')]")
        #expect(lines.dropFirst().first == result["parametersSHA256"] as? String)
        #expect(lines.last == "True", "training moved the weights")
    }

    @Test func probeFlagsReportTheEndPoint() throws {
        let run = try minima(["train", "--hidden", "8", "--epochs", "1", "--train-subset", "1000", "--hessian", "--density-probes", "4",
                              "--density-steps", "30", "--exact-below", "2000", "--path-points", "5", "--path-partner", "1"])
        #expect(run.status == 0, "\(run.standardError)")
        let probes = try #require((try json(run.standardOutput)["result"] as? [String: Any])?["probes"] as? [String: Any])
        let hessian = try #require(probes["hessian"] as? [String: Any])
        #expect(hessian["parameters"] as? Int == 8 * 100 + 8 + 10 * 8 + 10)
        #expect((hessian["largest"] as? [[String: Any]])?.count == 5 && hessian["index"] != nil && hessian["exact"] != nil)
        let paths = try #require(probes["paths"] as? [String: Any])
        #expect(((paths["initToEnd"] as? [String: Any])?["losses"] as? [Double])?.count == 5)
        #expect((paths["toPartner"] as? [String: Any])?["partner"] as? Int == 1)

        let bad = try minima(["train", "--hidden", "8", "--hessian", "--extremes", "0"])
        #expect(bad.status != 0 && bad.standardError.contains("--extremes: must be in 1...1000, got 0"), "\(bad.standardError)")
        let unwritable = try minima(["train", "--hidden", "3", "--train-subset", "100", "--save-parameters", "/nonexistent-dir/p.npz"])
        #expect(unwritable.status != 0 && unwritable.standardError.contains("--save-parameters: /nonexistent-dir/p.npz: cannot create"), "\(unwritable.standardError)")
    }

    @Test func oneEpochOfWidth100ReachesNinetyFourPercentOnMnist10() throws {
        let run = try minima(["train", "--hidden", "100", "--batch", "10", "--lr", "0.1", "--epochs", "1", "--seed", "7"])
        #expect(run.status == 0, "\(run.standardError)")
        let result = try #require(try json(run.standardOutput)["result"] as? [String: Any])
        let test = try #require(result["test"] as? [String: Any])
        let error = try #require(test["error"] as? Double)
        #expect(error <= 0.06, "test accuracy \(1 - error)")
        #expect(result["status"] as? String == "completed")
        #expect((result["timing"] as? [String: Any])?["instructionSet"] as? String != nil)
    }

    @Test func twoProcessesWithTheSameFlagsAgreeOnEveryBit() throws {
        let flags = ["train", "--hidden", "30", "--batch", "50", "--epochs", "2", "--train-subset", "5000",
                     "--subset-sampling", "random", "--momentum", "0.9", "--activation", "tanh", "--seed", "11", "--trial-index", "3"]
        let first = try json(try minima(flags).standardOutput)
        let second = try json(try minima(flags).standardOutput)
        var a = try #require(first["result"] as? [String: Any]), b = try #require(second["result"] as? [String: Any])
        a["timing"] = nil
        b["timing"] = nil
        #expect(NSDictionary(dictionary: a).isEqual(to: b))
        #expect((a["parametersSHA256"] as? String)?.count == 64)
    }

    @Test func aPrintedDescriptionReproducesItsResult() throws {
        let first = try minima(["train", "--hidden", "20", "--epochs", "1", "--train-subset", "3000", "--validation", "500", "--init", "orthogonal"])
        let output = try json(first.standardOutput)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("trial.json")
        try JSONSerialization.data(withJSONObject: try #require(output["description"])).write(to: file)
        let again = try json(try minima(["train", "--description", file.path]).standardOutput)
        let hash = { (o: [String: Any]) in (o["result"] as? [String: Any])?["parametersSHA256"] as? String }
        #expect(hash(output) != nil && hash(output) == hash(again))
    }

    static let badInvocations: [([String], String)] = [
        (["train", "--batch", "0"], "--batch: must be in 1...65536, got 0"),
        (["train", "--lr=-0.5"], "--lr: must be a positive finite number"),
        (["train", "--hidden", "100,x"], "--hidden: 'x' is not a width"),
        (["train", "--activation", "softsign"], "softsign"),
        (["train", "--data", "idx:/nonexistent"], "/nonexistent: no train-images-idx3-ubyte"),
        (["train", "--train-subset", "70000"], "--train-subset: asks for the first 70000 samples but the training set has 60000"),
        (["train", "--patience", "2"], "--patience: early stopping needs a validation split"),
        (["train", "--description", "/nonexistent.json"], "/nonexistent.json: cannot read"),
        (["train", "--frobnicate"], "--frobnicate"),
    ]

    @Test(arguments: badInvocations)
    func badInputGivesAOneLineErrorAndANonZeroExit(arguments: [String], message: String) throws {
        let run = try minima(arguments)
        #expect(run.status != 0)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.contains(message), "\(run.standardError)")
        #expect(run.standardError.split(separator: "\n").first?.hasPrefix("Error: ") == true)
    }

    @Test func aMalformedDescriptionNamesTheField() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.json")
        try Data(#"{"seed": 1, "trialIndex": 0, "optimizer": {"batchSize": "ten"}}"#.utf8).write(to: file)
        let run = try minima(["train", "--description", file.path])
        #expect(run.status != 0)
        #expect(run.standardError.contains("bad.json: not a trial description"), "\(run.standardError)")
    }

    @Test func helpDocumentsEveryFlag() throws {
        let help = try minima(["train", "--help"]).standardOutput
        for flag in ["--hidden", "--activation", "--loss", "--init", "--init-scale", "--batch", "--lr", "--momentum", "--nesterov",
                     "--weight-decay", "--schedule", "--epochs", "--grad-tol", "--patience", "--seed", "--trial-index",
                     "--data", "--train-subset", "--validation", "--description"] {
            #expect(help.contains(flag), "\(flag) missing from --help")
        }
    }
}

/// Numbers nobody checked used to crash processes or make them wait forever (issue 9): each is
/// now refused at the edge with one line naming the flag, the range and the value.
@Suite("Flags out of range, as processes")
struct FlagRangeTests {
    static let cases: [([String], String)] = [
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--time-limit", "inf"], "--time-limit: must be a number of seconds in (0, 31536000] (one year), got inf"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--time-limit", "nan"], "--time-limit: must be a number of seconds"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--speculate-after", "nan"], "--speculate-after: must be a number of seconds in [0, 31536000], got nan"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--heartbeat-ms", "0"], "--heartbeat-ms: must be between 10 and 3600000 milliseconds, got 0"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--metrics-port", "70000"], "--http-port (--metrics-port): must be a TCP port between 1 and 65535, got 70000"),
        (["run", "--http-port", "0"], "--http-port (--metrics-port): must be a TCP port between 1 and 65535, got 0"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--local-workers", "1", "--worker-threads", "0"], "--worker-threads: must be between 1 and 4096, got 0"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--verify", "1.5"], "verify fraction: must be between 0 and 1, got 1.5"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--verify", "nan"], "verify fraction: must be between 0 and 1, got nan"),
        (["coordinator", "--ledger", "/tmp/minima-never.sqlite", "--noop", "1", "--commit-interval-ms=-1"], "commit interval: must be between 0 and 60000 milliseconds, got -1"),
        (["run", "--verify", "nan", "--dry-run"], "--verify: must be a fraction between 0 and 1, got nan"),
        (["worker", "--connect", "tcp://127.0.0.1:1", "--threads", "0"], "--threads: must be between 1 and 4096, got 0"),
        (["worker", "--connect", "tcp://127.0.0.1:1", "--heartbeat-ms", "0"], "--heartbeat-ms: must be between 10 and 3600000, got 0"),
        (["run", "--workers", "0", "--dry-run"], "--workers: must be between 1 and 4096, got 0"),
        (["run", "--time-limit", "inf", "--dry-run"], "--time-limit: must be a number of seconds in (0, 31536000], got inf"),
        (["train", "--optimizer", "newton", "--damping", "0,-1"], "--damping: must be a finite number ≥ 0, got -1.0"),
        (["train", "--optimizer", "saddle-free-newton", "--damping", "inf"], "--damping: must be a finite number ≥ 0, got inf"),
        (["train", "--optimizer", "newton", "--damping", "0,x"], "--damping: 'x' is not a number"),
        (["train", "--optimizer", "newton", "--krylov-dimension", "20000"], "--krylov-dimension: must be in 1...10000, got 20000"),
        (["train", "--krylov-dimension", "5"], "--krylov-dimension and --damping apply to --optimizer newton or saddle-free-newton"),
        (["train", "--target-loss=nan"], "--target-loss: must be a finite number ≥ 0, got nan"),
        (["train", "--relative-grad-tol=2"], "--relative-grad-tol: must be in (0, 1), got 2.0"),
        (["train", "--warm-start-epochs=-1"], "--warm-start-epochs: must be in 0...1000000, got -1"),
        (["minima-bench", "swarm", "--processes", "0"], "--processes: must be in 1...64, got 0"),
        (["minima-bench", "swarm", "--workers", "10,-5"], "--workers: expected comma-separated counts in 1...100000, got '10,-5'"),
        (["minima-bench", "newton", "--repeats", "0"], "--repeats: must be in 1...1000, got 0"),
        (["minima-bench", "newton", "--widths", "10,../x"], "--widths: expected comma-separated widths in 1...4096, got '10,../x'"),
    ]

    @Test(arguments: cases)
    func anOutOfRangeFlagIsAUsageErrorNamingIt(arguments: [String], message: String) throws {
        // Cases that start with "minima-bench" are the benchmarks' binary's.
        let run = arguments.first == "minima-bench" ? try minima(Array(arguments.dropFirst()), binary: minimaBenchBinary) : try minima(arguments)
        #expect(run.status == 64, "a usage error (EX_USAGE): \(run.standardError)")
        #expect(run.standardError.contains(message), "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/minima-never.sqlite"), "nothing was created")
    }

    @Test(arguments: ["missing.sqlite", "not-a-ledger.sqlite", "../escape/../missing.sqlite"])
    func upgradeLedgerNamesWhatItCannotUpgrade(name: String) throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("hello, not SQLite".utf8).write(to: directory.appendingPathComponent("not-a-ledger.sqlite"))
        let run = try minima(["upgrade-ledger", directory.appendingPathComponent(name).path])
        #expect(run.status == 1, "\(run.standardOutput)\(run.standardError)")
        #expect(run.standardError.hasPrefix("Error: ") && run.standardError.contains(name.split(separator: "/").last!), "\(run.standardError)")
    }

    @Test func aTaskFileIsCheckedBeforeTheRunStarts() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var tasks = trainingTasks(3)
        if var trial = tasks[2].as(TrialDescription.self) { trial.model.hidden = [65536, 65536]; tasks[2] = .train(trial) }
        let file = try writeTasks(tasks, in: directory)
        let ledger = directory.appendingPathComponent("never.sqlite").path
        let run = try minima(["coordinator", "--ledger", ledger, "--tasks", file, "--local-workers", "1"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("task 2: trial.model.hidden[1]: 65536 × 65536"), "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: ledger), "refused before any ledger was made")
    }
}
