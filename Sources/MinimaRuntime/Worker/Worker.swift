import Foundation
import Logging
import MinimaCore
import MinimaData
import MinimaProtocol
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A worker process: asks the coordinator for trials (credit-based), runs one per thread, sends
/// results back in batches and resends them until acknowledged. When the coordinator goes quiet
/// it reconnects with exponential backoff (the ZeroMQ Guide's Paranoid Pirate).
///
/// The thread that calls ``run()`` owns the worker and its DEALER socket (the worker is not
/// `Sendable`: make it where it runs). Executor threads share only an ``ExecutorQueue`` and the
/// ``DatasetCache``, and wake the owner through an inproc PUSH/PULL pair when results are ready.
public final class Worker {
    let configuration: WorkerConfiguration
    let logger: Logger
    private let context = ZMQContext()
    private let wakeEndpoint = "inproc://minima-worker-wake-\(UInt64.random(in: 0 ... .max))"
    private let queue: ExecutorQueue
    private let datasets: DatasetCache

    private var unacknowledged: [UInt64: TrialReport] = [:]
    /// Credit granted to the coordinator for which no trial has arrived yet.
    private var creditOutstanding = 0
    /// Exponentially weighted mean of recent task durations, in seconds.
    private var meanTaskSeconds = 1.0
    private var summary = WorkerSummary()
    private var executionLog: FileHandle?

    public init(configuration: WorkerConfiguration, logger: Logger? = nil) {
        self.configuration = configuration
        self.logger = logger ?? .minima("worker \(configuration.name)")
        datasets = DatasetCache(cacheDirectory: configuration.datasetCache)
        queue = ExecutorQueue(memoryBudget: configuration.memoryBudgetBytes)
        if let path = configuration.executionLog {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
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
        let held = queue.held + creditOutstanding
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
            Executor(queue: queue, datasets: datasets, context: context, wakeEndpoint: wakeEndpoint, perturbResults: configuration.perturbResults)
                .start(name: "minima-exec-\(index)")
        }
        defer {
            queue.stop(abandonRunning: true)
            datasets.cancelWaits(reason: "the worker is stopping")
            executors.forEach { $0.join() }
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
                    logger.warning("send", "could not send '\(message.type)': \(error)")
                }
            }
            creditOutstanding = 0
            send(.hello(Hello(worker: configuration.name, threads: configuration.threads, instructionSet: buildInstructionSet, credit: creditToRequest())))
            var stopSent = false
            while true {
                if StopSignal.requested && !stopSent {
                    stopSent = true
                    let returned = queue.stop(abandonRunning: !configuration.finishRunningOnStop)
                    datasets.cancelWaits(reason: "the worker is stopping")
                    logger.info("stop requested: returning \(returned.count) unstarted trials; \(configuration.finishRunningOnStop ? "finishing" : "abandoning") running ones")
                    send(.goodbye(Goodbye(returned: returned)))
                    if !configuration.finishRunningOnStop { summary.exitReason = "stopped by signal"; break connection }
                }
                if stopSent && !queue.busy && unacknowledged.isEmpty { summary.exitReason = "stopped by signal"; break connection }
                let readable = try pollForInput([socket, wake], timeoutMilliseconds: min(100, configuration.heartbeatMilliseconds))
                let now = ContinuousClock.now
                if readable[0] {
                    while let frames = try socket.receive(dontWait: true) {
                        lastHeard = now
                        let message: Message
                        do { message = try MessageCodec.decode(frames) } catch {
                            logger.warning("malformed", "dropped a malformed message from the coordinator: \(error)")
                            continue
                        }
                        switch message {
                        case .welcome(let welcome):
                            welcomed = true
                            backoff = configuration.initialBackoffMilliseconds
                            logger.info("connected to \(configuration.endpoint): experiment '\(welcome.experiment)', protocol \(welcome.version); \(configuration.threads) threads, memory budget \(megabytes(configuration.memoryBudgetBytes)) for the running trials")
                            if !unacknowledged.isEmpty {
                                send(.results(Results(results: Array(unacknowledged.values), credit: 0)))
                            }
                        case .trials(let trials):
                            creditOutstanding = max(0, creditOutstanding - trials.leases.count - trials.unreadable.count)
                            let datasets = self.datasets
                            queue.add(trials.leases.map { lease in
                                let task = lease.task.payload as? any RunnableTask
                                return ExecutorQueue.Queued(lease: lease, bytes: task?.estimatedMemoryBytes(shapeOf: datasets.shape) ?? 0)
                            })
                            if !trials.unreadable.isEmpty {
                                let failures = trials.unreadable.map { TrialReport(trial: $0.trial, lease: $0.lease, outcome: nil, failure: "this worker cannot read the task: \($0.problem)", seconds: 0) }
                                for report in failures {
                                    unacknowledged[report.lease] = report
                                    logger.warning("unreadable", "trial \(report.trial): \(report.failure ?? "")")
                                }
                                send(.results(Results(results: failures, credit: stopSent ? 0 : creditToRequest())))
                            }
                        case .acknowledge(let ack):
                            for lease in ack.leases {
                                guard let report = unacknowledged.removeValue(forKey: lease) else { continue }
                                summary.resultsAcknowledged += 1
                                logExecution(report, acknowledged: true)
                            }
                        case .heartbeat:
                            break
                        case .error(let error):
                            switch error.code {
                            case .unsupportedVersion:
                                throw WorkerError(problem: "the coordinator refused this worker: \(error.message)")
                            case .quarantined:
                                throw WorkerError(problem: "the coordinator quarantined this worker: \(error.message)")
                            case .helloFirst:
                                // A restarted coordinator that libzmq reconnected us to without our
                                // noticing: its leases are new, ours unstarted are void.
                                welcomed = false
                                queue.discardUnstarted()
                                creditOutstanding = 0
                                logger.info("the coordinator does not know this worker (it restarted); saying hello again")
                                send(.hello(Hello(worker: configuration.name, threads: configuration.threads, instructionSet: buildInstructionSet, credit: creditToRequest())))
                            case .unknownDataset:
                                datasets.fetchRefused(error.message)
                                logger.warning("error", "coordinator: \(error.code): \(error.message)")
                            default:
                                logger.warning("error", "coordinator: \(error.code): \(error.message)")
                            }
                        case .shutdown(let shutdown):
                            logger.info("coordinator says: \(shutdown.reason)")
                            if configuration.exitOnShutdown {
                                summary.exitReason = shutdown.reason
                                break connection
                            }
                        case .chunk(let chunk, let bytes):
                            datasets.received(chunk, bytes: bytes)
                        default:
                            logger.warning("unexpected", "ignored '\(message.type)' from the coordinator")
                        }
                    }
                }
                if readable[1] {
                    while try wake.receive(dontWait: true) != nil {}
                }
                let finished = queue.takeFinished()
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
                    logger.info("coordinator silent for \(configuration.liveness) heartbeats; reconnecting in \(backoff) ms")
                    // Trials not started are the coordinator's again once it declares us dead.
                    queue.discardUnstarted()
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
}

// MARK: - Executors

/// The leases a worker holds, shared by its owner and its executor threads, in order, and the memory its running trials are estimated to use.
/// A trial starts only when its estimate fits in what the running ones leave of the budget (or
/// nothing is running); one larger than the whole budget is refused at once. Strictly in order:
/// a large trial waiting for room is not overtaken by smaller ones, so it cannot starve.
final class ExecutorQueue: Sendable {
    struct Queued: Sendable {
        var lease: Lease
        var bytes: Int
    }
    /// What a thread is handed: a lease to run, or one to report as refused without running it.
    enum Admission: Sendable {
        case run(Lease)
        case overBudget(Lease, bytes: Int, budget: Int)
    }
    private struct State: Sendable {
        var queue: [Queued] = []
        var queueHead = 0
        /// Running leases and their estimated bytes.
        var running: [UInt64: Int] = [:]
        var reserved = 0
        var finished: [TrialReport] = []
        var stopping = false
        var abandon = false
        var unstarted: ArraySlice<Queued> { queue[queueHead...] }
        var head: Queued? { queueHead < queue.count ? queue[queueHead] : nil }
    }
    private let state = ConditionLock(State())
    /// Bytes the running trials' estimates may add up to.
    let memoryBudget: Int

    init(memoryBudget: Int = .max) { self.memoryBudget = memoryBudget }

    /// Leases queued or running.
    var held: Int { state.withLock { $0.queue.count - $0.queueHead + $0.running.count } }
    /// Trials running or finished but not yet taken.
    var busy: Bool { state.withLock { !$0.running.isEmpty || !$0.finished.isEmpty } }
    var abandoned: Bool { state.withLock { $0.abandon } }

    func add(_ leases: [Queued]) {
        state.withLockBroadcasting { $0.queue.append(contentsOf: leases) }
    }

    /// Forgets the trials not yet started (the coordinator will lease them again).
    func discardUnstarted() {
        state.withLock { state in state.queue.removeAll(); state.queueHead = 0 }
    }

    /// No more trials start; returns the unstarted ones. Running ones finish unless abandoned.
    @discardableResult
    func stop(abandonRunning: Bool) -> [UInt64] {
        state.withLockBroadcasting { state in
            let returned = state.unstarted.map(\.lease.lease)
            state.queue.removeAll()
            state.queueHead = 0
            state.stopping = true
            state.abandon = state.abandon || abandonRunning
            return returned
        }
    }

    /// What happens to the first lease in line.
    enum Rule: Equatable, Sendable { case start, wait, refuse }

    /// The admission rule: a trial larger than the whole budget is refused; one that fits in what
    /// the running trials leave (or with nothing running) starts; any other waits.
    static func rule(forBytes bytes: Int, runningTrials: Int, reservedBytes: Int, budget: Int) -> Rule {
        if bytes > budget { return .refuse }
        return runningTrials == 0 || bytes <= budget - reservedBytes ? .start : .wait
    }

    /// The next lease, waiting for one and for room in the budget; nil once stopping.
    func next() -> Admission? {
        let budget = memoryBudget
        return state.withLock(when: { state in
            guard !state.stopping else { return true }
            guard let head = state.head else { return false }
            return Self.rule(forBytes: head.bytes, runningTrials: state.running.count, reservedBytes: state.reserved, budget: budget) != .wait
        }) { state in
            guard !state.stopping, let head = state.head else { return nil }
            let rule = Self.rule(forBytes: head.bytes, runningTrials: state.running.count, reservedBytes: state.reserved, budget: budget)
            state.queueHead += 1
            if state.queueHead == state.queue.count { state.queue.removeAll(keepingCapacity: true); state.queueHead = 0 }
            guard rule == .start else { return .overBudget(head.lease, bytes: head.bytes, budget: budget) }
            state.running[head.lease.lease] = head.bytes
            state.reserved += head.bytes
            return .run(head.lease)
        }
    }

    /// Records a finished lease; true if it is the first waiting to be taken (wake the owner).
    func finish(_ report: TrialReport) -> Bool {
        // A thread may be waiting for the room this trial leaves.
        state.withLock(broadcastingIf: { $0.head != nil }) { state in
            if let bytes = state.running.removeValue(forKey: report.lease) { state.reserved -= bytes }
            guard !state.abandon else { return false }
            state.finished.append(report)
            return state.finished.count == 1
        }
    }

    func takeFinished() -> [TrialReport] {
        state.withLock { state in
            defer { state.finished.removeAll(keepingCapacity: true) }
            return state.finished
        }
    }
}

/// One executor thread's work: take a lease, run it, report it.
struct Executor: Sendable {
    let queue: ExecutorQueue
    let datasets: DatasetCache
    let context: ZMQContext
    let wakeEndpoint: String
    let perturbResults: Bool

    func start(name: String) -> JoinableThread {
        JoinableThread(name: name) { run() }
    }

    private func run() {
        // The PUSH end belongs to this thread: made, used and closed here.
        guard let wake = try? makeWakeSender(context, endpoint: wakeEndpoint) else { return }
        while let admission = queue.next() {
            let report: TrialReport
            switch admission {
            case .run(let lease):
                report = execute(lease)
            case .overBudget(let lease, let bytes, let budget):
                report = TrialReport(trial: lease.trial, lease: lease.lease, outcome: nil,
                                     failure: "this trial needs about \(megabytes(bytes)) of memory and this worker's budget is \(megabytes(budget)) (minima worker --memory-budget)", seconds: 0)
            }
            if queue.finish(report) { try? wake.send([[1]], dontWait: true) }
        }
    }

    func execute(_ lease: Lease) -> TrialReport {
        let start = ContinuousClock.now
        let limit = lease.timeLimitSeconds.flatMap { $0.isFinite && $0 > 0 ? Duration.milliseconds(Int64(min($0, 1e9) * 1000)) : nil }
        let deadline = limit.map { start + $0 }
        func report(_ outcome: TaskOutcome?, failure: String? = nil) -> TrialReport {
            TrialReport(trial: lease.trial, lease: lease.lease, outcome: outcome, failure: failure, seconds: secondsElapsed(since: start))
        }
        let timeLimitExceeded = "time limit of \(lease.timeLimitSeconds ?? 0) s exceeded"
        guard let task = lease.task.payload as? any RunnableTask else {
            return report(nil, failure: "this worker cannot run tasks of kind '\(lease.task.kind)'")
        }
        let queue = self.queue, datasets = self.datasets
        let context = TaskContext(
            control: TrialControl(isCancelled: {
                if let deadline, ContinuousClock.now > deadline { return true }
                return queue.abandoned
            }),
            loadDataset: { try datasets.load($0) })
        do throws(TaskFailure) {
            guard let outcome = try task.runErased(in: context, perturb: perturbResults) else {
                return report(nil, failure: deadline.map { ContinuousClock.now > $0 } == true ? timeLimitExceeded : "abandoned")
            }
            return report(outcome)
        } catch {
            return report(nil, failure: error.description)
        }
    }
}

// MARK: - Datasets

/// The datasets of a worker, loaded once and shared by its threads: from the binary (mnist10),
/// from a local directory, from the on-disk cache, or fetched from the coordinator by hash.
final class DatasetCache: Sendable {
    private struct State: Sendable {
        var loaded: [String: TrainingData] = [:]
        var fetching: [String: [UInt8]] = [:]
        var requested: Set<String> = []
        var failed: [String: String] = [:]
        var cancelled: String?
    }
    private let state = ConditionLock(State())
    let cacheDirectory: String

    init(cacheDirectory: String) { self.cacheDirectory = cacheDirectory }

    /// The shape of the data `selection` names, when it is loaded (mnist10's is known without).
    func shape(of selection: DataSelection) -> DatasetShape? {
        if let data = state.withLock({ $0.loaded[selection.datasetSHA256 ?? selection.dataset] }) {
            return DatasetShape(inputs: data.train.featureCount, outputs: data.train.outputCount)
        }
        return selection.dataset == "mnist10" ? DatasetShape(inputs: 100, outputs: 10) : nil
    }

    /// The data of `selection`, fetching it from the coordinator if need be (waits until it has
    /// arrived, the coordinator refused it, or ``cancelWaits(reason:)``).
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
        guard DatasetArchive.isContentHash(sha256) else {
            throw DataError(file: selection.dataset, problem: "the trial names dataset SHA-256 '\(sha256.prefix(80))', which is not 64 lowercase hex digits")
        }
        // 2. The cache. 3. The coordinator.
        let directory = cacheDirectory + "/" + sha256
        if let data = try? DatasetSource.idx(directory: directory).load(), data.train.contentSHA256 == sha256 {
            state.withLock { $0.loaded[key] = data }
            return data
        }
        state.withLockBroadcasting { state in
            if state.fetching[sha256] == nil && state.loaded[key] == nil && state.failed[sha256] == nil {
                state.fetching[sha256] = []
                state.requested.remove(sha256)
            }
        }
        return try state.withLock(when: { $0.loaded[key] != nil || $0.failed[sha256] != nil || $0.cancelled != nil }) { state in
            if let data = state.loaded[key] { return data }
            throw DataError(file: selection.dataset, problem: state.failed[sha256] ?? state.cancelled ?? "unavailable")
        }
    }

    /// The next chunk request the owner should send, if any.
    func nextRequest() -> Fetch? {
        state.withLock { state in
            for (sha256, bytes) in state.fetching where !state.requested.contains(sha256) {
                state.requested.insert(sha256)
                return Fetch(dataset: sha256, offset: bytes.count, length: 4 << 20)
            }
            return nil
        }
    }

    /// A chunk arrived. When the archive is complete it is verified, cached and loaded.
    func received(_ chunk: Chunk, bytes: [UInt8]) {
        if chunk.total < 0 || chunk.total > DatasetArchive.maximumBytes || bytes.count > chunk.total {
            fetchFailed(chunk.dataset, "the coordinator announced an archive of \(chunk.total) bytes (at most \(DatasetArchive.maximumBytes) are accepted)")
            return
        }
        let complete: [UInt8]? = state.withLockBroadcasting { state in
            guard var buffer = state.fetching[chunk.dataset], chunk.offset == buffer.count else { return nil }
            guard buffer.count + bytes.count <= chunk.total else {
                state.fetching.removeValue(forKey: chunk.dataset)
                state.failed[chunk.dataset] = "the coordinator sent more bytes than the \(chunk.total) it announced"
                return nil
            }
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
            state.withLockBroadcasting { $0.loaded[chunk.dataset] = data }
        } catch {
            state.withLockBroadcasting { $0.failed[chunk.dataset] = "fetched from the coordinator but unusable: \(error)" }
        }
    }

    private func fetchFailed(_ sha256: String, _ reason: String) {
        state.withLockBroadcasting { state in
            guard state.fetching.removeValue(forKey: sha256) != nil else { return }
            state.failed[sha256] = reason
        }
    }

    /// The coordinator cannot serve what is being fetched: every waiting load fails with its reason.
    func fetchRefused(_ reason: String) {
        state.withLockBroadcasting { state in
            for sha256 in state.fetching.keys { state.failed[sha256] = "the coordinator cannot serve it: \(reason)" }
            state.fetching.removeAll()
        }
    }

    /// Ends every wait (the worker is stopping).
    func cancelWaits(reason: String) {
        state.withLockBroadcasting { $0.cancelled = reason }
    }
}

/// Bytes for a person: "530 MB", "3.2 GB".
func megabytes(_ bytes: Int) -> String {
    bytes >= 10_000_000_000 ? "\((Double(bytes) / 1e9).formatted(.number.precision(.fractionLength(1)))) GB" : "\((bytes + 999_999) / 1_000_000) MB"
}
