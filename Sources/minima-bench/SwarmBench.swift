import ArgumentParser
import Foundation
import Logging
import MinimaCore
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaRuntime
import ZeroMQ

/// `minima bench swarm`: one coordinator against N simulated workers — many DEALER connections
/// from a few processes, each speaking the real protocol (hello with threads and credit,
/// heartbeats, results with credit, acknowledgements) and doing no-op or sleep trials.
struct SwarmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "One coordinator against N simulated workers: throughput, coordinator CPU and memory, heartbeats, and how fast vanished workers are declared dead and their trials requeued.",
        discussion: """
            For each N: (1) throughput — --trials no-op trials through N workers, every result \
            committed to a fresh ledger before it is acknowledged; (2) vanishing — N workers take \
            sleep trials, then a process holding 100 of them is killed (SIGKILL) at once: the time \
            until the coordinator has declared all 100 dead, and until their trials are leased \
            again, against the bound heartbeat × liveness + 1 s. The coordinator runs in this \
            process (its CPU time and peak RSS are this process's); the workers run in \
            --processes other processes.
            """)

    @Option(help: "Numbers of simulated workers, comma-separated.")
    var workers = "10,100,1000"
    @Option(help: "No-op trials per throughput run.")
    var trials = 300_000
    @Option(help: "Worker processes the simulated workers are spread over (the vanishing 100 get their own).")
    var processes = 2
    @Option(help: "Threads each simulated worker announces.")
    var threads = 2
    @Option(help: "Credit each simulated worker keeps (threads + prefetch).")
    var credit = 4
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval.")
    var heartbeatMilliseconds = 1000
    @Option(help: "Heartbeats of silence after which a worker is dead.")
    var liveness = 3
    @Flag(help: "Skip the vanishing measurement.")
    var throughputOnly = false
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func validate() throws {
        _ = try integerList(workers, flag: "--workers", what: "counts", in: 1...100_000)
        guard (1...100_000_000).contains(trials) else { throw ValidationError("--trials: must be in 1...100000000, got \(trials)") }
        guard (1...64).contains(processes) else { throw ValidationError("--processes: must be in 1...64, got \(processes)") }
        guard (1...1024).contains(threads) else { throw ValidationError("--threads: must be in 1...1024, got \(threads)") }
        guard (1...1024).contains(credit) else { throw ValidationError("--credit: must be in 1...1024, got \(credit)") }
        guard (10...3_600_000).contains(heartbeatMilliseconds) else { throw ValidationError("--heartbeat-ms: must be in 10...3600000, got \(heartbeatMilliseconds)") }
        guard (1...1000).contains(liveness) else { throw ValidationError("--liveness: must be in 1...1000, got \(liveness)") }
    }

    func run() throws {
        var cells: [SwarmCell] = []
        for n in try integerList(workers, flag: "--workers", what: "counts", in: 1...100_000) {
            var cell = try throughput(workers: n)
            if !throughputOnly && n >= 100 { cell.vanishing = try vanishing(workers: n) }
            cells.append(cell)
            FileHandle.standardError.write(Data("N=\(n): \(Int(cell.trialsPerSecond)) trials/s, coordinator CPU \(String(format: "%.0f", cell.coordinatorCPUPercent))%, peak RSS \(cell.coordinatorPeakRSSMegabytes) MB\(cell.vanishing.map { ", 100 vanished: dead after \(String(format: "%.2f", $0.secondsToDeclareDead)) s, requeued after \(String(format: "%.2f", $0.secondsToRequeue)) s" } ?? "")\n".utf8))
        }
        let report = SwarmReport(benchmark: "swarm", cpu: cpuModelName(), cores: ProcessInfo.processInfo.activeProcessorCount,
                                 heartbeatMilliseconds: heartbeatMilliseconds, liveness: liveness, threadsPerWorker: threads, creditPerWorker: credit, cells: cells)
        print(try printableJSON(report, pretty: pretty))
    }

    func configuration(_ directory: URL) -> CoordinatorConfiguration {
        var configuration = CoordinatorConfiguration(endpoint: "tcp://127.0.0.1:*", ledgerPath: directory.appendingPathComponent("ledger.sqlite").path)
        configuration.heartbeatMilliseconds = heartbeatMilliseconds
        configuration.liveness = liveness
        return configuration
    }

    func start(_ count: Int, in processCount: Int, endpoint: String, prefix: String) -> [Process] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var started: [Process] = []
        for p in 0..<processCount {
            let share = count / processCount + (p < count % processCount ? 1 : 0)
            guard share > 0 else { continue }
            let process = Process()
            process.executableURL = executable
            process.arguments = ["swarm-workers", "--connect", endpoint, "--count", "\(share)", "--name", "\(prefix)\(p)",
                                 "--threads", "\(threads)", "--credit", "\(credit)", "--heartbeat-ms", "\(heartbeatMilliseconds)"]
            process.standardOutput = Pipe()
            do { try process.run(); started.append(process) } catch {
                FileHandle.standardError.write(Data("could not start simulated workers: \(error)\n".utf8))
            }
        }
        return started
    }

    /// What a worker process printed when it ended.
    func collect(_ processes: [Process]) -> [SwarmWorkersSummary] {
        processes.compactMap { process in
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { process.terminate() }
            guard let pipe = process.standardOutput as? Pipe else { return nil }
            return try? JSONDecoder().decode(SwarmWorkersSummary.self, from: pipe.fileHandleForReading.readDataToEndOfFile())
        }
    }

    func throughput(workers n: Int) throws -> SwarmCell {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-swarm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = configuration(directory)
        let coordinator = try Coordinator(plan: .noop(count: trials), configuration: configuration, logger: .minima("bench", quiet: true))
        var processes: [Process] = []
        coordinator.onBound = { endpoint in processes = start(n, in: min(self.processes, n), endpoint: endpoint, prefix: "s") }
        var connected = 0
        coordinator.onProgress = { progress in connected = max(connected, progress.workers) }
        let cpuBefore = processCPUSeconds()
        let summary = try coordinator.run()
        let cpu = processCPUSeconds() - cpuBefore
        let clients = collect(processes)
        let stored = try Ledger(existingAt: configuration.ledgerPath).counts()
        let ledgerBytes = ["", "-wal"].reduce(0) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: configuration.ledgerPath + suffix)[.size] as? Int) ?? 0)
        }
        let received = clients.reduce(0) { $0 + $1.heartbeatsReceived }, sent = clients.reduce(0) { $0 + $1.heartbeatsSent }
        let seconds = clients.map(\.seconds).max() ?? summary.seconds
        return SwarmCell(
            workers: n, workersSeen: summary.statistics.workersSeen, trials: trials, storedInLedger: stored.done, failed: stored.failed,
            duplicateResults: summary.statistics.duplicateResults, seconds: round3(summary.seconds),
            trialsPerSecond: (Double(trials) / summary.seconds).rounded(), coordinatorCPUSeconds: round3(cpu),
            coordinatorCPUPercent: (cpu / summary.seconds * 100).rounded(), coordinatorPeakRSSMegabytes: peakResidentMegabytes(),
            heartbeatsToCoordinatorPerSecond: (Double(sent) / seconds).rounded(), heartbeatsFromCoordinatorPerSecond: (Double(received) / seconds).rounded(),
            commits: summary.statistics.commits, ledgerBytesPerTrial: ledgerBytes / max(1, trials))
    }


    func vanishing(workers n: Int) throws -> SwarmVanishing {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-swarm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = configuration(directory)
        configuration.progressInterval = .milliseconds(20)
        configuration.speculativeExecution = false
        // Every worker's credit is filled with 3 s sleeps; the 100 that vanish hold 100 × credit.
        let sleepMilliseconds = 3000
        let count = n * credit
        let coordinator = try Coordinator(plan: .sleep(count: count, milliseconds: sleepMilliseconds), configuration: configuration, logger: .minima("bench", quiet: true))
        var survivors: [Process] = [], doomed: [Process] = [], replacements: [Process] = []
        var boundEndpoint = ""
        coordinator.onBound = { endpoint in
            boundEndpoint = endpoint
            survivors = start(n - 100, in: min(processes, max(1, n - 100)), endpoint: endpoint, prefix: "s")
            doomed = start(100, in: 1, endpoint: endpoint, prefix: "v")
        }
        var killedAt: ContinuousClock.Instant?
        var lostBefore = 0, requeuedBefore = 0
        var declaredDead: Double?, requeued: Double?
        coordinator.onProgress = { progress in
            if killedAt == nil, progress.workers == n, progress.leasesOut == count, let victim = doomed.first {
                lostBefore = progress.statistics.workersLost
                requeuedBefore = progress.statistics.requeued
                kill(victim.processIdentifier, SIGKILL)
                killedAt = .now
                return
            }
            guard let killedAt else { return }
            let elapsed = secondsElapsed(since: killedAt)
            if declaredDead == nil && progress.statistics.workersLost - lostBefore >= 100 { declaredDead = elapsed }
            if requeued == nil && progress.statistics.requeued - requeuedBefore >= 100 * credit {
                requeued = elapsed
                // New machines take the vanished ones' place, so that the run finishes and the
                // ledger can be checked for lost or duplicated trials.
                replacements = start(100, in: 1, endpoint: boundEndpoint, prefix: "r")
            }
        }
        let summary = try coordinator.run()
        let heartbeats = collect(survivors + replacements)
        doomed.forEach { $0.waitUntilExit() }
        let stored = try Ledger(existingAt: configuration.ledgerPath).counts()
        return SwarmVanishing(
            vanished: 100, leasesHeld: 100 * credit, boundSeconds: Double(heartbeatMilliseconds * liveness) / 1000 + 1,
            secondsToDeclareDead: round3(declaredDead ?? .nan), secondsToRequeue: round3(requeued ?? .nan),
            trials: count, storedInLedger: stored.done, failed: stored.failed, duplicateResults: summary.statistics.duplicateResults,
            heartbeatsToCoordinatorPerSecond: (Double(heartbeats.reduce(0) { $0 + $1.heartbeatsSent }) / summary.seconds).rounded(),
            heartbeatsFromCoordinatorPerSecond: (Double(heartbeats.reduce(0) { $0 + $1.heartbeatsReceived }) / summary.seconds).rounded())
    }

    func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// The CPU time (user + system) of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
}

/// The peak resident set of this process, in MB.
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}

struct SwarmCell: Codable {
    var workers: Int
    var workersSeen: Int
    var trials: Int
    var storedInLedger: Int
    var failed: Int
    var duplicateResults: Int
    var seconds: Double
    var trialsPerSecond: Double
    var coordinatorCPUSeconds: Double
    var coordinatorCPUPercent: Double
    var coordinatorPeakRSSMegabytes: Int
    var heartbeatsToCoordinatorPerSecond: Double
    var heartbeatsFromCoordinatorPerSecond: Double
    var commits: Int
    /// The ledger's size (with its WAL) over the trials stored: no-op outcomes, the floor.
    var ledgerBytesPerTrial: Int
    var vanishing: SwarmVanishing?
}

struct SwarmVanishing: Codable {
    var vanished: Int
    var leasesHeld: Int
    /// heartbeat × liveness + 1 s.
    var boundSeconds: Double
    var secondsToDeclareDead: Double
    var secondsToRequeue: Double
    var trials: Int
    var storedInLedger: Int
    var failed: Int
    var duplicateResults: Int
    /// Heartbeats while the workers sleep (idle connections heartbeat; busy ones need not).
    var heartbeatsToCoordinatorPerSecond: Double
    var heartbeatsFromCoordinatorPerSecond: Double
}

struct SwarmReport: Codable {
    var benchmark: String
    var cpu: String
    var cores: Int
    var heartbeatMilliseconds: Int
    var liveness: Int
    var threadsPerWorker: Int
    var creditPerWorker: Int
    var cells: [SwarmCell]
}

struct SwarmWorkersSummary: Codable {
    var workers: Int
    var resultsSent: Int
    var heartbeatsSent: Int
    var heartbeatsReceived: Int
    var seconds: Double
}

/// `minima-bench swarm-workers` (hidden): `--count` simulated workers in this process, one DEALER
/// connection each, all served by one thread polling every socket.
struct SwarmWorkers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "swarm-workers", abstract: "Simulated workers for `minima-bench swarm`.", shouldDisplay: false)

    @Option var connect: String
    @Option var count: Int
    @Option var name: String
    @Option var threads = 2
    @Option var credit = 4
    @Option(name: .customLong("heartbeat-ms")) var heartbeatMilliseconds = 1000

    func validate() throws {
        guard (1...100_000).contains(count), (1...1024).contains(threads), (1...1024).contains(credit), (10...3_600_000).contains(heartbeatMilliseconds) else {
            throw ValidationError("--count 1...100000, --threads and --credit 1...1024, --heartbeat-ms 10...3600000")
        }
    }

    func run() throws {
        let context = ZMQContext()
        var sockets: [ZMQSocket] = []
        for i in 0..<count {
            let socket = try ZMQSocket(context, .dealer)
            try socket.set(.linger, 0)
            try socket.set(.routingID, Array("\(name)-\(i)".utf8))
            try socket.set(.sendHighWaterMark, 100_000)
            try socket.set(.receiveHighWaterMark, 100_000)
            try socket.connect(connect)
            try socket.send(MessageCodec.encode(.hello(Hello(worker: "\(name)-\(i)", threads: threads, instructionSet: buildInstructionSet, kinds: ["noop", "sleep"], credit: credit))))
            sockets.append(socket)
        }
        let start = ContinuousClock.now
        let heartbeat = Duration.milliseconds(heartbeatMilliseconds)
        var lastSent = [ContinuousClock.Instant](repeating: start, count: count)
        var open = [Bool](repeating: true, count: count)
        var sleeping: [(due: ContinuousClock.Instant, socket: Int, report: TrialReport)] = []
        var summary = SwarmWorkersSummary(workers: count, resultsSent: 0, heartbeatsSent: 0, heartbeatsReceived: 0, seconds: 0)
        func send(_ i: Int, _ message: Message) {
            if (try? sockets[i].send(MessageCodec.encode(message), dontWait: true)) != nil { lastSent[i] = .now }
        }
        while open.contains(true) {
            let readable = try pollForInput(sockets, timeoutMilliseconds: 5)
            let now = ContinuousClock.now
            for i in sockets.indices where readable[i] && open[i] {
                while let frames = try sockets[i].receive(dontWait: true) {
                    guard let message = try? MessageCodec.decode(frames) else { continue }
                    switch message {
                    case .trials(let trials):
                        var done: [TrialReport] = []
                        for lease in trials.leases {
                            if let sleep = lease.task.as(SleepTask.self) {
                                let milliseconds = sleep.milliseconds
                                sleeping.append((now + .milliseconds(milliseconds), i, TrialReport(trial: lease.trial, lease: lease.lease, outcome: .slept(milliseconds: milliseconds), seconds: Double(milliseconds) / 1000)))
                            } else {
                                done.append(TrialReport(trial: lease.trial, lease: lease.lease, outcome: .noop, seconds: 0))
                            }
                        }
                        if !done.isEmpty {
                            send(i, .results(Results(results: done, credit: done.count)))
                            summary.resultsSent += done.count
                        }
                    case .heartbeat: summary.heartbeatsReceived += 1
                    case .shutdown: open[i] = false
                    default: break
                    }
                }
            }
            if !sleeping.isEmpty {
                let due = sleeping.filter { $0.due <= now }
                sleeping.removeAll { $0.due <= now }
                for (_, i, report) in due where open[i] {
                    send(i, .results(Results(results: [report], credit: 1)))
                    summary.resultsSent += 1
                }
            }
            for i in sockets.indices where open[i] && now - lastSent[i] >= heartbeat {
                send(i, .heartbeat)
                summary.heartbeatsSent += 1
            }
        }
        summary.seconds = secondsElapsed(since: start)
        print(try printableJSON(summary, pretty: false))
    }
}
