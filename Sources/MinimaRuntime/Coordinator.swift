import Foundation
import MinimaCore
import MinimaProtocol
import ZeroMQ

/// Hands an experiment's trials to workers as leases and keeps every result in the ledger.
///
/// One thread runs everything: the ROUTER socket, the ZAP handler, the ledger and all state, so
/// there are no locks. Results are committed in groups (every few milliseconds) and acknowledged
/// only after their commit. Memory holds the in-flight trials only; finished ones live in the
/// ledger and pending ones are paged out of it.
public final class Coordinator: @unchecked Sendable {
    let plan: ExperimentPlan
    let configuration: CoordinatorConfiguration
    let ledger: Ledger
    let log: RateLimitedLog
    private var summary: CoordinatorSummary

    /// Called (on the coordinator thread) after every commit and at least once a second.
    public var onProgress: ((CoordinatorProgress) -> Void)?
    /// The endpoint actually bound (with the port filled in for tcp://…:*), set once running.
    public private(set) var boundEndpoint: String?
    /// Called once the socket is bound, with the endpoint (before any worker is served).
    public var onBound: ((String) -> Void)?

    // Workers, keyed by routing id.
    private final class WorkerRecord {
        let id: [UInt8]
        let name: String
        var credit: Int
        var leases = Set<UInt64>()
        var lastHeard: ContinuousClock.Instant
        var lastSent: ContinuousClock.Instant
        var pendingAcks: [UInt64] = []
        var rejectedAcks: [UInt64] = []
        /// Said goodbye: gets no more trials; stays until its running leases are reported.
        var leaving = false
        init(id: [UInt8], name: String, credit: Int, now: ContinuousClock.Instant) {
            self.id = id
            self.name = name
            self.credit = credit
            lastHeard = now
            lastSent = now
        }
    }

    private struct ActiveLease {
        var trial: Int
        var worker: [UInt8]
        var workerName: String
        var issued: ContinuousClock.Instant
        var deadline: ContinuousClock.Instant?
        var speculative: Bool
    }

    /// The leases of one trial that are out: nearly always exactly one, kept inline (a set per
    /// trial would allocate for every dispatch).
    struct LeaseIDs: Sequence {
        private var first: UInt64?
        private var others: [UInt64] = []
        var isEmpty: Bool { first == nil }
        var count: Int { first == nil ? 0 : 1 + others.count }
        mutating func insert(_ id: UInt64) { if first == nil { first = id } else { others.append(id) } }
        mutating func remove(_ id: UInt64) {
            if first == id { first = others.isEmpty ? nil : others.removeFirst() } else { others.removeAll { $0 == id } }
        }
        mutating func removeAll() { first = nil; others.removeAll() }
        func makeIterator() -> some IteratorProtocol<UInt64> { ((first.map { [$0] } ?? []) + others).makeIterator() }
    }

    private struct TrialInFlight {
        var attempts = 0
        var activeLeases = LeaseIDs()
        var failures: [String] = []
        /// Fingerprint of the accepted result, once there is one (awaiting or after commit).
        var acceptedFingerprint: String?
    }

    private var workers: [[UInt8]: WorkerRecord] = [:]
    private var ignoredPeers = Set<[UInt8]>()
    private var helloReminders: [[UInt8]: ContinuousClock.Instant] = [:]
    private var leases: [UInt64: ActiveLease] = [:]
    private var inFlight: [Int: TrialInFlight] = [:]
    private var requeued: [Int] = []
    private var requeuedHead = 0
    private var fresh: [Int] = []
    private var freshHead = 0
    private var lastFreshTrial = -1
    private var freshExhausted = false
    /// Lease ids are unique across coordinator restarts (a random 20-bit incarnation prefix), so a
    /// result from before a crash can never be mistaken for one of a new lease. They stay below
    /// 2⁵² so that every JSON implementation reads them exactly.
    private var nextLease: UInt64 = UInt64.random(in: 1 ..< (1 << 20)) << 32 | 1
    private var uncommitted: [Ledger.TrialRecord] = []
    private var uncommittedSince: ContinuousClock.Instant?
    private var counts = Ledger.Counts()
    private var encodings = OutcomeEncodings()
    private let start = ContinuousClock.now

    public init(plan: ExperimentPlan, configuration: CoordinatorConfiguration, log: RateLimitedLog = RateLimitedLog(prefix: "coordinator")) throws {
        self.plan = plan
        self.configuration = configuration
        self.log = log
        ledger = try Ledger(path: configuration.ledgerPath, experiment: plan.ledgerIdentity)
        guard ledger.experiment.trialCount == plan.trialCount else {
            throw CoordinatorError(problem: "\(configuration.ledgerPath): holds \(ledger.experiment.trialCount) trials but the plan has \(plan.trialCount)")
        }
        counts = try ledger.counts()
        summary = CoordinatorSummary(counts: counts)
        if case .none = configuration.security, !configuration.insecure, !isLocalEndpoint(configuration.endpoint) {
            throw CoordinatorError(problem: """
                refusing to bind \(configuration.endpoint) without CURVE keys: anyone who can reach it could take trials and post results. \
                Give --secret-key and --allow (see minima keygen), bind a loopback address, or pass --insecure on a trusted network
                """)
        }
    }

    /// Runs until every trial is final (or a stop signal arrives) and returns what happened.
    public func run() throws -> CoordinatorSummary {
        let context = ZMQContext()
        var zap: ZMQSocket?
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 200)
        try router.set(.routerMandatory, true)
        try router.set(.maximumMessageSize, configuration.maximumMessageBytes)
        try router.set(.sendHighWaterMark, 100_000)
        try router.set(.receiveHighWaterMark, 100_000)
        try router.set(.handshakeInterval, 5000)
        if case .curve(let secretKey, _) = configuration.security {
            // The ZAP handler must be bound before the CURVE socket so no handshake slips past it.
            let handler = try ZMQSocket(context, .reply)
            try handler.set(.linger, 0)
            try handler.bind("inproc://zeromq.zap.01")
            zap = handler
            guard let secret = Z85.decodeKey(secretKey) else { throw CoordinatorError(problem: "the coordinator's secret key is not a Z85 key") }
            try router.set(.curveServer, true)
            try router.set(.curveSecretKey, secret)
            try router.set(.zapDomain, "minima")
        }
        let writer = LedgerWriter(ledger: ledger, context: context)
        let committedSignal = try ZMQSocket(context, .pull)
        try committedSignal.set(.linger, 0)
        try committedSignal.bind(writer.wakeEndpoint)
        writer.start()
        self.writer = writer
        // Every socket and the context must be gone when run() returns: terminating the context
        // is what waits (up to the linger time) for the last messages — the workers' shutdown —
        // to leave. A process that exits with the context alive may drop them.
        defer {
            writer.stopAndJoin()
            self.writer = nil
        }
        do { try router.bind(configuration.endpoint) } catch {
            throw CoordinatorError(problem: "cannot bind \(configuration.endpoint): \(error)")
        }
        boundEndpoint = router.lastEndpoint
        onBound?(router.lastEndpoint)
        log.info("experiment '\(plan.name)' (\(plan.trialCount) trials, spec \(plan.specSHA256.prefix(12))): \(counts.done) done, \(counts.failed) failed, \(counts.pending) pending; listening on \(router.lastEndpoint)")

        var lastMaintenance = ContinuousClock.now
        var lastProgress = ContinuousClock.now
        let heartbeat = Duration.milliseconds(configuration.heartbeatMilliseconds)
        var metrics: ZMQSocket?
        if let port = configuration.metricsPort {
            let stream = try ZMQSocket(context, .stream)
            try stream.set(.linger, 0)
            do { try stream.bind("tcp://\(configuration.metricsHost):\(port)") } catch {
                throw CoordinatorError(problem: "cannot serve metrics on \(configuration.metricsHost):\(port): \(error)")
            }
            metrics = stream
            log.info("metrics and health at http://\(configuration.metricsHost):\(port)/metrics and /healthz")
        }
        let sockets = [router, committedSignal] + (zap.map { [$0] } ?? []) + (metrics.map { [$0] } ?? [])
        let metricsIndex = sockets.count - 1
        while true {
            if StopSignal.requested {
                summary.stoppedBySignal = true
                log.info("stop requested: no more dispatching; flushing the ledger and telling workers")
                break
            }
            if isComplete {
                log.info("all \(plan.trialCount) trials are final (\(counts.done) done, \(counts.failed) failed)")
                break
            }
            let timeout = uncommittedSince == nil ? 100 : max(0, configuration.commitIntervalMilliseconds)
            let readable = try pollForInput(sockets, timeoutMilliseconds: timeout)
            if readable[0] { try drain(router) }
            if readable[1] {
                while try committedSignal.receive(dontWait: true) != nil {}
                try collectCommitted(router)
            }
            // Acks that wait on no commit (duplicates, rejections) go out at once.
            if uncommittedSince == nil { flushAcknowledgements(router) }
            if zap != nil && readable[2], let zap { try answerAuthentication(zap) }
            if let metrics, readable[metricsIndex] { try answerHTTP(metrics) }
            let now = ContinuousClock.now
            if let since = uncommittedSince, !writer.busy,
               uncommitted.count >= configuration.commitBatchLimit || now - since >= .milliseconds(configuration.commitIntervalMilliseconds) {
                submitGroup()
            }
            try dispatch(router, now: now)
            if now - lastMaintenance >= .milliseconds(min(100, configuration.heartbeatMilliseconds / 2)) {
                lastMaintenance = now
                try maintain(router, now: now, heartbeat: heartbeat)
            }
            if now - lastProgress >= .seconds(1) {
                lastProgress = now
                onProgress?(progress)
            }
        }
        // Drain: wait for the group in flight, then commit what is left.
        while writer.busy { usleep(1000) }
        try collectCommitted(router)
        if !uncommitted.isEmpty {
            submitGroup()
            while writer.busy { usleep(1000) }
            try collectCommitted(router)
        }
        if summary.stoppedBySignal || configuration.stopWhenComplete {
            let reason = summary.stoppedBySignal ? "coordinator stopping" : "complete"
            for worker in workers.values { send(router, to: worker, .shutdown(Shutdown(reason: reason))) }
        }
        summary.counts = counts
        summary.seconds = secondsElapsed(since: start)
        onProgress?(progress)
        if configuration.keepRunningWhenComplete && !summary.stoppedBySignal {
            log.info("experiment complete; still serving status, metrics and health until stopped")
            while !StopSignal.requested {
                let readable = try pollForInput([router] + (metrics.map { [$0] } ?? []), timeoutMilliseconds: 500)
                if readable[0] {
                    while let frames = try router.receive(dontWait: true), frames.count >= 2 {
                        guard let message = try? MessageCodec.decode(Array(frames.dropFirst())) else { continue }
                        switch message {
                        case .status: sendRaw(router, to: frames[0], .progress(json: Array(canonicalJSON(progress).utf8)))
                        case .hello, .ready, .heartbeat: sendRaw(router, to: frames[0], .shutdown(Shutdown(reason: "complete")))
                        default: break
                        }
                    }
                }
                if readable.count > 1 && readable[1], let metrics { try answerHTTP(metrics) }
            }
        }
        return summary
    }

    private var isComplete: Bool {
        counts.pending == 0 && uncommitted.isEmpty && !(writer?.busy ?? false)
    }

    private var writer: LedgerWriter?

    // MARK: Receiving

    private func drain(_ router: ZMQSocket) throws {
        var handled = 0
        while handled < 10_000, let frames = try router.receive(dontWait: true) {
            handled += 1
            guard frames.count >= 2 else { continue }
            let peer = frames[0]
            if ignoredPeers.contains(peer) { continue }
            let message: Message
            do { message = try MessageCodec.decode(Array(frames.dropFirst())) } catch {
                if let signature = error.signature {
                    summary.versionErrors += 1
                    log.warning("version", "peer \(hexString(peer)) speaks \(signature); this coordinator speaks versions \(supportedProtocolVersions)")
                    sendRaw(router, to: peer, .error(ProtocolError(code: "unsupported-version", message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); '\(signature)' is not one of them", supportedVersions: supportedProtocolVersions)))
                    ignoredPeers.insert(peer)
                } else {
                    summary.malformedMessages += 1
                    log.warning("malformed", "dropped a malformed message from \(workers[peer]?.name ?? hexString(peer)): \(error)")
                }
                continue
            }
            try handle(message, from: peer, router: router)
        }
    }

    private func handle(_ message: Message, from peer: [UInt8], router: ZMQSocket) throws {
        let now = ContinuousClock.now
        if case .status = message {
            sendRaw(router, to: peer, .progress(json: Array(canonicalJSON(progress).utf8)))
            return
        }
        if case .hello(let hello) = message {
            guard hello.versions.contains(where: supportedProtocolVersions.contains) else {
                summary.versionErrors += 1
                log.warning("version", "worker \(hello.worker) speaks protocol versions \(hello.versions); this coordinator speaks \(supportedProtocolVersions)")
                sendRaw(router, to: peer, .error(ProtocolError(code: "unsupported-version", message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); the worker offered \(hello.versions)", supportedVersions: supportedProtocolVersions)))
                ignoredPeers.insert(peer)
                return
            }
            if let existing = workers[peer] { workerLost(existing, reason: "said hello again", router: router) }
            let worker = WorkerRecord(id: peer, name: hello.worker, credit: max(0, hello.credit), now: now)
            workers[peer] = worker
            summary.workersSeen += 1
            log.info("worker \(hello.worker) joined (\(hello.threads) threads, \(hello.instructionSet), credit \(hello.credit)); \(workers.count) connected")
            let version = hello.versions.filter(supportedProtocolVersions.contains).max()!
            send(router, to: worker, .welcome(Welcome(version: version, experiment: plan.name, heartbeatMilliseconds: configuration.heartbeatMilliseconds, liveness: configuration.liveness)))
            return
        }
        guard let worker = workers[peer] else {
            // A peer from before a restart, or one that skipped hello. Tell it (at most once per
            // heartbeat interval) so that a real worker introduces itself again.
            summary.malformedMessages += 1
            log.warning("no-hello", "dropped '\(message.type)' from \(hexString(peer)), which has not said hello")
            if helloReminders[peer].map({ now - $0 >= .milliseconds(configuration.heartbeatMilliseconds) }) ?? true {
                if helloReminders.count > 10_000 { helloReminders.removeAll() }
                helloReminders[peer] = now
                sendRaw(router, to: peer, .error(ProtocolError(code: "hello-first", message: "this coordinator does not know you: send hello first")))
            }
            return
        }
        worker.lastHeard = now
        switch message {
        case .ready(let ready):
            if !worker.leaving { worker.credit += max(0, ready.credit) }
        case .results(let results):
            if !worker.leaving { worker.credit += max(0, results.credit) }
            for report in results.results { try accept(report, from: worker, now: now) }
        case .heartbeat:
            break
        case .goodbye(let goodbye):
            for lease in goodbye.returned where worker.leases.contains(lease) {
                if let active = leases.removeValue(forKey: lease) {
                    worker.leases.remove(lease)
                    inFlight[active.trial]?.activeLeases.remove(lease)
                    if !active.speculative { inFlight[active.trial]?.attempts -= 1 }
                    requeueIfIdle(active.trial)
                }
            }
            worker.leaving = true
            worker.credit = 0
            log.info("worker \(worker.name) is leaving: \(goodbye.returned.count) unstarted trials back to the queue, \(worker.leases.count) still running")
            if worker.leases.isEmpty { workerLost(worker, reason: "left", router: router, counted: false) }
        case .fetch(let fetch):
            try serve(fetch, to: worker, router: router)
        default:
            summary.malformedMessages += 1
            log.warning("unexpected", "dropped '\(message.type)' from worker \(worker.name): not a worker-to-coordinator message")
        }
    }

    /// A finished lease from `worker`. Stores the first result of a trial, compares later ones.
    private func accept(_ report: TrialReport, from worker: WorkerRecord, now: ContinuousClock.Instant) throws {
        guard report.trial >= 0 && report.trial < plan.trialCount else {
            summary.rejectedResults += 1
            worker.rejectedAcks.append(report.lease)
            log.warning("rejected", "rejected a result for trial \(report.trial) from \(worker.name): the experiment has trials 0..<\(plan.trialCount)")
            return
        }
        let encoded = report.outcome.map { encodings.encode($0) }
        let fingerprint = encoded?.fingerprint
        let active = leases[report.lease]
        let holds = active.map { $0.trial == report.trial && $0.workerName == worker.name } ?? false
        if !holds {
            // Not a lease this worker holds: a late duplicate of a finished trial, or a stray.
            if let accepted = try inFlight[report.trial]?.acceptedFingerprint ?? finalFingerprint(report.trial), let fingerprint {
                noteDuplicate(trial: report.trial, accepted: accepted, offered: fingerprint, worker: worker.name)
                worker.pendingAcks.append(report.lease)
            } else {
                summary.rejectedResults += 1
                worker.rejectedAcks.append(report.lease)
                log.warning("rejected", "rejected a result for trial \(report.trial) from \(worker.name): it does not hold lease \(report.lease)")
            }
            return
        }
        leases.removeValue(forKey: report.lease)
        worker.leases.remove(report.lease)
        var flight = inFlight[report.trial] ?? TrialInFlight()
        flight.activeLeases.remove(report.lease)
        defer { inFlight[report.trial] = flight }
        if let accepted = flight.acceptedFingerprint {
            if let fingerprint { noteDuplicate(trial: report.trial, accepted: accepted, offered: fingerprint, worker: worker.name) }
            worker.pendingAcks.append(report.lease)
            return
        }
        if let encoded, let fingerprint {
            flight.acceptedFingerprint = fingerprint
            if summary.secondsToFirstResult == nil { summary.secondsToFirstResult = secondsElapsed(since: start) }
            uncommitted.append(Ledger.TrialRecord(
                trial: report.trial, state: "done", attempts: flight.attempts, worker: worker.name, seconds: report.seconds,
                outcomeJSON: encoded.json, fingerprint: fingerprint, failure: nil))
            if uncommittedSince == nil { uncommittedSince = now }
            worker.pendingAcks.append(report.lease)
            // Other copies of this trial (speculative) are no longer needed; their results will be compared.
            for other in flight.activeLeases {
                if let copy = leases.removeValue(forKey: other) { workers[copy.worker]?.leases.remove(other) }
            }
            flight.activeLeases.removeAll()
        } else {
            flight.failures.append("\(worker.name): \(report.failure ?? "failed without a reason")")
            worker.pendingAcks.append(report.lease)
            inFlight[report.trial] = flight
            attemptEnded(report.trial)
            flight = inFlight[report.trial] ?? flight
        }
    }

    private func noteDuplicate(trial: Int, accepted: String, offered: String, worker: String) {
        summary.duplicateResults += 1
        if accepted != offered {
            summary.mismatchedDuplicates += 1
            log.warning("mismatch", "MISMATCH: trial \(trial) from \(worker) has fingerprint \(offered.prefix(16))… but the stored result has \(accepted.prefix(16))… — a non-deterministic build or a faulty worker")
            try? ledger.recordEvents([("mismatch", trial, "stored \(accepted), \(worker) reported \(offered)")])
        }
    }

    private func finalFingerprint(_ trial: Int) throws -> String? {
        guard let record = try ledger.record(trial: trial), record.state != "pending" else { return nil }
        return record.fingerprint ?? ""
    }

    /// A lease of `trial` ended without a result: requeue it, or record it failed once its
    /// attempts are used up (and no other copy is running).
    private func attemptEnded(_ trial: Int) {
        guard var flight = inFlight[trial], flight.acceptedFingerprint == nil, flight.activeLeases.isEmpty else { return }
        if flight.attempts >= configuration.maximumAttempts {
            let reason = "failed \(flight.attempts) attempts: " + flight.failures.suffix(5).joined(separator: "; ")
            flight.acceptedFingerprint = ""
            inFlight[trial] = flight
            uncommitted.append(Ledger.TrialRecord(trial: trial, state: "failed", attempts: flight.attempts, worker: nil, seconds: nil, outcomeJSON: nil, fingerprint: nil, failure: reason))
            if uncommittedSince == nil { uncommittedSince = ContinuousClock.now }
            log.warning("failed", "trial \(trial) \(reason)")
        } else {
            requeueIfIdle(trial)
        }
    }

    private func requeueIfIdle(_ trial: Int) {
        guard let flight = inFlight[trial], flight.acceptedFingerprint == nil, flight.activeLeases.isEmpty else { return }
        requeued.append(trial)
        summary.requeued += 1
    }

    // MARK: Committing

    /// Hands the uncommitted records, and the acks that wait on them, to the writer thread.
    private func submitGroup() {
        guard let writer, !uncommitted.isEmpty else { return }
        var acknowledgements: [[UInt8]: [UInt64]] = [:]
        for worker in workers.values where !worker.pendingAcks.isEmpty {
            acknowledgements[worker.id] = worker.pendingAcks
            worker.pendingAcks.removeAll(keepingCapacity: true)
        }
        writer.submit(LedgerWriter.Group(records: uncommitted, acknowledgements: acknowledgements))
        uncommitted.removeAll(keepingCapacity: true)
        uncommittedSince = nil
    }

    /// Applies groups the writer has made durable: counts, and the acks that waited on them.
    private func collectCommitted(_ router: ZMQSocket) throws {
        guard let writer else { return }
        for committed in writer.takeCommitted() {
            let dispositions: [Ledger.Disposition]
            switch committed.outcome {
            case .success(let value): dispositions = value
            case .failure(let error): throw CoordinatorError(problem: "ledger commit failed, stopping without acknowledging: \(error)")
            }
            summary.commits += 1
            commitSeconds += committed.seconds
            for (record, disposition) in zip(committed.group.records, dispositions) {
                inFlight.removeValue(forKey: record.trial)
                switch disposition {
                case .stored:
                    summary.resultsStored += 1
                    counts.pending -= 1
                    if record.state == "done" { counts.done += 1 } else { counts.failed += 1 }
                case .duplicate(let matches, let stored):
                    summary.duplicateResults += 1
                    if !matches {
                        summary.mismatchedDuplicates += 1
                        log.warning("mismatch", "MISMATCH: trial \(record.trial) already stored with fingerprint \(stored ?? "none"), got \(record.fingerprint ?? "none")")
                    }
                }
            }
            for (id, leases) in committed.group.acknowledgements {
                guard let worker = workers[id] else { continue }
                send(router, to: worker, .acknowledge(Acknowledge(leases: leases)))
            }
            onProgress?(progress)
        }
    }

    private func flushAcknowledgements(_ router: ZMQSocket) {
        for worker in workers.values where !worker.pendingAcks.isEmpty || !worker.rejectedAcks.isEmpty {
            // Acks for results of this commit (and for duplicates/rejections, which need no commit).
            send(router, to: worker, .acknowledge(Acknowledge(leases: worker.pendingAcks + worker.rejectedAcks)))
            worker.pendingAcks.removeAll(keepingCapacity: true)
            worker.rejectedAcks.removeAll(keepingCapacity: true)
        }
    }

    // MARK: Dispatching

    private func nextTrial() throws -> Int? {
        while requeuedHead < requeued.count {
            let trial = requeued[requeuedHead]
            requeuedHead += 1
            if requeuedHead > 4096 && requeuedHead * 2 > requeued.count {
                requeued.removeFirst(requeuedHead)
                requeuedHead = 0
            }
            if let flight = inFlight[trial], flight.acceptedFingerprint == nil, flight.activeLeases.isEmpty { return trial }
        }
        while true {
            if freshHead < fresh.count {
                let trial = fresh[freshHead]
                freshHead += 1
                if inFlight[trial] == nil { return trial }
                continue
            }
            if freshExhausted { return nil }
            fresh = try ledger.pendingTrials(after: lastFreshTrial, limit: 4096)
            freshHead = 0
            if let last = fresh.last { lastFreshTrial = last } else { freshExhausted = true; return nil }
        }
    }

    private func dispatch(_ router: ZMQSocket, now: ContinuousClock.Instant) throws {
        if summary.stoppedBySignal { return }
        var anyIdle = false
        for worker in workers.values where worker.credit > 0 {
            var batch: [Lease] = []
            while worker.credit > 0, batch.count < 1024, let trial = try nextTrial() {
                batch.append(issueLease(trial, to: worker, now: now, speculative: false))
            }
            if worker.credit > 0 { anyIdle = true }
            if !batch.isEmpty { send(router, to: worker, .trials(Trials(leases: batch))) }
        }
        if anyIdle && configuration.speculativeExecution { speculate(router, now: now) }
    }

    private func issueLease(_ trial: Int, to worker: WorkerRecord, now: ContinuousClock.Instant, speculative: Bool) -> Lease {
        let id = nextLease
        nextLease += 1
        var flight = inFlight[trial] ?? TrialInFlight()
        if !speculative { flight.attempts += 1 }
        flight.activeLeases.insert(id)
        inFlight[trial] = flight
        let deadline = configuration.trialTimeLimitSeconds.map { now + .milliseconds(Int64($0 * 1000)) }
        leases[id] = ActiveLease(trial: trial, worker: worker.id, workerName: worker.name, issued: now, deadline: deadline, speculative: speculative)
        worker.leases.insert(id)
        worker.credit -= 1
        summary.leasesIssued += 1
        if speculative { summary.speculativeLeases += 1 }
        return Lease(lease: id, trial: trial, attempt: flight.attempts, task: plan.task(trial), timeLimitSeconds: configuration.trialTimeLimitSeconds)
    }

    /// The queue is empty and workers are idle: lease the oldest running trials once more.
    private func speculate(_ router: ZMQSocket, now: ContinuousClock.Instant) {
        guard requeuedHead >= requeued.count, freshExhausted, freshHead >= fresh.count else { return }
        let threshold = Duration.milliseconds(Int64(configuration.speculativeAfterSeconds * 1000))
        var candidates = leases.filter { !$0.value.speculative && now - $0.value.issued >= threshold && (inFlight[$0.value.trial]?.activeLeases.count ?? 0) == 1 }
            .sorted { $0.value.issued < $1.value.issued }
        guard !candidates.isEmpty else { return }
        for worker in workers.values where worker.credit > 0 {
            var batch: [Lease] = []
            while worker.credit > 0, let index = candidates.firstIndex(where: { $0.value.worker != worker.id }) {
                let trial = candidates.remove(at: index).value.trial
                batch.append(issueLease(trial, to: worker, now: now, speculative: true))
            }
            if !batch.isEmpty { send(router, to: worker, .trials(Trials(leases: batch))) }
        }
    }

    // MARK: Heartbeats, liveness, time limits

    private func maintain(_ router: ZMQSocket, now: ContinuousClock.Instant, heartbeat: Duration) throws {
        let deadline = heartbeat * configuration.liveness
        for worker in Array(workers.values) {
            if now - worker.lastHeard > deadline {
                workerLost(worker, reason: "silent for \(configuration.liveness) heartbeats", router: router, counted: !worker.leaving || !worker.leases.isEmpty)
            } else if now - worker.lastSent >= heartbeat {
                send(router, to: worker, .heartbeat)
            }
        }
        if configuration.trialTimeLimitSeconds != nil {
            let expired = leases.filter { $0.value.deadline.map { now > $0 } ?? false }
            for (id, lease) in expired {
                leases.removeValue(forKey: id)
                workers[lease.worker]?.leases.remove(id)
                summary.expiredLeases += 1
                inFlight[lease.trial]?.activeLeases.remove(id)
                if !lease.speculative {
                    inFlight[lease.trial]?.failures.append("\(lease.workerName): time limit of \(configuration.trialTimeLimitSeconds!) s exceeded")
                }
                attemptEnded(lease.trial)
            }
        }
    }

    /// Forgets a worker and puts its leased trials back in the queue at once.
    private func workerLost(_ worker: WorkerRecord, reason: String, router: ZMQSocket, counted: Bool = true) {
        workers.removeValue(forKey: worker.id)
        if counted { summary.workersLost += 1 }
        log.info("worker \(worker.name) left (\(reason)); \(worker.leases.count) leases back to the queue; \(workers.count) connected")
        for id in worker.leases {
            guard let lease = leases.removeValue(forKey: id) else { continue }
            inFlight[lease.trial]?.activeLeases.remove(id)
            if counted && !lease.speculative { inFlight[lease.trial]?.failures.append("\(worker.name): \(reason)") }
            attemptEnded(lease.trial)
        }
        worker.leases.removeAll()
        if !worker.pendingAcks.isEmpty {
            // Their results are stored (or will be with this commit); the worker will resend and get an ack then.
            worker.pendingAcks.removeAll()
        }
    }

    // MARK: Authentication (ZAP, RFC 27)

    private func answerAuthentication(_ zap: ZMQSocket) throws {
        while let request = try zap.receive(dontWait: true) {
            guard request.count >= 6 else { continue }
            let version = request[0], requestID = request[1]
            let mechanism = String(decoding: request[5], as: UTF8.self)
            var allowed = false
            if mechanism == "CURVE", request.count >= 7, request[6].count == 32, case .curve(_, let keys) = configuration.security {
                allowed = keys.contains(Z85.encode(request[6]))
            }
            if !allowed {
                summary.refusedHandshakes += 1
                let who = request.count >= 7 && request[6].count == 32 ? Z85.encode(request[6]) : mechanism
                log.warning("zap", "refused a \(mechanism) handshake from \(String(decoding: request[3], as: UTF8.self)) with key \(who): not in the allow-list")
            }
            try zap.send([version, requestID, Array((allowed ? "200" : "400").utf8), Array((allowed ? "OK" : "key not allowed").utf8), [], []])
        }
    }

    // MARK: Metrics (Prometheus text format) and health, over a ZMQ_STREAM socket

    private var commitSeconds = 0.0

    private func answerHTTP(_ stream: ZMQSocket) throws {
        while let frames = try stream.receive(dontWait: true) {
            guard frames.count == 2, !frames[1].isEmpty else { continue }   // connect/disconnect notifications
            let request = String(decoding: frames[1].prefix(256), as: UTF8.self)
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let (status, body): (String, String) = switch path {
            case "/healthz", "/readyz": ("200 OK", "ok\n")
            case "/metrics", "/": ("200 OK", prometheusText)
            default: ("404 Not Found", "try /metrics or /healthz\n")
            }
            let response = "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            try? stream.send([frames[0], Array(response.utf8)], dontWait: true)
            try? stream.send([frames[0], []], dontWait: true)   // close the connection
        }
    }

    private var prometheusText: String {
        let experiment = plan.name.replacingOccurrences(of: "\"", with: "")
        func line(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) -> String {
            "# HELP minima_\(name) \(help)\n# TYPE minima_\(name) \(type)\n"
                + samples.map { "minima_\(name){experiment=\"\(experiment)\"\($0.0.isEmpty ? "" : "," + $0.0)} \($0.1)\n" }.joined()
        }
        return line("trials", "Trials by state.", "gauge", [("state=\"done\"", Double(counts.done)), ("state=\"failed\"", Double(counts.failed)),
                                                               ("state=\"pending\"", Double(counts.pending)), ("state=\"in_flight\"", Double(leases.count))])
            + line("workers_alive", "Workers connected.", "gauge", [("", Double(workers.count))])
            + line("leases_issued_total", "Leases handed out (dispatch).", "counter", [("", Double(summary.leasesIssued))])
            + line("results_stored_total", "Results committed to the ledger (completion).", "counter", [("", Double(summary.resultsStored))])
            + line("duplicate_results_total", "Results for trials already stored.", "counter", [("", Double(summary.duplicateResults))])
            + line("mismatched_results_total", "Duplicates whose bits differ from the stored result.", "counter", [("", Double(summary.mismatchedDuplicates))])
            + line("rejected_results_total", "Results from workers not holding the lease.", "counter", [("", Double(summary.rejectedResults))])
            + line("malformed_messages_total", "Messages dropped as malformed or out of protocol.", "counter", [("", Double(summary.malformedMessages))])
            + line("workers_lost_total", "Workers declared dead.", "counter", [("", Double(summary.workersLost))])
            + line("ledger_commits_total", "Group commits of the ledger.", "counter", [("", Double(summary.commits))])
            + line("ledger_commit_seconds_total", "Time spent committing (divide by commits for the mean latency).", "counter", [("", commitSeconds)])
            + line("dispatch_rate", "Leases issued per second since start.", "gauge", [("", Double(summary.leasesIssued) / max(1e-9, secondsElapsed(since: start)))])
            + line("completion_rate", "Results stored per second since start.", "gauge", [("", Double(summary.resultsStored) / max(1e-9, secondsElapsed(since: start)))])
    }

    // MARK: Datasets

    private func serve(_ fetch: Fetch, to worker: WorkerRecord, router: ZMQSocket) throws {
        guard let archive = try datasetArchive(fetch.dataset) else {
            send(router, to: worker, .error(ProtocolError(code: "unknown-dataset", message: "this coordinator cannot serve dataset \(fetch.dataset)")))
            return
        }
        let offset = max(0, min(fetch.offset, archive.count))
        let length = max(0, min(fetch.length, 4 << 20, archive.count - offset))
        send(router, to: worker, .chunk(Chunk(dataset: fetch.dataset, offset: offset, total: archive.count), bytes: Array(archive[offset ..< offset + length])))
    }

    private var archives: [String: [UInt8]] = [:]

    /// The archive of a dataset the plan uses, built once from the coordinator's own copy.
    private func datasetArchive(_ sha256: String) throws -> [UInt8]? {
        if let archive = archives[sha256] { return archive }
        var names = Set<String>()
        for trial in 0..<min(plan.trialCount, 64) {
            if case .train(let description) = plan.task(trial), description.data.datasetSHA256 == sha256 { names.insert(description.data.dataset) }
        }
        for name in names {
            guard let archive = try? DatasetArchive.make(source: name), archive.sha256 == sha256 else { continue }
            archives[sha256] = archive.bytes
            return archive.bytes
        }
        return nil
    }

    // MARK: Sending

    private func send(_ router: ZMQSocket, to worker: WorkerRecord, _ message: Message) {
        worker.lastSent = ContinuousClock.now
        sendRaw(router, to: worker.id, message)
    }

    private func sendRaw(_ router: ZMQSocket, to peer: [UInt8], _ message: Message) {
        do {
            try router.send([peer] + MessageCodec.encode(message), dontWait: true)
        } catch {
            // EHOSTUNREACH: the peer is gone; liveness will clean up. EAGAIN: it is not reading.
            log.warning("send", "could not send '\(message.type)' to \(workers[peer]?.name ?? hexString(peer)): \(error)")
        }
    }

    // MARK: Progress

    public var progress: CoordinatorProgress {
        CoordinatorProgress(experiment: plan.name, counts: counts, inFlight: leases.count, workers: workers.count,
                            uncommitted: uncommitted.count, summary: summary, seconds: secondsElapsed(since: start))
    }
}

/// A snapshot of a running coordinator.
public struct CoordinatorProgress: Sendable, Codable {
    public var experiment: String
    public var counts: Ledger.Counts
    public var inFlight: Int
    public var workers: Int
    public var uncommitted: Int
    public var summary: CoordinatorSummary
    public var seconds: Double
}

