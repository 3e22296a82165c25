import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaRuntime
import Testing
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A process running in the background, its output going to files (no pipe can fill up).
final class BackgroundProcess {
    let process = Process()
    let outputFile: URL
    let errorFile: URL

    init(_ executable: String, _ arguments: [String], in directory: URL, label: String, workingDirectory: URL? = nil) throws {
        outputFile = directory.appendingPathComponent("\(label).out")
        errorFile = directory.appendingPathComponent("\(label).err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the exit status, or nil after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    deinit { if process.isRunning { signal(SIGKILL) } }
}

/// A scratch directory for one test.
func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("minima-dist-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A TCP port on loopback that was free a moment ago.
func freePort() throws -> Int {
    let context = ZMQContext()
    let socket = try ZMQSocket(context, .router)
    try socket.set(.linger, 0)
    try socket.bind("tcp://127.0.0.1:*")
    return Int(socket.lastEndpoint.split(separator: ":").last!)!
}

/// Training trials heavy enough (~50–100 ms each) to be caught in the middle by a signal.
func trainingTasks(_ count: Int) -> [TaskDescription] {
    (0..<count).map { index in
        .train(TrialDescription(
            seed: 2015, trialIndex: UInt64(index),
            data: DataSelection(dataset: "mnist10", trainingSubset: .first(20000), testLimit: 2000),
            model: ModelSpec(hidden: [48 + index % 3 * 16]), initialization: Initialization(scheme: .fanInUniform),
            optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.05), stopping: StoppingRule(maxEpochs: 2)))
    }
}

func writeTasks(_ tasks: [TaskDescription], in directory: URL) throws -> String {
    let file = directory.appendingPathComponent("tasks.json")
    try JSONEncoder().encode(tasks).write(to: file)
    return file.path
}

/// Trial → fingerprint of every done trial in a ledger.
func fingerprints(_ ledgerPath: String) throws -> [Int: String] {
    var result: [Int: String] = [:]
    for record in try Ledger(existingAt: ledgerPath).allRecords() where record.state == .done { result[record.trial] = record.fingerprint }
    return result
}

func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return false
}

struct ExecutionEvent: Decodable { var event: String; var trial: Int; var lease: UInt64; var ok: Bool }

func executionLog(_ url: URL) -> [ExecutionEvent] {
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(ExecutionEvent.self, from: Data($0.utf8)) }
}

@Suite("Coordinator and workers as real processes", .serialized)
struct DistributedTests {
    @Test func twoWorkerProcessesStoreEveryTrialExactlyOnce() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let run = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--noop", "3000",
                              "--local-workers", "2", "--worker-prefetch", "64"])
        #expect(run.status == 0, "\(run.standardError)")
        let summary = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(run.standardOutput.utf8))
        #expect(summary.counts == TrialCounts(pending: 0, done: 3000, failed: 0))
        #expect(summary.statistics.resultsStored == 3000 && summary.statistics.duplicateResults == 0 && summary.statistics.rejectedResults == 0)
        let records = try Ledger(existingAt: ledger).allRecords()
        #expect(records.map(\.trial) == Array(0..<3000))
        #expect(Set(records.compactMap(\.worker)).count == 2, "both workers took trials")
    }

    @Test func aWorkerKilledMidTrialLeavesTheSameLedgerAsAnUndisturbedRun() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tasks = try writeTasks(trainingTasks(16), in: directory)
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("disturbed.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", tasks,
                                                               "--heartbeat-ms", "200", "--no-speculation"], in: directory, label: "coordinator")
        let victim = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--prefetch", "1",
                                                          "--heartbeat-ms", "200", "--name", "victim", "--execution-log", directory.appendingPathComponent("victim.log").path],
                                           in: directory, label: "victim")
        let survivor = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--prefetch", "1",
                                                            "--heartbeat-ms", "200", "--name", "survivor"], in: directory, label: "survivor")
        // Kill the victim once it has finished one trial, so that it is in the middle of the next.
        let victimLog = directory.appendingPathComponent("victim.log")
        #expect(waitUntil(seconds: 60) { executionLog(victimLog).contains { $0.event == "finished" } }, "victim never finished a trial")
        victim.signal(SIGKILL)
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.errors)")
        _ = survivor.wait(seconds: 10)
        let summary = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(coordinator.output.utf8))
        #expect(summary.counts.done == 16)
        #expect(summary.statistics.workersLost == 1)
        #expect(summary.statistics.requeued >= 1, "the victim's leased trials were reassigned")

        let undisturbedLedger = directory.appendingPathComponent("undisturbed.sqlite").path
        let undisturbed = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", undisturbedLedger, "--tasks", tasks, "--local-workers", "1"])
        #expect(undisturbed.status == 0, "\(undisturbed.standardError)")
        let expected = try fingerprints(undisturbedLedger)
        #expect(expected.count == 16)
        #expect(try fingerprints(ledger) == expected, "every trial has the same bits as in the undisturbed run")
    }

    @Test func aKilledCoordinatorResumesFromItsLedgerWithoutRerunningFinishedTrials() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let arguments = ["coordinator", "--bind", endpoint, "--ledger", ledger, "--sleep", "120", "--sleep-ms", "25",
                         "--heartbeat-ms", "200", "--no-speculation"]
        let first = try BackgroundProcess(minimaBinary, arguments, in: directory, label: "coordinator-1")
        let logs = (0..<2).map { directory.appendingPathComponent("worker-\($0).log") }
        let workers = try (0..<2).map { index in
            try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "2", "--prefetch", "2", "--heartbeat-ms", "200",
                                                 "--name", "worker-\(index)", "--execution-log", logs[index].path], in: directory, label: "worker-\(index)")
        }
        #expect(waitUntil(seconds: 60) { ((try? Ledger(existingAt: ledger).counts().done) ?? 0) >= 30 })
        first.signal(SIGKILL)
        _ = first.wait(seconds: 5)
        let doneAtKill = Set(try fingerprints(ledger).keys)
        let acknowledgedAtKill = Set(logs.flatMap(executionLog).filter { $0.event == "acknowledged" }.map(\.trial))
        #expect(doneAtKill.count >= 30 && doneAtKill.count < 120)
        #expect(acknowledgedAtKill.isSubset(of: doneAtKill), "every acknowledged result was committed before the kill")

        let second = try BackgroundProcess(minimaBinary, arguments, in: directory, label: "coordinator-2")
        #expect(second.wait(seconds: 120) == 0, "\(second.errors)")
        for worker in workers { _ = worker.wait(seconds: 10) }
        let final = try fingerprints(ledger)
        #expect(final.count == 120)
        let executions = Dictionary(grouping: logs.flatMap(executionLog).filter { $0.event == "finished" }, by: \.trial)
        for trial in doneAtKill { #expect(executions[trial]?.count == 1, "trial \(trial) finished before the kill and must not run again") }
        #expect(acknowledgedAtKill.isSubset(of: Set(final.keys)))
    }

    @Test func curveAdmitsOnlyAllowListedWorkers() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("keys").path, allowed = directory.appendingPathComponent("allowed").path
        for name in ["server", "good", "bad"] { #expect(try minima(["keygen", "--name", name, "--out", keys]).status == 0) }
        try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: keys + "/good.key", toPath: allowed + "/good.key")
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--noop", "40",
                                                               "--secret-key", keys + "/server.key_secret", "--allow", allowed, "--heartbeat-ms", "200"],
                                                in: directory, label: "coordinator")
        let badLog = directory.appendingPathComponent("bad.log")
        let bad = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--server-key", keys + "/server.key", "--key", keys + "/bad.key_secret",
                                                       "--name", "bad", "--heartbeat-ms", "200", "--execution-log", badLog.path], in: directory, label: "bad")
        #expect(waitUntil(seconds: 10) { coordinator.errors.contains("refused a CURVE handshake") })
        usleep(500_000)
        #expect(try Ledger(existingAt: ledger).counts().done == 0)
        #expect(executionLog(badLog).isEmpty, "the unknown worker got no trial")
        let good = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--server-key", keys + "/server.key", "--key", keys + "/good.key_secret",
                                                        "--name", "good", "--heartbeat-ms", "200"], in: directory, label: "good")
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.errors)")
        _ = good.wait(seconds: 10)
        bad.signal(SIGKILL)
        let summary = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(coordinator.output.utf8))
        #expect(summary.counts.done == 40)
        #expect(summary.refusedHandshakes >= 1)
        // Under CURVE a result is stored under the name and the first characters of the key it came with.
        let goodKey = try String(contentsOfFile: keys + "/good.key", encoding: .utf8).components(separatedBy: "public-key = \"")[1].prefix(8)
        #expect(try Ledger(existingAt: ledger).allRecords().allSatisfy { $0.worker == "good (key \(goodKey))" })
        #expect(executionLog(badLog).isEmpty)
    }

    /// Runs `tasks` with a coordinator working in `coordinatorHome` and one worker in
    /// `workerHome` (so it lacks the coordinator's files), expects every trial done, and returns
    /// the worker's dataset cache.
    func runOnAWorkerThatFetches(_ tasks: [TaskDescription], in directory: URL, coordinatorHome: URL, workerHome: URL) throws -> URL {
        let taskFile = try writeTasks(tasks, in: directory)
        let port = try freePort()
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", "tcp://127.0.0.1:\(port)", "--ledger", ledger, "--tasks", taskFile],
                                                in: directory, label: "coordinator", workingDirectory: coordinatorHome)
        let cache = directory.appendingPathComponent("cache")
        let worker = try BackgroundProcess(minimaBinary, ["worker", "--connect", "tcp://127.0.0.1:\(port)", "--threads", "2", "--dataset-cache", cache.path],
                                           in: directory, label: "worker", workingDirectory: workerHome)
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.errors)\n\(worker.errors)")
        _ = worker.wait(seconds: 10)
        let records = try Ledger(existingAt: ledger).allRecords()
        #expect(records.count == tasks.count && records.allSatisfy { $0.state == .done }, "\(records.map(\.failure))")
        return cache
    }

    @Test func aWorkerWithoutTheDatasetFetchesItFromTheCoordinatorByHash() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A small dataset only the coordinator's working directory has (12×12 "images").
        let coordinatorHome = directory.appendingPathComponent("coordinator"), workerHome = directory.appendingPathComponent("worker")
        let data = coordinatorHome.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: workerHome, withIntermediateDirectories: true)
        var stream = RandomStream(seed: 9, trial: 0, purpose: .testing)
        func images(_ count: Int) -> IDXFile { IDXFile(dimensions: [count, 12, 12], values: (0..<count * 144).map { _ in UInt8(stream.nextIndex(below: 256)) }) }
        func labels(_ count: Int) -> IDXFile { IDXFile(dimensions: [count], values: (0..<count).map { _ in UInt8(stream.nextIndex(below: 10)) }) }
        let files = IDXQuadruple(trainImages: images(300), trainLabels: labels(300), testImages: images(60), testLabels: labels(60))
        for (file, name) in [(files.trainImages, "train-images-idx3-ubyte"), (files.trainLabels, "train-labels-idx1-ubyte"),
                             (files.testImages, "t10k-images-idx3-ubyte"), (files.testLabels, "t10k-labels-idx1-ubyte")] {
            try Data(IDXFile.encode(dimensions: file.dimensions, values: file.values)).write(to: data.appendingPathComponent(name))
        }
        let tasks: [TaskDescription] = (0..<4).map { index in
            .train(TrialDescription(seed: 1, trialIndex: UInt64(index),
                                    data: DataSelection(dataset: "idx:data", datasetSHA256: files.contentSHA256),
                                    model: ModelSpec(hidden: [8]), initialization: Initialization(scheme: .fanInUniform),
                                    optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.05), stopping: StoppingRule(maxEpochs: 1)))
        }
        let cache = try runOnAWorkerThatFetches(tasks, in: directory, coordinatorHome: coordinatorHome, workerHome: workerHome)
        let cached = cache.appendingPathComponent(files.contentSHA256)
        #expect(FileManager.default.fileExists(atPath: cached.appendingPathComponent("train-images-idx3-ubyte").path))
        #expect(try IDXQuadruple.read(directory: cached.path).contentSHA256 == files.contentSHA256)
    }

    /// The user's own data: an `.npz` written by numpy (float32 features of width 7, regression
    /// targets of width 2) that only the coordinator's directory has. `minima train` runs on it,
    /// and a worker elsewhere fetches it by content hash, checks it and trains on it.
    @Test func aUsersNpzOfFloatsAndTargetsTrainsAndTravelsToWorkersByHash() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let coordinatorHome = directory.appendingPathComponent("coordinator"), workerHome = directory.appendingPathComponent("worker")
        try FileManager.default.createDirectory(at: coordinatorHome, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: workerHome, withIntermediateDirectories: true)
        let numpy = Process()
        numpy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        numpy.arguments = ["python3", "-c", """
            import numpy as np
            rng = np.random.default_rng(5)
            x = rng.standard_normal((260, 7)).astype(np.float32)
            y = np.stack([np.tanh(x @ rng.standard_normal(7)), x[:, 0] * x[:, 1]], axis=1)
            np.savez_compressed("mine.npz", x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
            """]
        numpy.currentDirectoryURL = coordinatorHome
        try numpy.run()
        numpy.waitUntilExit()
        #expect(numpy.terminationStatus == 0)
        let path = coordinatorHome.appendingPathComponent("mine.npz").path
        let data = try DatasetSource(parsing: "npz:\(path)").load()
        #expect(data.train.targets == .values(2) && data.train.count == 200 && data.test.count == 60 && data.train.featureCount == 7)

        // (Predicting zero costs about 0.9: ½ E‖y‖².)
        let trained = try minima(["train", "--data", "npz:\(path)", "--hidden", "6", "--activation", "tanh", "--loss", "mse", "--epochs", "20", "--lr", "0.05"])
        #expect(trained.status == 0, "\(trained.standardError)")
        let result = try JSONSerialization.jsonObject(with: Data(trained.standardOutput.utf8)) as? [String: Any]
        let train = (result?["result"] as? [String: Any])?["train"] as? [String: Any]
        #expect((train?["loss"] as? Double).map { $0 < 0.5 } == true && train?["error"] == nil, "\(trained.standardOutput.suffix(600))")
        let wrongLoss = try minima(["train", "--data", "npz:\(path)", "--hidden", "6", "--epochs", "1"])
        #expect(wrongLoss.status != 0 && wrongLoss.standardError.contains("softmax-cross-entropy needs class labels"), "\(wrongLoss.standardError)")

        let hash = data.train.contentSHA256
        let tasks: [TaskDescription] = (0..<4).map { index in
            .train(TrialDescription(seed: 1, trialIndex: UInt64(index), data: DataSelection(dataset: "npz:mine.npz", datasetSHA256: hash),
                                    model: ModelSpec(hidden: [6], activation: .tanh, loss: .meanSquaredError), initialization: Initialization(scheme: .fanInUniform),
                                    optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.05), stopping: StoppingRule(maxEpochs: 2)))
        }
        let cache = try runOnAWorkerThatFetches(tasks, in: directory, coordinatorHome: coordinatorHome, workerHome: workerHome)
        let cached = try IDXQuadruple.read(directory: cache.appendingPathComponent(hash).path)
        #expect(cached.contentSHA256 == hash && cached.trainImages.elementType == .float32 && cached.trainLabels.dimensions == [200, 2])
    }

    @Test func sigtermMakesAWorkerHandBackUnstartedTrialsAndFinishTheRunningOne() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--sleep", "12", "--sleep-ms", "300",
                                                               "--heartbeat-ms", "200", "--no-speculation"], in: directory, label: "coordinator")
        let log = directory.appendingPathComponent("leaving.log")
        let leaving = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--prefetch", "4", "--heartbeat-ms", "200",
                                                           "--name", "leaving", "--execution-log", log.path], in: directory, label: "leaving")
        #expect(waitUntil(seconds: 30) { executionLog(log).contains { $0.event == "acknowledged" } })
        leaving.signal(SIGTERM)
        #expect(leaving.wait(seconds: 10) == 0, "\(leaving.errors)")
        #expect(leaving.errors.contains("returning 4 unstarted trials"), "\(leaving.errors)")
        let finishedByLeaving = Set(executionLog(log).filter { $0.event == "finished" }.map(\.trial))
        let acknowledged = Set(executionLog(log).filter { $0.event == "acknowledged" }.map(\.trial))
        #expect(finishedByLeaving == acknowledged, "the running trial was finished and its result acknowledged before exiting")
        let helper = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "4", "--heartbeat-ms", "200", "--name", "helper"],
                                           in: directory, label: "helper")
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.errors)")
        _ = helper.wait(seconds: 10)
        let records = try Ledger(existingAt: ledger).allRecords()
        #expect(records.count == 12)
        #expect(records.filter { $0.worker == "helper" }.allSatisfy { $0.attempts == 1 }, "handed-back trials do not count as failed attempts")
    }

    @Test func statusAndPrometheusMetricsDescribeARunningCoordinator() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freePort(), metricsPort = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", directory.appendingPathComponent("run.sqlite").path,
                                                               "--sleep", "60", "--sleep-ms", "100", "--metrics-port", "\(metricsPort)", "--local-workers", "1"],
                                                in: directory, label: "coordinator")
        #expect(waitUntil(seconds: 20) { coordinator.errors.contains("joined") })
        let status = try minima(["status", endpoint])
        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.contains("experiment sleep:") && status.standardOutput.contains("of 60"), "\(status.standardOutput)")
        let json = try minima(["status", endpoint, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])?["experiment"] as? String == "sleep")
        let fetch = { (path: String) throws -> ProcessOutput in
            try minimaPython("-c", ["import sys, urllib.request\ntry:\n  print(urllib.request.urlopen('http://127.0.0.1:\(metricsPort)\(path)').read().decode())\nexcept Exception as e:\n  print(e); sys.exit(1)"])
        }
        let metrics = try fetch("/metrics")
        // The same numbers as JSON, and — a plan without a spec has no live page — `/` is the metrics.
        let served = try JSONDecoder().decode(CoordinatorProgress.self, from: Data(try fetch("/progress.json").standardOutput.utf8))
        #expect(served.counts.total == 60 && served.experiment == "sleep")
        #expect(try fetch("/").standardOutput.contains("minima_trials_total"))
        #expect(try fetch("/live").standardOutput.contains("404"))
        #expect(metrics.status == 0, "\(metrics.standardOutput)")
        for name in ["minima_trials{experiment=\"sleep\",state=\"done\"}", "minima_workers_alive", "minima_ledger_commit_seconds_total", "minima_dispatch_rate", "minima_completion_rate"] {
            #expect(metrics.standardOutput.contains(name), "\(name) missing")
        }
        // The trial states partition the trials: they add up to the total, in /metrics and in status.
        var byState: [String: Double] = [:]
        var total: Double?
        for line in metrics.standardOutput.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0].hasPrefix("minima_trials{"), let state = parts[0].split(separator: "state=\"").last?.split(separator: "\"").first {
                byState[String(state)] = value
            } else if parts[0].hasPrefix("minima_trials_total{") {
                total = value
            }
        }
        #expect(Set(byState.keys) == ["pending", "running", "done", "failed"])
        #expect(total == 60)
        #expect(byState.values.reduce(0, +) == 60, "\(byState)")
        let progress = try JSONDecoder().decode(CoordinatorProgress.self, from: Data(try minima(["status", endpoint, "--json"]).standardOutput.utf8))
        #expect(progress.counts.total == 60, "\(progress.counts)")
        #expect(try fetch("/healthz").standardOutput.hasPrefix("ok"))
        #expect(coordinator.wait(seconds: 60) == 0)
        let silent = try minima(["status", "tcp://127.0.0.1:\(port)", "--timeout", "0.5"])
        #expect(silent.status != 0 && silent.standardError.contains("no answer within 0.5 s"))
    }

    @Test func withoutKeysTheCoordinatorRefusesToBindBeyondLoopback() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try minima(["coordinator", "--bind", "tcp://*:0", "--ledger", directory.appendingPathComponent("x.sqlite").path, "--noop", "1"])
        #expect(run.status != 0)
        #expect(run.standardError.contains("refusing to bind tcp://*:0 without CURVE keys"))
    }

    @Test func theLedgerOfAnotherExperimentIsRefused() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = directory.appendingPathComponent("x.sqlite").path
        #expect(try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--noop", "5", "--local-workers", "1"]).status == 0)
        let other = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--noop", "6"])
        #expect(other.status != 0)
        #expect(other.standardError.contains("this ledger belongs to experiment 'noop'"))
    }

    @Test func aSecondCoordinatorOnTheSameLedgerIsRefusedAndTheFirstFinishes() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = directory.appendingPathComponent("shared.sqlite").path
        let first = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", "tcp://127.0.0.1:\(try freePort())", "--ledger", ledger,
                                                         "--sleep", "20", "--sleep-ms", "50", "--local-workers", "1", "--heartbeat-ms", "200"],
                                          in: directory, label: "first")
        #expect(waitUntil(seconds: 20) { first.errors.contains("joined") })
        let second = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--sleep", "20", "--sleep-ms", "50", "--local-workers", "1"])
        #expect(second.status == 1)
        #expect(second.standardError.contains("another process (a coordinator or minima run) has this ledger open for writing"), "\(second.standardError)")
        #expect(first.wait(seconds: 60) == 0, "\(first.errors)")
        #expect(try Ledger(existingAt: ledger).counts().done == 20)
    }

    @Test func whenEveryLocalWorkerHasDiedTheCoordinatorSaysSoInsteadOfWaiting() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Workers that cannot start: an impossible heartbeat makes each exit at once with a usage error.
        let run = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", directory.appendingPathComponent("x.sqlite").path,
                              "--sleep", "5", "--local-workers", "2", "--heartbeat-ms", "200", "--local-worker-argument=--heartbeat-ms=0"])
        #expect(run.status == 1, "\(run.standardError)")
        #expect(run.standardError.contains("all 2 local workers exited"), "\(run.standardError)")
    }

    @Test func thePythonExampleWorkerCompletesTrials() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tasks = try writeTasks((0..<30).map { $0 % 3 == 0 ? .sleep(milliseconds: 5) : .noop }, in: directory)
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", tasks], in: directory, label: "coordinator")
        var script = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { script.deleteLastPathComponent() }
        let python = try BackgroundProcess("/usr/bin/env", ["python3", script.appendingPathComponent("Scripts/example-worker.py").path, "--connect", endpoint, "--name", "python-worker"],
                                           in: directory, label: "python")
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.errors)\n\(python.errors)")
        #expect(python.wait(seconds: 10) == 0, "\(python.errors)")
        let records = try Ledger(existingAt: ledger).allRecords()
        #expect(records.count == 30 && records.allSatisfy { $0.state == .done && $0.worker == "python-worker" })

        // A Python peer offering an unknown version is told the supported ones.
        let ledger2 = directory.appendingPathComponent("run2.sqlite").path
        let port2 = try freePort()
        let coordinator2 = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", "tcp://127.0.0.1:\(port2)", "--ledger", ledger2, "--noop", "1"], in: directory, label: "coordinator2")
        let stranger = try minimaPython(script.appendingPathComponent("Scripts/example-worker.py").path, ["--connect", "tcp://127.0.0.1:\(port2)", "--version", "9"])
        #expect(stranger.status == 2)
        #expect(stranger.standardError.contains("unsupported-version") && stranger.standardError.contains("[1]"))
        coordinator2.signal(SIGTERM)
        #expect(coordinator2.wait(seconds: 10) == 0)
    }

    @Test func spinGlassTrialsThatThePythonWorkerCannotRunGoToAMinimaWorker() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let glasses: [TaskDescription] = (0..<6).map { index in
            .spinGlass(SpinGlassDescription(seed: 3, trialIndex: UInt64(index), order: 3, spins: 30, realization: 0,
                                            optimizer: SphereDescent(learningRate: 0.2), stopping: StoppingRule(maxEpochs: 2000, gradientTolerance: 1e-5),
                                            computeIndex: index == 0))
        }
        let tasks = try writeTasks(glasses + [.noop, .noop], in: directory)
        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("glass.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", tasks],
                                                in: directory, label: "coordinator")
        var script = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { script.deleteLastPathComponent() }
        let python = try BackgroundProcess("/usr/bin/env", ["python3", script.appendingPathComponent("Scripts/example-worker.py").path, "--connect", endpoint, "--name", "python-worker"],
                                           in: directory, label: "python")
        // The Python worker alone (it says it runs noop and sleep): it gets the noops; the spin
        // glasses wait for a worker that runs them instead of failing attempt after attempt.
        #expect(waitUntil(seconds: 30) { ((try? Ledger(existingAt: ledger).counts().done) ?? 0) >= 2 })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try Ledger(existingAt: ledger).counts() == LedgerCounts(pending: 6, done: 2, failed: 0))
        let swift = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--name", "minima-worker"], in: directory, label: "worker")
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.errors)\n\(python.errors)")
        _ = python.wait(seconds: 10)
        _ = swift.wait(seconds: 10)
        let records = try Ledger(existingAt: ledger).allRecords()
        #expect(records.count == 8 && records.allSatisfy { $0.state == .done })
        #expect(records.filter { $0.trial < 6 }.allSatisfy { $0.worker == "minima-worker" && $0.attempts == 1 }, "only the Minima worker descends a spin glass, at the first attempt")
        let outcome = try #require(records.first { $0.trial == 0 }?.outcomeJSON)
        guard let result = try MessageCodec.makeDecoder().decode(TaskOutcome.self, from: Data(outcome.utf8)).as(SpinGlassResult.self) else {
            Issue.record("trial 0 is not a spin-glass result"); return
        }
        #expect(result.stopReason == .gradientTolerance && result.index == 0 && result.energy < -1.2)
        // The same trial in-process gives the same bits as the worker did.
        guard let description = glasses[0].as(SpinGlassDescription.self) else { return }
        #expect(try SpinGlassRunner.run(description).deterministicFingerprint == result.deterministicFingerprint)
    }

    @Test func sigtermStopsTheCoordinatorCleanlyAndTheRunResumesLater() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = directory.appendingPathComponent("run.sqlite").path
        let arguments = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--sleep", "200", "--sleep-ms", "10", "--local-workers", "1", "--worker-threads", "2"]
        let coordinator = try BackgroundProcess(minimaBinary, arguments, in: directory, label: "first")
        #expect(waitUntil(seconds: 30) { ((try? Ledger(existingAt: ledger).counts().done) ?? 0) >= 20 })
        coordinator.signal(SIGTERM)
        #expect(coordinator.wait(seconds: 10) == 0, "\(coordinator.errors)")
        let stopped = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(coordinator.output.utf8))
        #expect(stopped.stoppedBySignal)
        #expect(stopped.counts.done < 200)
        let resumed = try minima(arguments)
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try Ledger(existingAt: ledger).counts() == LedgerCounts(pending: 0, done: 200, failed: 0))
    }
}

/// Runs a Python script (or `-c CODE`) to completion.
func minimaPython(_ script: String, _ arguments: [String]) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    let directory = try scratchDirectory()
    let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return ProcessOutput(status: process.terminationStatus, standardOutput: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         standardError: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}
