import Foundation
import MinimaCore
import MinimaData
import MinimaProtocol
import Synchronization
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A worker process: asks the coordinator for trials (credit-based), runs one per thread, sends
/// results back in batches and resends them until acknowledged. When the coordinator goes quiet
/// it reconnects with exponential backoff (the ZeroMQ Guide's Paranoid Pirate).
///
/// The main thread owns the DEALER socket; executor threads take leases from a shared queue and
/// wake the main thread through an inproc PUSH/PULL pair when results are ready.
public final class Worker: @unchecked Sendable {
    let configuration: WorkerConfiguration
    let log: RateLimitedLog
    private let context = ZMQContext()
    private let wakeEndpoint = "inproc://minima-worker-wake-\(UInt64.random(in: 0 ... .max))"

    // Shared with executor threads.
    private struct Shared {
        var queue: [Lease] = []
        var running: [UInt64: Lease] = [:]
        var finished: [TrialReport] = []
        var stopping = false
        var abandon = false
    }
    private let shared = Mutex(Shared())
    private let condition = NSCondition()
    private let datasets: DatasetCache

    // Main thread only.
    private var unacknowledged: [UInt64: TrialReport] = [:]
    /// Credit granted to the coordinator for which no trial has arrived yet.
    private var creditOutstanding = 0
    /// Exponentially weighted mean of recent task durations, in seconds.
    private var meanTaskSeconds = 1.0
    private var summary = WorkerSummary()
    private var executionLog: FileHandle?

    public init(configuration: WorkerConfiguration, log: RateLimitedLog? = nil) {
        self.configuration = configuration
        self.log = log ?? RateLimitedLog(prefix: "worker \(configuration.name)")
        datasets = DatasetCache(cacheDirectory: configuration.datasetCache)
        if let path = configuration.executionLog {
            FileManager.default.createFile(atPath: path, contents: nil)
            executionLog = FileHandle(forWritingAtPath: path)
            executionLog?.seekToEndOfFile()
        }
    }

    private var capacity: Int { configuration.threads + configuration.prefetch }

    /// How many trials to hold (queued, running or asked for). Tasks under 2 ms would leave the
    /// threads idle while results and new leases cross the network, so then the worker asks for
    /// many more; long tasks keep the small prefetch so that no worker hoards trials others could run.
    private var targetCapacity: Int {
        meanTaskSeconds < 0.002 ? configuration.threads + max(configuration.prefetch, 256 * configuration.threads) : capacity
    }

    /// Credit to ask for now so that what is held reaches the target.
    private func creditToRequest() -> Int {
        let held = shared.withLock { $0.queue.count + $0.running.count } + creditOutstanding
        let credit = max(0, targetCapacity - held)
        creditOutstanding += credit
        return credit
    }

    /// Runs until the coordinator says the experiment is over (or a stop signal arrives).
    public func run() throws -> WorkerSummary {
        let wake = try ZMQSocket(context, .pull)
        try wake.set(.linger, 0)
        try wake.bind(wakeEndpoint)
        let executors = (0..<configuration.threads).map { index in
            let thread = Thread { [self] in executorLoop() }
            thread.name = "minima-executor-\(index)"
            thread.stackSize = 8 << 20
            return thread
        }
        executors.forEach { $0.start() }
        defer {
            shared.withLock { $0.stopping = true; $0.abandon = true }
            condition.broadcast()
        }

        var backoff = configuration.initialBackoffMilliseconds
        let heartbeat = Duration.milliseconds(configuration.heartbeatMilliseconds)
        connection: while true {
            let socket = try connect()
            var welcomed = false
            var lastHeard = ContinuousClock.now
            var lastSent = ContinuousClock.now
            func send(_ message: Message) {
                do { try socket.send(MessageCodec.encode(message), dontWait: true); lastSent = .now } catch {
                    log.warning("send", "could not send '\(message.type)': \(error)")
                }
            }
            creditOutstanding = 0
            send(.hello(Hello(worker: configuration.name, threads: configuration.threads, instructionSet: buildInstructionSet, credit: creditToRequest())))
            var stopSent = false
            while true {
                if StopSignal.requested && !stopSent {
                    stopSent = true
                    let returned = shared.withLock { state -> [UInt64] in
                        let ids = state.queue.map(\.lease)
                        state.queue.removeAll()
                        state.stopping = true
                        state.abandon = !configuration.finishRunningOnStop
                        return ids
                    }
                    condition.broadcast()
                    log.info("stop requested: returning \(returned.count) unstarted trials; \(configuration.finishRunningOnStop ? "finishing" : "abandoning") running ones")
                    send(.goodbye(Goodbye(returned: returned)))
                    if !configuration.finishRunningOnStop { summary.exitReason = "stopped by signal"; break connection }
                }
                if stopSent {
                    let busy = shared.withLock { !$0.running.isEmpty || !$0.finished.isEmpty }
                    if !busy && unacknowledged.isEmpty { summary.exitReason = "stopped by signal"; break connection }
                }
                let readable = try pollForInput([socket, wake], timeoutMilliseconds: min(100, configuration.heartbeatMilliseconds))
                let now = ContinuousClock.now
                if readable[0] {
                    while let frames = try socket.receive(dontWait: true) {
                        lastHeard = now
                        let message: Message
                        do { message = try MessageCodec.decode(frames) } catch {
                            log.warning("malformed", "dropped a malformed message from the coordinator: \(error)")
                            continue
                        }
                        switch message {
                        case .welcome(let welcome):
                            welcomed = true
                            backoff = configuration.initialBackoffMilliseconds
                            log.info("connected to \(configuration.endpoint): experiment '\(welcome.experiment)', protocol \(welcome.version)")
                            if !unacknowledged.isEmpty {
                                send(.results(Results(results: Array(unacknowledged.values), credit: 0)))
                            }
                        case .trials(let trials):
                            creditOutstanding = max(0, creditOutstanding - trials.leases.count)
                            shared.withLock { $0.queue.append(contentsOf: trials.leases) }
                            condition.broadcast()
                        case .acknowledge(let ack):
                            for lease in ack.leases {
                                guard let report = unacknowledged.removeValue(forKey: lease) else { continue }
                                summary.resultsAcknowledged += 1
                                logExecution(report, acknowledged: true)
                            }
                        case .heartbeat:
                            break
                        case .error(let error):
                            if error.code == "unsupported-version" {
                                throw WorkerError(problem: "the coordinator refused this worker: \(error.message)")
                            }
                            if error.code == "hello-first" {
                                // A restarted coordinator that libzmq reconnected us to without our
                                // noticing: its leases are new, ours unstarted are void.
                                welcomed = false
                                shared.withLock { $0.queue.removeAll() }
                                creditOutstanding = 0
                                log.info("the coordinator does not know this worker (it restarted); saying hello again")
                                send(.hello(Hello(worker: configuration.name, threads: configuration.threads, instructionSet: buildInstructionSet, credit: creditToRequest())))
                                continue
                            }
                            log.warning("error", "coordinator: \(error.code): \(error.message)")
                        case .shutdown(let shutdown):
                            log.info("coordinator says: \(shutdown.reason)")
                            if configuration.exitOnShutdown {
                                summary.exitReason = shutdown.reason
                                break connection
                            }
                        case .chunk(let chunk, let bytes):
                            datasets.received(chunk, bytes: bytes)
                        default:
                            log.warning("unexpected", "ignored '\(message.type)' from the coordinator")
                        }
                    }
                }
                if readable[1] {
                    while try wake.receive(dontWait: true) != nil {}
                }
                let finished = shared.withLock { state -> [TrialReport] in
                    let reports = state.finished
                    state.finished.removeAll(keepingCapacity: true)
                    return reports
                }
                if !finished.isEmpty {
                    for report in finished {
                        unacknowledged[report.lease] = report
                        summary.trialsRun += 1
                        meanTaskSeconds = 0.9 * meanTaskSeconds + 0.1 * report.seconds
                        logExecution(report)
                    }
                    if welcomed { send(.results(Results(results: finished, credit: stopSent ? 0 : creditToRequest()))) }
                }
                if let request = datasets.nextRequest() { send(.fetch(request)) }
                if now - lastSent >= heartbeat { send(.heartbeat) }
                if now - lastHeard > heartbeat * configuration.liveness {
                    summary.reconnects += 1
                    log.info("coordinator silent for \(configuration.liveness) heartbeats; reconnecting in \(backoff) ms")
                    // Trials not started are the coordinator's again once it declares us dead.
                    shared.withLock { $0.queue.removeAll() }
                    usleep(UInt32(backoff) * 1000)
                    backoff = min(backoff * 2, configuration.maximumBackoffMilliseconds)
                    continue connection
                }
            }
        }
        return summary
    }

    private func connect() throws -> ZMQSocket {
        let socket = try ZMQSocket(context, .dealer)
        try socket.set(.linger, 0)
        try socket.set(.maximumMessageSize, 64 << 20)
        try socket.set(.routingID, Array("w-\(UInt64.random(in: 0 ... .max))".utf8))
        try socket.set(.sendHighWaterMark, 100_000)
        try socket.set(.receiveHighWaterMark, 100_000)
        if let curve = configuration.curve {
            guard let server = Z85.decodeKey(curve.serverPublicKey), let publicKey = Z85.decodeKey(curve.publicKey), let secretKey = Z85.decodeKey(curve.secretKey) else {
                throw WorkerError(problem: "a CURVE key is not a 40-character Z85 key")
            }
            try socket.set(.curveServerKey, server)
            try socket.set(.curvePublicKey, publicKey)
            try socket.set(.curveSecretKey, secretKey)
        }
        do { try socket.connect(configuration.endpoint) } catch {
            throw WorkerError(problem: "cannot connect to \(configuration.endpoint): \(error)")
        }
        return socket
    }

    private func logExecution(_ report: TrialReport, acknowledged: Bool = false) {
        guard let executionLog else { return }
        let event = acknowledged ? "acknowledged" : "finished"
        let line = #"{"event":"\#(event)","trial":\#(report.trial),"lease":\#(report.lease),"ok":\#(report.outcome != nil)}"# + "\n"
        executionLog.write(Data(line.utf8))
    }

    // MARK: Executors

    private func executorLoop() {
        let wake: ZMQSocket
        do {
            wake = try makeWakeSender(context, endpoint: wakeEndpoint)
        } catch {
            log.info("executor could not start: \(error)")
            return
        }
        while true {
            condition.lock()
            var lease: Lease?
            while true {
                let (next, stop) = shared.withLock { state -> (Lease?, Bool) in
                    if state.stopping && (state.abandon || state.queue.isEmpty) { return (nil, true) }
                    guard !state.queue.isEmpty else { return (nil, false) }
                    let lease = state.queue.removeFirst()
                    state.running[lease.lease] = lease
                    return (lease, false)
                }
                if stop { condition.unlock(); return }
                if let next { lease = next; break }
                condition.wait(until: Date().addingTimeInterval(0.2))
            }
            condition.unlock()
            guard let lease else { continue }
            let report = execute(lease)
            let wasEmpty = shared.withLock { state -> Bool in
                state.running.removeValue(forKey: lease.lease)
                guard !state.abandon else { return false }
                state.finished.append(report)
                return state.finished.count == 1
            }
            if wasEmpty { try? wake.send([[1]], dontWait: true) }
        }
    }

    private func execute(_ lease: Lease) -> TrialReport {
        let start = ContinuousClock.now
        let deadline = lease.timeLimitSeconds.map { start + .milliseconds(Int64($0 * 1000)) }
        func report(_ outcome: TaskOutcome?, failure: String? = nil) -> TrialReport {
            TrialReport(trial: lease.trial, lease: lease.lease, outcome: outcome, failure: failure, seconds: secondsElapsed(since: start))
        }
        switch lease.task {
        case .noop:
            return report(.noop)
        case .sleep(let milliseconds):
            var remaining = Duration.milliseconds(milliseconds)
            while remaining > .zero {
                let step = min(remaining, .milliseconds(50))
                Thread.sleep(forTimeInterval: Double(step.components.attoseconds) * 1e-18 + Double(step.components.seconds))
                remaining -= step
                if let deadline, ContinuousClock.now > deadline { return report(nil, failure: "time limit of \(lease.timeLimitSeconds!) s exceeded") }
                if shared.withLock({ $0.abandon }) { return report(nil, failure: "abandoned") }
            }
            return report(.slept(milliseconds: milliseconds))
        case .train(let description):
            let data: TrainingData
            do { data = try datasets.load(description.data) } catch {
                return report(nil, failure: "dataset \(description.data.dataset): \(error)")
            }
            let control = TrialControl(isCancelled: { [self] in
                if let deadline, ContinuousClock.now > deadline { return true }
                return shared.withLock { $0.abandon }
            })
            do {
                let result = try Trainer.run(description, data: data, control: control)
                if result.status == .cancelled {
                    return report(nil, failure: deadline.map { ContinuousClock.now > $0 } == true ? "time limit of \(lease.timeLimitSeconds!) s exceeded" : "abandoned")
                }
                return report(.trained(result))
            } catch {
                return report(nil, failure: "invalid trial description: \(error)")
            }
        }
    }
}

/// The datasets of a worker, loaded once and shared by its threads: from the binary (mnist10),
/// from a local directory, from the on-disk cache, or fetched from the coordinator by hash.
final class DatasetCache: @unchecked Sendable {
    private struct State {
        var loaded: [String: TrainingData] = [:]
        var fetching: [String: [UInt8]] = [:]
        var fetchTotal: [String: Int] = [:]
        var requested: Set<String> = []
        var failed: [String: String] = [:]
    }
    private let state = Mutex(State())
    private let arrived = NSCondition()
    let cacheDirectory: String

    init(cacheDirectory: String) { self.cacheDirectory = cacheDirectory }

    func load(_ selection: DataSelection) throws -> TrainingData {
        let key = selection.datasetSHA256 ?? selection.dataset
        if let data = state.withLock({ $0.loaded[key] }) { return data }
        // 1. The named source, if it is here and has the right hash.
        if let data = try? DatasetSource(parsing: selection.dataset).load(),
           selection.datasetSHA256 == nil || data.train.contentSHA256 == selection.datasetSHA256 {
            state.withLock { $0.loaded[key] = data }
            return data
        }
        guard let sha256 = selection.datasetSHA256 else {
            throw DataError(file: selection.dataset, problem: "not available on this worker and the trial names no SHA-256 to fetch it by")
        }
        // 2. The cache. 3. The coordinator.
        let directory = cacheDirectory + "/" + sha256
        if let data = try? DatasetSource.idx(directory: directory).load(), data.train.contentSHA256 == sha256 {
            state.withLock { $0.loaded[key] = data }
            return data
        }
        state.withLock { if $0.fetching[sha256] == nil && $0.loaded[key] == nil { $0.fetching[sha256] = []; $0.requested.remove(sha256) } }
        arrived.lock()
        while true {
            let (done, failure) = state.withLock { ($0.loaded[key], $0.failed[sha256]) }
            if let done { arrived.unlock(); return done }
            if let failure { arrived.unlock(); throw DataError(file: selection.dataset, problem: failure) }
            arrived.wait(until: Date().addingTimeInterval(0.5))
        }
    }

    /// The next chunk request the main thread should send, if any.
    func nextRequest() -> Fetch? {
        state.withLock { state in
            for (sha256, bytes) in state.fetching where !state.requested.contains(sha256) {
                state.requested.insert(sha256)
                return Fetch(dataset: sha256, offset: bytes.count, length: 4 << 20)
            }
            return nil
        }
    }

    /// A chunk arrived (main thread). When the archive is complete it is verified, cached and loaded.
    func received(_ chunk: Chunk, bytes: [UInt8]) {
        let complete: [UInt8]? = state.withLock { state in
            guard var buffer = state.fetching[chunk.dataset], chunk.offset == buffer.count else { return nil }
            buffer += bytes
            state.fetching[chunk.dataset] = buffer
            state.requested.remove(chunk.dataset)
            if buffer.count >= chunk.total || bytes.isEmpty { state.fetching.removeValue(forKey: chunk.dataset); return buffer }
            return nil
        }
        guard let complete else { return }
        let directory = cacheDirectory + "/" + chunk.dataset
        do {
            try DatasetArchive.unpack(complete, expectedSHA256: chunk.dataset, into: directory)
            let data = try DatasetSource.idx(directory: directory).load()
            state.withLock { state in
                for key in [chunk.dataset] { state.loaded[key] = data }
            }
        } catch {
            state.withLock { $0.failed[chunk.dataset] = "fetched from the coordinator but unusable: \(error)" }
        }
        arrived.broadcast()
    }
}
