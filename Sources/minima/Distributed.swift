import ArgumentParser
import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol
import MinimaReport
import MinimaRuntime
import ZeroMQ

struct Coordinate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Hand an experiment's trials to workers over ZeroMQ and keep every result in a ledger.",
        discussion: """
            Binds a ROUTER socket; workers (minima worker) connect to it. Restarting on the same \
            ledger resumes the run: finished trials are never rerun. Prints a JSON summary at the end.
              minima coordinator --bind tcp://127.0.0.1:5555 --ledger run.sqlite --noop 10000
              minima coordinator --bind tcp://*:5555 --ledger run.sqlite --tasks trials.json --secret-key server.key_secret --allow workers/
            """)

    @Argument(help: "The experiment spec (YAML), as for minima run.")
    var spec: String?
    @Option(help: "A built-in preset as the experiment: \(Presets.names.joined(separator: ", ")).")
    var preset: String?
    @Option(help: "Endpoint to bind (tcp://HOST:PORT, tcp://*:PORT, ipc://PATH). Use port * for any free port.")
    var bind = "tcp://127.0.0.1:5555"
    @Option(help: "The SQLite ledger (created if missing, resumed if present).")
    var ledger: String
    @Option(help: "The experiment: N no-op trials.")
    var noop: Int?
    @Option(name: .customLong("sleep"), help: "The experiment: N trials that sleep --sleep-ms each.")
    var sleepTrials: Int?
    @Option(name: .customLong("sleep-ms"), help: "Milliseconds each --sleep trial sleeps.")
    var sleepMilliseconds = 10
    @Option(help: "The experiment: a JSON file holding an array of task descriptions (see docs/PROTOCOL.md).")
    var tasks: String?
    @Option(help: "Experiment name (recorded in the ledger).")
    var name: String?

    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.")
    var heartbeatMilliseconds = 1000
    @Option(help: "Heartbeats a worker may miss before it is declared dead.")
    var liveness = 3
    @Option(name: .customLong("max-attempts"), help: "Leases per trial that may end without a result before the trial is recorded as failed.")
    var maxAttempts = 3
    @Option(name: .customLong("time-limit"), help: "Seconds a lease may run before it expires (counts as a failed attempt).")
    var timeLimit: Double?
    @Flag(name: .customLong("no-speculation"), help: "Never lease running trials again to idle workers.")
    var noSpeculation = false
    @Option(name: .customLong("speculate-after"), help: "Seconds a lease must have run before an idle worker may get a copy.")
    var speculateAfter = 2.0

    @Option(name: .customLong("secret-key"), help: "The coordinator's CURVE certificate (NAME.key_secret from minima keygen).")
    var secretKey: String?
    @Option(help: "Directory of allowed worker public keys (*.key); required with --secret-key.")
    var allow: String?
    @Flag(help: "Allow binding a non-loopback address without CURVE (trusted networks only).")
    var insecure = false

    @Option(name: [.customLong("http-port"), .customLong("metrics-port")], help: ArgumentHelp(
        "Serve HTTP on this port: a live page of the study at / (for a spec or preset), Prometheus metrics at /metrics, progress at /progress.json, health at /healthz. --metrics-port is the same option.",
        valueName: "port"))
    var httpPort: Int?
    @Option(name: [.customLong("http-host"), .customLong("metrics-host")], help: "Address for --http-port (default loopback; 0.0.0.0 for all interfaces: the page is read-only but shows names and failures).")
    var httpHost = "127.0.0.1"

    @Flag(name: .customLong("keep-running"), help: "When the experiment is complete, keep serving status, the page, metrics and health until stopped (for Kubernetes and systemd).")
    var keepRunning = false

    @Option(name: .customLong("local-workers"), help: "Also start N worker processes on this machine.")
    var localWorkers = 0
    @Option(name: .customLong("worker-threads"), help: "Threads per local worker.")
    var workerThreads = 1
    @Option(name: .customLong("worker-prefetch"), help: "Prefetch per local worker.")
    var workerPrefetch = 2
    @Option(name: .customLong("local-worker-argument"), parsing: .unconditionalSingleValue, help: .hidden)
    var localWorkerArguments: [String] = []

    @Option(help: "Re-run this fraction of finished trials on a different worker and compare; a worker outvoted by two others is quarantined and its results rerun.")
    var verify: Double?
    @Option(name: .customLong("commit-interval-ms"), help: .hidden)
    var commitIntervalMilliseconds = 5

    func validate() throws {
        let chosen = [spec != nil || preset != nil, noop != nil, sleepTrials != nil, tasks != nil].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("give exactly one experiment: a SPEC file, --preset NAME, --noop N, --sleep N or --tasks FILE") }
        if let name, let problem = ExperimentName.problem(name) { throw ValidationError("--name: \(problem)") }
        if let noop, !(0...1_000_000_000).contains(noop) { throw ValidationError("--noop: must be between 0 and 10⁹, got \(noop)") }
        if let sleepTrials, !(0...1_000_000_000).contains(sleepTrials) { throw ValidationError("--sleep: must be between 0 and 10⁹, got \(sleepTrials)") }
        if !(0...86_400_000).contains(sleepMilliseconds) { throw ValidationError("--sleep-ms: must be between 0 and 86400000, got \(sleepMilliseconds)") }
        if secretKey != nil && allow == nil { throw ValidationError("--secret-key needs --allow DIR (the worker public keys)") }
        if allow != nil && secretKey == nil { throw ValidationError("--allow needs --secret-key") }
        if !(0...4096).contains(localWorkers) { throw ValidationError("--local-workers: must be between 0 and 4096, got \(localWorkers)") }
        if !(1...4096).contains(workerThreads) { throw ValidationError("--worker-threads: must be between 1 and 4096, got \(workerThreads)") }
        if !(0...1_000_000).contains(workerPrefetch) { throw ValidationError("--worker-prefetch: must be between 0 and 1000000, got \(workerPrefetch)") }
        do { try configuration.validate() } catch { throw ValidationError(error.problem) }
    }

    /// The experiment from a spec or preset (nil for the other kinds of plan).
    func experiment() throws -> ResolvedExperiment? {
        spec != nil || preset != nil ? try ResolvedExperiment.load(path: spec, preset: preset) : nil
    }

    func plan(_ experiment: ResolvedExperiment?) throws -> ExperimentPlan {
        if let experiment { return experiment.plan }
        if let noop { return .noop(count: noop, name: name ?? "noop") }
        if let sleepTrials { return .sleep(count: sleepTrials, milliseconds: sleepMilliseconds, name: name ?? "sleep") }
        let path = tasks!
        // Bounded before it is read: a coordinator holds about forty times a tasks file's size in
        // memory (4 million no-op tasks, 64 MB: 2.6 GB peak; 5 million aborted one under 4 GiB).
        let limit = 32 << 20
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            throw CommandFailure("\(path): \(size >> 20) MiB; a tasks file may be at most \(limit >> 20) MiB (about 70,000 training tasks or 2 million no-op ones) — split the study, or describe it as a spec")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path): cannot read") }
        let list: [TaskDescription]
        do { list = try JSONDecoder().decode([TaskDescription].self, from: data) } catch {
            throw CommandFailure("\(path): not a JSON array of task descriptions: \(MessageCodec.describe(error, in: data))")
        }
        // Every task is checked before the run starts, not when a worker gets it.
        for (index, task) in list.enumerated() {
            if let problem = task.payload.invalidity { throw CommandFailure("\(path): task \(index): \(problem)") }
        }
        return .list(list, name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
    }

    /// The configuration the flags give (without keys, which are read in run()).
    var configuration: CoordinatorConfiguration {
        var configuration = CoordinatorConfiguration(endpoint: bind, ledgerPath: ledger)
        configuration.heartbeatMilliseconds = heartbeatMilliseconds
        configuration.liveness = liveness
        configuration.maximumAttempts = maxAttempts
        configuration.trialTimeLimitSeconds = timeLimit
        configuration.speculativeExecution = !noSpeculation
        configuration.speculativeAfterSeconds = speculateAfter
        configuration.insecure = insecure
        configuration.httpPort = httpPort
        configuration.httpHost = httpHost
        configuration.keepRunningWhenComplete = keepRunning
        configuration.verificationFraction = verify ?? 0
        configuration.commitIntervalMilliseconds = commitIntervalMilliseconds
        return configuration
    }

    func run() throws {
        try requireSupportedCPU()
        StopSignal.install()
        var configuration = self.configuration
        if let secretKey, let allow {
            let certificate = try KeyFiles.read(secretKey)
            guard let secret = certificate.secretKey else { throw CommandFailure("\(secretKey): holds no secret-key (use the .key_secret file)") }
            configuration.security = .curve(serverSecretKey: secret, allowedClientKeys: try KeyFiles.allowList(directory: allow))
        }
        let experiment = try experiment()
        let coordinator = try Coordinator(plan: try plan(experiment), configuration: configuration)
        if httpPort != nil, let experiment {
            coordinator.liveView = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial)
        }
        let workers = LocalWorkers()
        if localWorkers > 0 {
            coordinator.onBound = { endpoint in
                workers.start(count: localWorkers, endpoint: endpoint, threads: workerThreads, prefetch: workerPrefetch, extraArguments: localWorkerArguments)
            }
            coordinator.giveUpCheck = { workers.allExited(connected: $0) }
        }
        let summary = try coordinator.run()
        workers.waitOrTerminate(seconds: 5)
        print(try printableJSON(summary, pretty: true))
    }
}

struct Work: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run trials for a coordinator, one per thread.",
        discussion: """
            Connects a DEALER socket and asks for trials as it has room (threads + prefetch). \
            Reconnects with exponential backoff when the coordinator is away, so workers may start \
            before it. SIGTERM hands unstarted trials back and finishes running ones (or abandons \
            them with --abandon-on-stop).

            Memory: each trial's peak memory is estimated from its description (parameters and \
            optimizer state, Lanczos bases, dense Hessians, spin-glass couplings). A trial starts \
            only when its estimate fits in what the running trials leave of --memory-budget; the \
            others wait their turn. A trial larger than the whole budget fails at once, saying so.
              minima worker --connect tcp://coordinator-host:5555 --threads 32
            """)

    @Option(help: "The coordinator's endpoint.")
    var connect: String
    @Option(help: "Trials run at once (default: this machine's cores).")
    var threads: Int?
    @Option(help: "Trials asked for beyond --threads.")
    var prefetch = 2
    @Option(help: "Name in logs and the ledger (default host:pid).")
    var name: String?
    @Option(name: .customLong("server-key"), help: "The coordinator's public certificate (NAME.key) for CURVE.")
    var serverKey: String?
    @Option(help: "This worker's certificate with its secret key (NAME.key_secret) for CURVE.")
    var key: String?
    @Flag(name: .customLong("abandon-on-stop"), help: "On SIGTERM, abandon running trials instead of finishing them.")
    var abandonOnStop = false
    @Flag(help: "Keep reconnecting after the coordinator shuts down, instead of exiting.")
    var stay = false
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.")
    var heartbeatMilliseconds = 1000
    @Option(name: .customLong("dataset-cache"), help: "Directory for datasets fetched from the coordinator.")
    var datasetCache: String?
    @Option(name: .customLong("execution-log"), help: "Append a JSON line per finished trial to this file.")
    var executionLog: String?
    @Option(name: .customLong("memory-budget"),
            help: "Gigabytes the running trials' estimated peak memory may add up to (default: 80% of this machine's memory, its cgroup limit or ulimit -v, \(megabytesText(MachineMemory.defaultBudget))).")
    var memoryBudget: Double?

    @Flag(name: .customLong("perturb-results"), help: .hidden)
    var perturbResults = false

    func validate() throws {
        if let threads, !(1...4096).contains(threads) { throw ValidationError("--threads: must be between 1 and 4096, got \(threads)") }
        if !(0...1_000_000).contains(prefetch) { throw ValidationError("--prefetch: must be between 0 and 1000000, got \(prefetch)") }
        if !(10...3_600_000).contains(heartbeatMilliseconds) { throw ValidationError("--heartbeat-ms: must be between 10 and 3600000, got \(heartbeatMilliseconds)") }
        if (serverKey == nil) != (key == nil) { throw ValidationError("CURVE needs both --server-key and --key") }
        if let memoryBudget, !(memoryBudget.isFinite && memoryBudget >= 0.01 && memoryBudget <= 1_000_000) {
            throw ValidationError("--memory-budget: must be a number of gigabytes in [0.01, 1000000], got \(memoryBudget)")
        }
    }

    func run() throws {
        try requireSupportedCPU()
        StopSignal.install()
        var configuration = WorkerConfiguration(endpoint: connect)
        if let threads { configuration.threads = threads }
        configuration.prefetch = prefetch
        configuration.perturbResults = perturbResults
        if let name { configuration.name = name }
        configuration.finishRunningOnStop = !abandonOnStop
        configuration.exitOnShutdown = !stay
        configuration.heartbeatMilliseconds = heartbeatMilliseconds
        configuration.executionLog = executionLog
        if let memoryBudget { configuration.memoryBudgetBytes = Int(memoryBudget * 1e9) }
        if let datasetCache { configuration.datasetCache = datasetCache }
        switch (serverKey, key) {
        case (nil, nil): break
        case (let server?, let own?):
            let serverPublic = try KeyFiles.read(server).publicKey
            let certificate = try KeyFiles.read(own)
            guard let secret = certificate.secretKey else { throw CommandFailure("\(own): holds no secret-key (use the .key_secret file)") }
            configuration.curve = (serverPublic, certificate.publicKey, secret)
        default:
            break   // rejected in validate()
        }
        let worker = Worker(configuration: configuration)
        let summary = try worker.run()
        FileHandle.standardError.write(Data("worker \(configuration.name): \(summary.trialsRun) trials run, \(summary.resultsAcknowledged) acknowledged, \(summary.reconnects) reconnects; \(summary.exitReason)\n".utf8))
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CURVE key pair: DIR/NAME.key (public) and DIR/NAME.key_secret.",
        discussion: "Give the coordinator its .key_secret with --secret-key and put each worker's .key in the --allow directory.")

    @Option(help: "Base name of the key files.")
    var name: String
    @Option(help: "Directory to write them to.")
    var out = "."

    func run() throws {
        let files = try KeyFiles.generate(name: name, directory: out)
        print(files.publicFile)
        print(files.secretFile)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the progress of a running coordinator.",
        discussion: """
              minima status tcp://coordinator-host:5555
              minima status tcp://coordinator-host:5555 --watch      # redraw every 2 s until the study is done
            """)

    @Argument(help: "The coordinator's endpoint.")
    var endpoint: String
    @Flag(help: "Print the raw JSON.")
    var json = false
    @Flag(help: "Ask again every --interval seconds and redraw, until every trial is final or the coordinator is gone.")
    var watch = false
    @Option(help: "Seconds between two redraws with --watch.")
    var interval = 2.0
    @Option(name: .customLong("server-key"), help: "The coordinator's public certificate, for CURVE.")
    var serverKey: String?
    @Option(help: "An allowed certificate with its secret key, for CURVE.")
    var key: String?
    @Option(help: "Seconds to wait for an answer.")
    var timeout = 5.0

    func validate() throws {
        if !(interval.isFinite && interval >= 0.1 && interval <= 3600) { throw ValidationError("--interval: must be between 0.1 and 3600 seconds, got \(interval)") }
        if !(timeout.isFinite && timeout > 0 && timeout <= 3600) { throw ValidationError("--timeout: must be between 0 and 3600 seconds, got \(timeout)") }
    }

    func run() throws {
        let context = ZMQContext()
        let socket = try ZMQSocket(context, .dealer)
        try socket.set(.linger, 0)
        if let serverKey, let key {
            let certificate = try KeyFiles.read(key)
            guard let secret = certificate.secretKey, let server = Z85.decodeKey(try KeyFiles.read(serverKey).publicKey),
                  let publicKey = Z85.decodeKey(certificate.publicKey), let secretKey = Z85.decodeKey(secret) else {
                throw CommandFailure("\(key): needs public-key and secret-key")
            }
            try socket.set(.curveServerKey, server)
            try socket.set(.curvePublicKey, publicKey)
            try socket.set(.curveSecretKey, secretKey)
        }
        try socket.connect(endpoint)
        guard watch else {
            let body = try ask(socket)
            if json { print(String(decoding: body, as: UTF8.self)); return }
            print(describe(try decode(body)), terminator: "")
            return
        }
        StopSignal.install()
        let interactive = isatty(STDOUT_FILENO) != 0
        var asked = 0
        while !StopSignal.requested {
            let body: [UInt8]
            do { body = try ask(socket) } catch {
                // A coordinator that finished and exited is the end of the watch, not a failure.
                if asked > 0 { print("\(endpoint): the coordinator no longer answers (finished or stopped)"); return }
                throw error
            }
            asked += 1
            let progress = try decode(body)
            let text = json ? String(decoding: body, as: UTF8.self) + "\n" : describe(progress)
            // On a terminal the screen is redrawn; otherwise each report follows the last.
            print(interactive ? "\u{1B}[H\u{1B}[2J" + text : text + "--\n", terminator: "")
            if progress.counts.final >= progress.counts.total { return }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    private func ask(_ socket: ZMQSocket) throws -> [UInt8] {
        try socket.send(MessageCodec.encode(.status))
        guard try pollForInput([socket], timeoutMilliseconds: Int(timeout * 1000)) == [true], let frames = try socket.receive(),
              case .progress(let body)? = try? MessageCodec.decode(frames) else {
            throw CommandFailure("\(endpoint): no answer within \(timeout) s (is a coordinator listening there?)")
        }
        return body
    }

    /// The answer, read as untrusted: counts no coordinator can have (negative, or beyond 10¹²,
    /// where adding two would overflow) are refused with the field, not summed into a trap.
    private func decode(_ body: [UInt8]) throws -> CoordinatorProgress {
        let progress: CoordinatorProgress
        do { progress = try JSONDecoder().decode(CoordinatorProgress.self, from: Data(body)) } catch {
            throw CommandFailure("\(endpoint): the answer is not a progress report: \(MessageCodec.describe(error))")
        }
        let limit = 1_000_000_000_000
        var counts = [("counts.pending", progress.counts.pending), ("counts.running", progress.counts.running), ("counts.done", progress.counts.done),
                      ("counts.failed", progress.counts.failed), ("leasesOut", progress.leasesOut), ("workers", progress.workers),
                      ("trialsPerPoint", progress.trialsPerPoint ?? 0), ("threads", progress.threads ?? 0), ("points", progress.points.count)]
        for (index, point) in progress.points.enumerated() where counts.count < 10_000 {
            counts += [("points[\(index)].done", point.done), ("points[\(index)].failed", point.failed), ("points[\(index)].timedTrials", point.timedTrials)]
        }
        if let (field, value) = counts.first(where: { !(0...limit).contains($0.1) }) {
            throw CommandFailure("\(endpoint): the answer is not a progress report a coordinator could send: \(field) = \(value)")
        }
        guard progress.seconds.isFinite, progress.seconds >= 0 else { throw CommandFailure("\(endpoint): the answer's seconds = \(progress.seconds) is not a duration") }
        return progress
    }

    /// The progress for a terminal; what the peer named (experiment, workers) with control
    /// characters shown as escapes, never sent to the terminal raw.
    private func describe(_ progress: CoordinatorProgress) -> String {
        let c = progress.counts, s = progress.statistics
        let rate = progress.seconds > 0 ? Double(s.resultsStored) / progress.seconds : 0
        var out = "experiment \(printable(progress.experiment)): \(c.done) done, \(c.failed) failed, \(c.running) running, \(c.pending) pending of \(c.total); \(progress.leasesOut) leases out to \(progress.workers) workers\n"
        out += String(format: "%.1f trials/s over %@; %d duplicates (%d mismatched), %d rejected, %d malformed, %d workers lost\n",
                      rate, formatDuration(progress.seconds), s.duplicateResults, s.mismatchedDuplicates, s.rejectedResults, s.malformedMessages, s.workersLost)
        if let perPoint = progress.trialsPerPoint, !progress.points.isEmpty {
            let done = Set(progress.pointsDone)
            out += "sweep points: \(done.count) of \(progress.points.count) done" + (done.isEmpty ? "" : " (\(done.sorted().map(String.init).joined(separator: ", ")))") + "\n"
            for (index, point) in progress.points.enumerated() where !done.contains(index) && point.done + point.failed > 0 {
                let mean = point.timedTrials > 0 ? String(format: ", %.2f s per trial", point.timedSeconds / Double(point.timedTrials)) : ""
                out += "  point \(index): \(point.done + point.failed)/\(perPoint) final\(mean)\n"
            }
        }
        if s.verificationLeases > 0 || !progress.quarantinedWorkers.isEmpty {
            out += "verification: \(s.verifiedResults) confirmed, \(s.disputedResults) disputed, \(progress.verificationsOutstanding) outstanding; quarantined: \(progress.quarantinedWorkers.isEmpty ? "none" : progress.quarantinedWorkers.map(printable).joined(separator: ", "))\n"
        }
        return out
    }

    private func printable(_ text: String) -> String {
        String(text.prefix(200).unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined())
    }
}

/// "12.8 GB" for a help text.
private func megabytesText(_ bytes: Int) -> String { "\((Double(bytes) / 1e9).formatted(.number.precision(.fractionLength(1)))) GB" }
