import DequeModule
import OrderedCollections
import MinimaLedger
import MinimaProtocol

/// A connection to the coordinator, as ZeroMQ names it: the peer's routing id. Leases are bound
/// to the connection that received them, not to the name a worker gives itself.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    /// Hashed once: a peer is looked up several times per result, and hashing the bytes one by
    /// one each time was a tenth of the coordinator's time.
    private let hash: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        hash = hasher.finalize()
    }

    public static func == (a: PeerID, b: PeerID) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    public var description: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

/// A point on the scheduler's clock: the time since the coordinator started. The shell passes
/// the real clock's reading; tests pass whatever they like.
public typealias SchedulerInstant = Duration

/// What the scheduler asks its shell to do: send a message, or say something in the log.
public enum SchedulerOutput: Equatable, Sendable {
    case send(PeerID, Message)
    case log(SchedulerLogLine)
}

public struct SchedulerLogLine: Equatable, Sendable {
    public enum Level: Sendable { case info, warning }
    public var level: Level
    /// Warnings of one category are rate-limited together.
    public var category: String
    public var text: String
}

/// The coordinator's decisions, without I/O: which worker holds which lease, what is pending,
/// when a worker is dead, when a trial has failed for good, what to commit and whom to
/// acknowledge. Driven by events (a worker's messages, a commit, the clock) and returning what
/// to send, so that every rule of docs/PROTOCOL.md can be tested without sockets or sleeps, the
/// way swift-nio tests channel handlers on an `EmbeddedEventLoop`.
///
/// Memory: one bit per trial (final or not) plus the state of running and recently finished
/// trials; results live in the ledger once committed.
public struct Scheduler: Sendable {
    public let configuration: SchedulerConfiguration
    public let experimentName: String
    public let trialCount: Int
    private let task: @Sendable (Int) -> TaskDescription

    // Workers and leases. Workers are kept in the order they joined, so that every decision
    // that walks them (dispatch, liveness, quarantine) is the same in every process: a
    // Dictionary's order changes with each process's hash seed.
    private var workers: OrderedDictionary<PeerID, WorkerState> = [:]
    private var leases: [LeaseID: LeaseState] = [:]
    private var ignoredPeers = Set<PeerID>()
    private var helloReminders: [PeerID: SchedulerInstant] = [:]
    private var nextLease: LeaseID

    // Trials.
    private var final: FinalTrials
    private var inFlight: [Int: TrialFlight] = [:]
    private var requeued = Deque<Int>()
    /// Pending trials of a kind some connected worker does not run, set aside by kind for the
    /// workers that do.
    private var setAside: [String: Deque<Int>] = [:]
    private var freshCursor = 0
    private var verifications: [Int: Verification] = [:]
    private var verificationQueue = Deque<Int>()
    private var quarantined = Set<String>()

    // What waits for the ledger.
    private var uncommitted = LedgerGroup()
    private var uncommittedSince: SchedulerInstant?
    private var committing: LedgerGroup.Tag?

    public private(set) var counts: TrialCounts
    /// Final trials per sweep point (when the plan has points).
    public private(set) var points: [PointProgress]
    private let trialsPerPoint: Int?
    public private(set) var statistics = SchedulerStatistics()
    private var outputs: [SchedulerOutput] = []
    private var encodings = OutcomeEncodings()

    /// - Parameters:
    ///   - finalTrials: the trials that already have a final record in the ledger (resume).
    ///   - leaseIncarnation: a random number that makes this coordinator's lease ids differ from
    ///     those of its earlier runs, so that a result from before a crash is never taken for one
    ///     of a new lease (ids stay below 2⁵² so that every JSON reader keeps them exact).
    ///   - quarantined: workers quarantined by earlier runs on this ledger.
    public init(configuration: SchedulerConfiguration, experimentName: String, trialCount: Int, trialsPerPoint: Int? = nil,
                finalTrials: [(trial: Int, state: TrialState)], quarantined: [String] = [], leaseIncarnation: UInt64,
                task: @escaping @Sendable (Int) -> TaskDescription) {
        self.configuration = configuration
        let perPoint = trialsPerPoint.flatMap { $0 > 0 ? $0 : nil }
        self.trialsPerPoint = perPoint
        points = perPoint.map { Array(repeating: PointProgress(), count: (trialCount + $0 - 1) / $0) } ?? []
        self.experimentName = experimentName
        self.quarantined = Set(quarantined)
        self.trialCount = trialCount
        self.task = task
        nextLease = (leaseIncarnation % (1 << 20)) << 32 | 1
        final = FinalTrials(count: trialCount)
        var counts = TrialCounts()
        for (trial, state) in finalTrials where trial >= 0 && trial < trialCount && !final.contains(trial) {
            final.insert(trial)
            if state == .done { counts.done += 1 } else { counts.failed += 1 }
            if let perPoint { if state == .done { points[trial / perPoint].done += 1 } else { points[trial / perPoint].failed += 1 } }
        }
        counts.pending = trialCount - counts.done - counts.failed
        self.counts = counts
    }

    // MARK: Reading the state

    /// Every trial is final, nothing waits for the ledger, and no verification can still run.
    public var isComplete: Bool {
        counts.pending == 0 && counts.running == 0 && uncommitted.isEmpty && committing == nil && !verificationCanProceed
    }

    public var connectedWorkers: Int { workers.count }
    /// Trials the connected workers run at once (the sum of their threads).
    public var connectedThreads: Int { workers.values.reduce(0) { $0 + $1.threads } }
    /// Every connection that has said hello, in a stable order.
    public var connectedPeers: [PeerID] { workers.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) } }
    public var leasesOut: Int { leases.count }
    public var uncommittedRecords: Int { uncommitted.records.count }
    public var quarantinedWorkers: [String] { quarantined.sorted() }
    public var verificationsOutstanding: Int { verifications.count }
    /// Whether `peer` has said hello (and may fetch datasets).
    public func knows(_ peer: PeerID) -> Bool { workers[peer].map { !$0.quarantined } ?? false }
    /// The name a connected peer gave in its hello.
    public func name(of peer: PeerID) -> String? { workers[peer]?.name }

    /// Takes what the scheduler decided since the last call, in order.
    public mutating func takeOutputs() -> [SchedulerOutput] {
        defer { outputs.removeAll(keepingCapacity: true) }
        return outputs
    }

    // MARK: Events from workers

    /// A message from `peer` (already decoded). `status` requests are the shell's to answer.
    public mutating func received(_ message: Message, from peer: PeerID, now: SchedulerInstant) {
        lastNow = now
        if ignoredPeers.contains(peer) { return }
        if case .hello(let hello) = message { return self.hello(hello, from: peer, now: now) }
        // No copy of the worker's state is kept alive below: a copy would share its lease set, and
        // the next mutation of that set would then copy it whole (once per result).
        guard let name = workers[peer]?.name else {
            // A peer from before a restart, or one that skipped hello: remind it (at most once per
            // heartbeat interval) so that a real worker introduces itself again.
            statistics.malformedMessages += 1
            warn("no-hello", "dropped '\(message.type)' from \(peer), which has not said hello")
            if helloReminders[peer].map({ now - $0 >= configuration.heartbeat }) ?? true {
                if helloReminders.count > 10_000 { helloReminders.removeAll() }
                helloReminders[peer] = now
                outputs.append(.send(peer, .error(ProtocolError(code: ProtocolErrorCode.helloFirst.rawValue, message: "this coordinator does not know you: send hello first"))))
            }
            return
        }
        modifyWorker(peer) { $0.lastHeard = now }
        switch message {
        case .ready(let ready):
            grantCredit(ready.credit, to: peer)
        case .results(let results):
            // The leases reported free their places first: the credit is for after them.
            var immediateAcks: [LeaseID] = []
            for report in results.results { accept(report, from: peer, now: now, immediateAcks: &immediateAcks) }
            grantCredit(results.credit, to: peer)
            if !immediateAcks.isEmpty { send(.acknowledge(Acknowledge(leases: immediateAcks)), to: peer, now: now) }
        case .heartbeat, .fetch, .status:
            break   // fetch and status are the shell's (datasets, progress)
        case .goodbye(let goodbye):
            self.goodbye(goodbye, from: peer)
        default:
            statistics.malformedMessages += 1
            warn("unexpected", "dropped '\(message.type)' from worker \(name): not a worker-to-coordinator message")
        }
    }

    /// A message that could not be decoded. A foreign protocol version is answered once and the
    /// peer ignored from then on; anything else is dropped and counted.
    public mutating func undecodable(from peer: PeerID, foreignSignature: String?, problem: String) {
        if ignoredPeers.contains(peer) { return }
        if let foreignSignature {
            statistics.versionErrors += 1
            warn("version", "peer \(peer) speaks \(foreignSignature); this coordinator speaks versions \(supportedProtocolVersions)")
            refuseVersion(peer, message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); '\(foreignSignature)' is not one of them")
        } else {
            statistics.malformedMessages += 1
            warn("malformed", "dropped a malformed message from \(workers[peer]?.name ?? peer.description): \(problem)")
        }
    }

    private mutating func refuseVersion(_ peer: PeerID, message: String) {
        outputs.append(.send(peer, .error(ProtocolError(code: ProtocolErrorCode.unsupportedVersion.rawValue, message: message, supportedVersions: supportedProtocolVersions))))
        ignore(peer)
    }

    /// Ignores a connection from now on (bounded: a flood of new connections cannot grow it without end).
    private mutating func ignore(_ peer: PeerID) {
        if ignoredPeers.count >= 10_000 { ignoredPeers.removeAll() }
        ignoredPeers.insert(peer)
    }

    private mutating func hello(_ hello: Hello, from peer: PeerID, now: SchedulerInstant) {
        guard let version = hello.versions.filter(supportedProtocolVersions.contains).max() else {
            statistics.versionErrors += 1
            warn("version", "worker \(hello.worker) speaks protocol versions \(hello.versions); this coordinator speaks \(supportedProtocolVersions)")
            return refuseVersion(peer, message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); the worker offered \(hello.versions)")
        }
        if workers[peer] != nil { workerLost(peer, reason: "said hello again") }
        if quarantined.contains(hello.worker) {
            statistics.refusedQuarantined += 1
            warn("quarantine", "refused worker \(hello.worker): quarantined after its results disagreed with other workers'")
            outputs.append(.send(peer, .error(ProtocolError(code: ProtocolErrorCode.quarantined.rawValue,
                                                            message: "this coordinator no longer gives \(hello.worker) trials: its results disagreed with two other workers'"))))
            ignore(peer)
            return
        }
        var worker = WorkerState(peer: peer, name: hello.worker, now: now, kinds: WorkerState.restriction(hello.kinds))
        worker.threads = max(1, min(hello.threads, 1 << 16))
        workers[peer] = worker
        grantCredit(hello.credit, to: peer)
        statistics.workersSeen += 1
        info("worker \(hello.worker) joined (\(hello.threads) threads, \(hello.instructionSet), credit \(hello.credit)); \(workers.count) connected")
        send(.welcome(Welcome(version: version, experiment: experimentName, heartbeatMilliseconds: Int(configuration.heartbeat.milliseconds), liveness: configuration.liveness)),
             to: peer, now: now)
    }

    /// Credit is added up saturating at ``SchedulerConfiguration/maximumCredit`` trials held and
    /// promised: a peer can neither overflow it nor hold more trials than that.
    private mutating func grantCredit(_ credit: Int, to peer: PeerID) {
        let maximum = configuration.maximumCredit
        modifyWorker(peer) { worker in
            if worker.canTakeTrials { worker.addCredit(min(max(0, credit), maximum), maximum: maximum) }
        }
    }

    private mutating func goodbye(_ goodbye: Goodbye, from peer: PeerID) {
        guard var worker = workers[peer] else { return }
        for id in goodbye.returned where worker.leases.contains(id) {
            guard let lease = leases.removeValue(forKey: id) else { continue }
            worker.leases.remove(id)
            leaseEnded(id, lease, countsAsAttempt: false, failure: nil)
        }
        worker.leaving = true
        worker.revokeCredit()
        workers[peer] = worker
        info("worker \(worker.name) is leaving: \(goodbye.returned.count) unstarted trials back to the queue, \(worker.leases.count) still running")
        if worker.leases.isEmpty { workerLost(peer, reason: "left", counted: false) }
    }

    // MARK: Results

    private mutating func accept(_ report: TrialReport, from peer: PeerID, now: SchedulerInstant, immediateAcks: inout [LeaseID]) {
        guard let worker = workers[peer].map({ Reporter(peer: $0.peer, name: $0.name, quarantined: $0.quarantined) }) else { return }
        guard report.trial >= 0 && report.trial < trialCount else {
            return reject(report, from: worker, because: "the experiment has trials 0..<\(trialCount)", immediateAcks: &immediateAcks)
        }
        if worker.quarantined {
            return reject(report, from: worker, because: "the worker is quarantined", immediateAcks: &immediateAcks)
        }
        guard let lease = leases[report.lease], lease.trial == report.trial, lease.peer == peer else {
            return stray(report, from: worker, immediateAcks: &immediateAcks)
        }
        leases.removeValue(forKey: report.lease)
        modifyWorker(peer) { $0.returned(report.lease) }
        if let outcome = report.outcome, let mismatch = kindMismatch(outcome, task(report.trial)) {
            var failed = report
            failed.outcome = nil
            failed.failure = mismatch
            statistics.malformedMessages += 1
            warn("kind", "result of trial \(report.trial) from \(worker.name): \(mismatch)")
            return finishLease(report.lease, lease, failed, from: worker, now: now, immediateAcks: &immediateAcks)
        }
        finishLease(report.lease, lease, report, from: worker, now: now, immediateAcks: &immediateAcks)
    }

    private mutating func finishLease(_ id: LeaseID, _ lease: LeaseState, _ report: TrialReport, from worker: Reporter,
                                      now: SchedulerInstant, immediateAcks: inout [LeaseID]) {
        if lease.kind == .verification {
            immediateAcks.append(id)
            return verificationFinished(report, by: worker, now: now)
        }
        var flight = inFlight[report.trial] ?? TrialFlight()
        flight.activeLeases.remove(id)
        if let accepted = flight.accepted {
            // A second copy (speculative) of a trial whose first result is in: compare.
            inFlight[report.trial] = flight
            compareLateCopy(report, with: accepted, from: worker)
            return
        }
        guard let outcome = report.outcome else {
            flight.failures.append("\(worker.name): \(report.failure ?? "failed without a reason")")
            inFlight[report.trial] = flight
            immediateAcks.append(id)
            return attemptEnded(report.trial, wasRunning: true)
        }
        let encoded = encodings.encode(outcome)
        flight.accepted = AcceptedResult(fingerprint: encoded.fingerprint, worker: worker.name)
        // Other copies still out are no longer needed; their results will be compared.
        for other in flight.activeLeases {
            if let copy = leases.removeValue(forKey: other) { modifyWorker(copy.peer) { _ = $0.leases.remove(other) } }
        }
        flight.activeLeases.removeAll()
        inFlight[report.trial] = flight
        if statistics.secondsToFirstResult == nil { statistics.secondsToFirstResult = now.seconds }
        record(TrialRecord(trial: report.trial, state: .done, attempts: flight.attempts, worker: worker.name, seconds: report.seconds,
                           outcomeJSON: encoded.json, fingerprint: encoded.fingerprint, failure: nil), now: now)
        uncommitted.acknowledge(id, to: worker.peer)
        counts.done += 1
        counts.running -= 1
        if let trialsPerPoint {
            let point = report.trial / trialsPerPoint
            points[point].done += 1
            if report.seconds.isFinite && report.seconds >= 0 {
                points[point].timedTrials += 1
                points[point].timedSeconds += report.seconds
            }
        }
        if let verification = configuration.verification, verification.selects(trial: report.trial) {
            verifications[report.trial] = Verification(first: Opinion(fingerprint: encoded.fingerprint, worker: worker.name, record: nil))
            verificationQueue.append(report.trial)
        }
    }

    /// A result for a lease the peer does not hold: a late copy of a finished trial (compared),
    /// or a stray (rejected).
    private mutating func stray(_ report: TrialReport, from worker: Reporter, immediateAcks: inout [LeaseID]) {
        if let accepted = inFlight[report.trial]?.accepted {
            compareLateCopy(report, with: accepted, from: worker)
        } else if final.contains(report.trial) {
            guard let outcome = report.outcome else { immediateAcks.append(report.lease); return }
            // Final before this run (or committed since): the ledger compares it with the stored bits.
            let encoded = encodings.encode(outcome)
            statistics.duplicateResults += 1
            uncommitted.duplicates.append(TrialRecord(trial: report.trial, state: .done, attempts: 0, worker: worker.name, seconds: report.seconds,
                                                      outcomeJSON: nil, fingerprint: encoded.fingerprint, failure: nil))
            uncommitted.acknowledge(report.lease, to: worker.peer)
        } else {
            reject(report, from: worker, because: "it does not hold lease \(report.lease)", immediateAcks: &immediateAcks)
        }
    }

    private mutating func reject(_ report: TrialReport, from worker: Reporter, because reason: String, immediateAcks: inout [LeaseID]) {
        statistics.rejectedResults += 1
        immediateAcks.append(report.lease)
        warn("rejected", "rejected a result for trial \(report.trial) from \(worker.name): \(reason)")
    }

    /// A copy of a trial whose result is accepted but not yet committed: compared in memory (a
    /// failed trial has nothing to compare with), acknowledged with the commit.
    private mutating func compareLateCopy(_ report: TrialReport, with accepted: AcceptedResult, from worker: Reporter) {
        if let outcome = report.outcome, !accepted.fingerprint.isEmpty {
            compareDuplicate(trial: report.trial, accepted: accepted.fingerprint, offered: encodings.encode(outcome).fingerprint, worker: worker.name)
        }
        uncommitted.acknowledge(report.lease, to: worker.peer)
    }

    private mutating func compareDuplicate(trial: Int, accepted: String, offered: String, worker: String) {
        statistics.duplicateResults += 1
        guard accepted != offered else { return }
        statistics.mismatchedDuplicates += 1
        warn("mismatch", "MISMATCH: trial \(trial) from \(worker) has fingerprint \(offered.prefix(16))… but the accepted result has \(accepted.prefix(16))… — a non-deterministic build or a faulty worker")
        uncommitted.events.append(LedgerEvent(kind: .mismatch, trial: trial, detail: "accepted \(accepted), \(worker) reported \(offered)"))
    }

    /// Why `outcome` does not answer `task`: another kind, or a training result without the
    /// probes its description asks for (a worker built before probes decodes the description,
    /// ignores the field it does not know and trains; its result must not pass for complete).
    private func kindMismatch(_ outcome: TaskOutcome, _ task: TaskDescription) -> String? {
        switch (task, outcome) {
        case (.train(let description), .trained(let result)):
            if description.probes != nil && result.probes == nil && result.status != .cancelled {
                return "a training result without the probes its description asks for (is the worker older than the coordinator?)"
            }
            if description.curve != nil && result.curve == nil && result.status != .cancelled {
                return "a training result without the learning curve its description asks for (is the worker older than the coordinator?)"
            }
            if description.stopping.relativeGradientTolerance != nil && result.startGradientNorm == nil && result.status == .completed {
                return "a training result without the starting gradient norm its relative tolerance needs (is the worker older than the coordinator?)"
            }
            return nil
        case (.spinGlass, .spinGlass), (.noop, .noop), (.sleep, .slept): return nil
        default: return "a '\(outcome.kindName)' outcome for a '\(task.kindName)' task"
        }
    }

    // MARK: Verification

    private mutating func verificationFinished(_ report: TrialReport, by worker: Reporter, now: SchedulerInstant) {
        guard var verification = verifications[report.trial] else { return }
        verification.copyOut = false
        guard let outcome = report.outcome else {
            verifications[report.trial] = verification
            verificationQueue.append(report.trial)
            return
        }
        let encoded = encodings.encode(outcome)
        let opinion = Opinion(fingerprint: encoded.fingerprint, worker: worker.name,
                              record: TrialRecord(trial: report.trial, state: .done, attempts: inFlight[report.trial]?.attempts ?? 1, worker: worker.name,
                                                  seconds: report.seconds, outcomeJSON: encoded.json, fingerprint: encoded.fingerprint, failure: nil))
        guard let second = verification.second else {
            if opinion.fingerprint == verification.first.fingerprint {
                statistics.verifiedResults += 1
                verifications.removeValue(forKey: report.trial)
            } else {
                statistics.disputedResults += 1
                verification.second = opinion
                verifications[report.trial] = verification
                verificationQueue.append(report.trial)
                warn("disputed", "trial \(report.trial): \(verification.first.worker) and \(worker.name) disagree (\(verification.first.fingerprint.prefix(12))… vs \(opinion.fingerprint.prefix(12))…); a third worker decides")
                uncommitted.events.append(LedgerEvent(kind: .disputed, trial: report.trial,
                                                      detail: "\(verification.first.worker) reported \(verification.first.fingerprint), \(worker.name) reported \(opinion.fingerprint)"))
            }
            return
        }
        verifications.removeValue(forKey: report.trial)
        if opinion.fingerprint == verification.first.fingerprint {
            quarantine(second.worker, evidence: "trial \(report.trial): \(verification.first.worker) and \(worker.name) agree on \(opinion.fingerprint.prefix(16))…, \(second.worker) reported \(second.fingerprint.prefix(16))…", now: now)
        } else if opinion.fingerprint == second.fingerprint {
            // The first result was the faulty one: the majority's takes its place — in memory if
            // it is not committed yet (the quarantine below must not take the trial back), else
            // in the ledger.
            if let record = second.record {
                if let index = uncommitted.records.firstIndex(where: { $0.trial == report.trial && $0.worker == verification.first.worker }) {
                    uncommitted.records[index] = record
                    inFlight[report.trial]?.accepted = AcceptedResult(fingerprint: record.fingerprint ?? "", worker: record.worker ?? "")
                } else {
                    uncommitted.replacements.append(record)
                }
            }
            quarantine(verification.first.worker, evidence: "trial \(report.trial): \(second.worker) and \(worker.name) agree on \(opinion.fingerprint.prefix(16))…, \(verification.first.worker) reported \(verification.first.fingerprint.prefix(16))…", now: now)
        } else {
            statistics.undecidedDisputes += 1
            warn("disputed", "trial \(report.trial): three workers gave three different results; nobody quarantined")
            uncommitted.events.append(LedgerEvent(kind: .undecided, trial: report.trial, detail: "\(verification.first.worker), \(second.worker) and \(worker.name) disagree"))
        }
    }

    /// Stops giving `name` trials, takes back its leases, and invalidates every result it gave:
    /// those still in memory at once, those in the ledger when the next group commits (the ledger
    /// then names the trials, which run again elsewhere).
    private mutating func quarantine(_ name: String, evidence: String, now: SchedulerInstant) {
        guard quarantined.insert(name).inserted else { return }
        statistics.workersQuarantined += 1
        warn("quarantine", "quarantined worker \(name): \(evidence)")
        uncommitted.quarantines.append(Quarantine(worker: name, reason: evidence))
        for (peer, var worker) in workers where worker.name == name {
            worker.quarantined = true
            worker.revokeCredit()
            workers[peer] = worker
            for id in worker.leases { if let lease = leases.removeValue(forKey: id) { leaseEnded(id, lease, countsAsAttempt: false, failure: nil) } }
            workers[peer]?.leases.removeAll()
            outputs.append(.send(peer, .error(ProtocolError(code: ProtocolErrorCode.quarantined.rawValue, message: "quarantined: \(evidence)"))))
        }
        // Its results not yet committed never will be.
        let (dropped, kept) = uncommitted.records.partitioned { $0.worker == name && $0.state == .done }
        uncommitted.records = kept
        reopen(dropped.map(\.trial))
        // Verifications that rested on its word start over.
        for trial in verifications.keys.sorted() {
            guard var verification = verifications[trial] else { continue }
            if verification.first.worker == name {
                verifications.removeValue(forKey: trial)
            } else if verification.second?.worker == name {
                verification.second = nil
                verifications[trial] = verification
                if !verification.copyOut { verificationQueue.append(trial) }
            }
        }
    }

    /// Trials whose results were taken back: pending again.
    private mutating func reopen(_ trials: [Int]) {
        for trial in trials {
            let wasFinal = final.contains(trial)
            let wasAccepted = inFlight[trial]?.accepted != nil
            guard wasFinal || wasAccepted else { continue }
            final.remove(trial)
            inFlight[trial] = nil
            verifications[trial] = nil
            counts.done -= 1
            counts.pending += 1
            if let trialsPerPoint { points[trial / trialsPerPoint].done -= 1 }
            statistics.reopened += 1
            requeued.append(trial)
        }
    }

    private var verificationCanProceed: Bool {
        if verifications.values.contains(where: \.copyOut) { return true }
        guard !verificationQueue.isEmpty else { return false }
        return verificationQueue.contains { trial in
            guard let verification = verifications[trial] else { return false }
            return workers.values.contains { $0.canTakeTrials && !verification.workers.contains($0.name) }
        }
    }

    // MARK: Dispatch

    /// Hands pending trials to workers with credit: requeued trials first, then verification
    /// copies, then fresh trials in index order.
    public mutating func dispatch(now: SchedulerInstant) {
        lastNow = now
        for peer in Array(workers.keys) {
            guard let worker = workers[peer], worker.canTakeTrials else { continue }
            var available = worker.available(newPeerLimit: configuration.newPeerCredit)
            guard available > 0 else { continue }
            var batch: [Lease] = []
            while available > 0, batch.count < 1024 {
                if let trial = nextTrial(for: worker) {
                    batch.append(issueLease(trial, to: peer, kind: .primary, now: now))
                } else if let trial = nextVerification(for: worker) {
                    batch.append(issueLease(trial, to: peer, kind: .verification, now: now))
                } else {
                    break
                }
                available -= 1
            }
            if !batch.isEmpty { send(.trials(Trials(leases: batch)), to: peer, now: now) }
        }
    }

    /// The next trial `worker` can run: trials set aside for a kind it runs, then requeued ones,
    /// then fresh ones. Trials of a kind it does not run (a Python worker and a spin glass) are
    /// set aside for workers that do, instead of being leased to fail.
    private mutating func nextTrial(for worker: WorkerState) -> Int? {
        if !setAside.isEmpty, let kinds = worker.kinds ?? Optional(Set(setAside.keys)) {
            for kind in kinds.sorted() {
                while let trial = setAside[kind]?.popFirst() {
                    if setAside[kind]?.isEmpty == true { setAside[kind] = nil }
                    if isPending(trial) { return trial }
                }
            }
        }
        var scanned = 0
        while let trial = requeued.popFirst() {
            guard isPending(trial) else { continue }
            if let kind = unrunnableKind(trial, by: worker) { setAside[kind, default: []].append(trial); scanned += 1; if scanned > 4096 { return nil }; continue }
            return trial
        }
        while freshCursor < trialCount {
            let trial = freshCursor
            freshCursor += 1
            guard !final.contains(trial) && inFlight[trial] == nil else { continue }
            if let kind = unrunnableKind(trial, by: worker) { setAside[kind, default: []].append(trial); scanned += 1; if scanned > 4096 { return nil }; continue }
            return trial
        }
        return nil
    }

    private func isPending(_ trial: Int) -> Bool {
        if let flight = inFlight[trial], flight.accepted != nil || !flight.activeLeases.isEmpty { return false }
        return !final.contains(trial)
    }

    /// The trial's kind when `worker` does not run it (nil: it does).
    private func unrunnableKind(_ trial: Int, by worker: WorkerState) -> String? {
        guard worker.kinds != nil else { return nil }
        let kind = task(trial).kindName
        return worker.runs(kind) ? nil : kind
    }

    /// Whether `worker` runs trial `trial`'s kind (its task is built only for restricted workers).
    private func runs(_ trial: Int, on worker: WorkerState) -> Bool {
        worker.kinds == nil || unrunnableKind(trial, by: worker) == nil
    }

    private mutating func nextVerification(for worker: WorkerState) -> Int? {
        for _ in 0..<min(verificationQueue.count, 64) {
            let trial = verificationQueue.removeFirst()
            guard var verification = verifications[trial], !verification.copyOut else { continue }
            if verification.workers.contains(worker.name) || !runs(trial, on: worker) { verificationQueue.append(trial); continue }
            verification.copyOut = true
            verifications[trial] = verification
            return trial
        }
        return nil
    }

    private mutating func issueLease(_ trial: Int, to peer: PeerID, kind: LeaseKind, now: SchedulerInstant) -> Lease {
        let id = nextLease
        nextLease += 1
        var flight = inFlight[trial] ?? TrialFlight()
        if kind == .primary { flight.attempts += 1 }
        if kind != .verification && flight.activeLeases.isEmpty { counts.pending -= 1; counts.running += 1 }
        if kind != .verification { flight.activeLeases.insert(id) }
        inFlight[trial] = flight
        leases[id] = LeaseState(trial: trial, peer: peer, issued: now, deadline: configuration.trialTimeLimit.map { now + $0 }, kind: kind)
        modifyWorker(peer) { $0.issue(id) }
        statistics.leasesIssued += 1
        if kind == .speculative { statistics.speculativeLeases += 1 }
        if kind == .verification { statistics.verificationLeases += 1 }
        return Lease(lease: id, trial: trial, attempt: max(1, flight.attempts), task: task(trial), timeLimitSeconds: configuration.trialTimeLimit?.seconds)
    }

    /// The queue is empty and workers are idle: lease the oldest running trials once more, each
    /// to a worker other than the one running it.
    private mutating func speculate(now: SchedulerInstant) {
        guard configuration.speculativeExecution, requeued.isEmpty, freshCursor >= trialCount else { return }
        let idle = workers.values.filter { $0.canTakeTrials && $0.available(newPeerLimit: configuration.newPeerCredit) > 0 }
        guard !idle.isEmpty else { return }
        var candidates = leases.filter { $0.value.kind == .primary && now - $0.value.issued >= configuration.speculateAfter && inFlight[$0.value.trial]?.activeLeases.count == 1 }
            .sorted { ($0.value.issued, $0.key) < ($1.value.issued, $1.key) }
        guard !candidates.isEmpty else { return }
        for worker in idle.sorted(by: { $0.name < $1.name }) {
            var available = worker.available(newPeerLimit: configuration.newPeerCredit)
            var batch: [Lease] = []
            while available > 0, let index = candidates.firstIndex(where: { $0.value.peer != worker.peer && runs($0.value.trial, on: worker) }) {
                let trial = candidates.remove(at: index).value.trial
                batch.append(issueLease(trial, to: worker.peer, kind: .speculative, now: now))
                available -= 1
            }
            if !batch.isEmpty { send(.trials(Trials(leases: batch)), to: worker.peer, now: now) }
        }
    }

    // MARK: The clock

    /// Liveness, heartbeats, time limits and speculation. Call at least every half heartbeat.
    public mutating func tick(now: SchedulerInstant) {
        lastNow = now
        let deadline = configuration.heartbeat * configuration.liveness
        for peer in Array(workers.keys) {
            guard let worker = workers[peer] else { continue }
            if now - worker.lastHeard > deadline {
                workerLost(peer, reason: "silent for \(configuration.liveness) heartbeats", counted: !worker.leaving || !worker.leases.isEmpty)
            } else if now - worker.lastSent >= configuration.heartbeat {
                send(.heartbeat, to: peer, now: now)
            }
        }
        if let limit = configuration.trialTimeLimit {
            let expired = leases.filter { $0.value.deadline.map { now > $0 } ?? false }.sorted { $0.key < $1.key }
            for (id, lease) in expired {
                leases.removeValue(forKey: id)
                workers[lease.peer]?.leases.remove(id)
                statistics.expiredLeases += 1
                leaseEnded(id, lease, countsAsAttempt: true, failure: "\(workers[lease.peer]?.name ?? "a worker"): time limit of \(limit.seconds) s exceeded")
            }
        }
        speculate(now: now)
        dispatch(now: now)
    }

    /// Forgets a worker and puts its leased trials back in the queue at once.
    private mutating func workerLost(_ peer: PeerID, reason: String, counted: Bool = true) {
        guard let worker = workers.removeValue(forKey: peer) else { return }
        if counted { statistics.workersLost += 1 }
        info("worker \(worker.name) left (\(reason)); \(worker.leases.count) leases back to the queue; \(workers.count) connected")
        for id in worker.leases.sorted() {
            guard let lease = leases.removeValue(forKey: id) else { continue }
            leaseEnded(id, lease, countsAsAttempt: counted, failure: counted ? "\(worker.name): \(reason)" : nil, unproven: !worker.proven)
        }
        uncommitted.forget(peer)
    }

    /// A lease ended without a result (its worker died, left, or ran out of time).
    /// `unproven`: the worker had returned no result; a lost lease then counts against the
    /// trial's losses to such workers, not its attempts.
    private mutating func leaseEnded(_ id: LeaseID, _ lease: LeaseState, countsAsAttempt: Bool, failure: String?, unproven: Bool = false) {
        if lease.kind == .verification {
            if var verification = verifications[lease.trial] {
                verification.copyOut = false
                verifications[lease.trial] = verification
                verificationQueue.append(lease.trial)
            }
            return
        }
        guard var flight = inFlight[lease.trial] else { return }
        flight.activeLeases.remove(id)
        if lease.kind == .primary && !countsAsAttempt { flight.attempts -= 1 }
        if lease.kind == .primary && countsAsAttempt && unproven {
            flight.attempts -= 1
            flight.lossesToUnprovenWorkers += 1
        }
        if lease.kind == .primary, let failure { flight.failures.append(failure) }
        inFlight[lease.trial] = flight
        attemptEnded(lease.trial, wasRunning: true)
    }

    /// A lease of `trial` ended without a result: requeue it, or record it failed once its
    /// attempts are used up (and no other copy is running).
    private mutating func attemptEnded(_ trial: Int, wasRunning: Bool) {
        guard var flight = inFlight[trial], flight.accepted == nil, flight.activeLeases.isEmpty else { return }
        if wasRunning { counts.running -= 1; counts.pending += 1 }
        if flight.attempts >= configuration.maximumAttempts || flight.lossesToUnprovenWorkers >= configuration.maximumLossesToUnprovenWorkers {
            let reason = (flight.attempts >= configuration.maximumAttempts
                ? "failed \(flight.attempts) attempts: "
                : "lost \(flight.lossesToUnprovenWorkers) times to workers that never returned a result: ") + flight.failures.suffix(5).joined(separator: "; ")
            flight.accepted = AcceptedResult(fingerprint: "", worker: "")
            inFlight[trial] = flight
            counts.pending -= 1
            counts.failed += 1
            if let trialsPerPoint { points[trial / trialsPerPoint].failed += 1 }
            record(TrialRecord(trial: trial, state: .failed, attempts: flight.attempts, worker: nil, seconds: nil, outcomeJSON: nil, fingerprint: nil, failure: reason), now: nil)
            warn("failed", "trial \(trial) \(reason)")
        } else {
            requeued.append(trial)
            statistics.requeued += 1
        }
    }

    // MARK: The ledger

    private mutating func record(_ record: TrialRecord, now: SchedulerInstant?) {
        uncommitted.records.append(record)
        if uncommittedSince == nil { uncommittedSince = now ?? lastNow }
    }

    private var lastNow: SchedulerInstant = .zero

    /// Whether a group should be committed now, no group being committed: results have waited
    /// the commit interval, or enough have piled up; anything else (acks, events, quarantines)
    /// goes at once.
    public func commitDue(now: SchedulerInstant) -> Bool {
        guard committing == nil, !uncommitted.isEmpty else { return false }
        guard let since = uncommittedSince else { return true }
        return uncommitted.records.count >= configuration.commitBatchLimit || now - since >= configuration.commitInterval
    }

    /// Hands over what waits for the ledger. Only one group is out at a time; call
    /// ``committed(_:now:)`` with what the ledger did.
    public mutating func takeGroup() -> LedgerGroup? {
        guard committing == nil, !uncommitted.isEmpty else { return nil }
        var group = uncommitted
        group.tag = LedgerGroup.Tag(rawValue: statistics.commits + 1)
        committing = group.tag
        uncommitted = LedgerGroup()
        uncommittedSince = nil
        return group
    }

    /// The ledger made `group` durable: acknowledge its results, and reopen the trials of
    /// quarantined workers that it invalidated.
    public mutating func committed(_ group: LedgerGroup, _ result: LedgerGroup.Result, now: SchedulerInstant) {
        lastNow = now
        guard committing == group.tag else { return }
        committing = nil
        statistics.commits += 1
        for (record, disposition) in zip(group.records, result.dispositions) {
            if inFlight[record.trial]?.accepted != nil { inFlight.removeValue(forKey: record.trial) }
            switch disposition {
            case .stored:
                final.insert(record.trial)
                statistics.resultsStored += 1
            case .duplicate(let matches, _):
                // Final already in the ledger (written by another process): the stored record stands.
                final.insert(record.trial)
                statistics.duplicateResults += 1
                if !matches { statistics.mismatchedDuplicates += 1 }
            }
        }
        for disposition in result.duplicateDispositions {
            if case .duplicate(false, _) = disposition { statistics.mismatchedDuplicates += 1 }
        }
        for (peer, ids) in group.acknowledgements.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) where workers[peer] != nil {
            send(.acknowledge(Acknowledge(leases: ids)), to: peer, now: now)
        }
        reopen(result.invalidatedTrials)
    }

    // MARK: Sending and logging

    /// Changes a worker's state in place. (`workers[peer]?.x = …` on an OrderedDictionary moves the
    /// value out and back on every call; indexing its values does not.)
    @discardableResult
    private mutating func modifyWorker<Result>(_ peer: PeerID, _ body: (inout WorkerState) -> Result) -> Result? {
        guard let index = workers.index(forKey: peer) else { return nil }
        return body(&workers.values[index])
    }

    private mutating func send(_ message: Message, to peer: PeerID, now: SchedulerInstant) {
        modifyWorker(peer) { $0.lastSent = now }
        lastNow = now
        outputs.append(.send(peer, message))
    }

    private mutating func info(_ text: String) { outputs.append(.log(SchedulerLogLine(level: .info, category: "info", text: text))) }
    private mutating func warn(_ category: String, _ text: String) { outputs.append(.log(SchedulerLogLine(level: .warning, category: category, text: text))) }

    // MARK: Checking the invariants (tests)

    /// Throws a description of the first broken invariant, if any: leases held once, credit never
    /// exceeded, the trial counts partitioning the trials.
    public func checkInvariants() throws(SchedulerInvariantViolation) {
        var held = Set<LeaseID>()
        for worker in workers.values {
            for id in worker.leases {
                guard held.insert(id).inserted else { throw SchedulerInvariantViolation("lease \(id) is held by two workers") }
                guard let lease = leases[id], lease.peer == worker.peer else { throw SchedulerInvariantViolation("worker \(worker.name) holds lease \(id), which the scheduler does not give it") }
            }
            guard worker.credit >= 0, worker.credit + worker.leases.count <= configuration.maximumCredit else {
                throw SchedulerInvariantViolation("worker \(worker.name) has credit \(worker.credit) with \(worker.leases.count) leases held")
            }
            guard worker.issued <= worker.granted else {
                throw SchedulerInvariantViolation("worker \(worker.name) was sent \(worker.issued) leases for \(worker.granted) credit")
            }
            guard worker.proven || worker.leases.count <= configuration.newPeerCredit else {
                throw SchedulerInvariantViolation("worker \(worker.name) holds \(worker.leases.count) leases before returning a result (limit \(configuration.newPeerCredit))")
            }
        }
        guard held.count == leases.count else { throw SchedulerInvariantViolation("\(leases.count - held.count) leases belong to no connected worker") }
        guard counts.total == trialCount, counts.pending >= 0, counts.running >= 0, counts.done >= 0, counts.failed >= 0 else {
            throw SchedulerInvariantViolation("counts \(counts) do not partition \(trialCount) trials")
        }
        let running = Set(leases.values.filter { $0.kind != .verification }.map(\.trial))
        guard running.count == counts.running else { throw SchedulerInvariantViolation("\(running.count) trials have leases out but \(counts.running) are counted running") }
    }
}

public struct SchedulerInvariantViolation: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

extension Duration {
    /// One correctly rounded division, so that a duration made from 0.3 s reads back as 0.3.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Array {
    func partitioned(by isFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = [], second: [Element] = []
        for element in self { if isFirst(element) { first.append(element) } else { second.append(element) } }
        return (first, second)
    }
}
