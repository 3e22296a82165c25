import MinimaCore
import MinimaLedger
import MinimaProtocol

public typealias LeaseID = UInt64

/// How the scheduler decides. Defaults follow the ZeroMQ Guide's Paranoid Pirate: 1 s
/// heartbeats, a peer silent for 3 intervals is dead.
public struct SchedulerConfiguration: Sendable {
    public var heartbeat: Duration = .seconds(1)
    public var liveness = 3
    /// Leases per trial that may end without a result before the trial is recorded as failed.
    public var maximumAttempts = 3
    /// Wall-clock limit per lease (nil: none). An expired lease counts as a failed attempt.
    public var trialTimeLimit: Duration?
    /// Lease the oldest running trials again to idle workers when the queue is empty.
    public var speculativeExecution = true
    /// A lease must have run this long before it is copied speculatively.
    public var speculateAfter: Duration = .seconds(2)
    /// Results are committed together: at most this long after the first uncommitted one…
    public var commitInterval: Duration = .milliseconds(5)
    /// …or as soon as this many are waiting.
    public var commitBatchLimit = 8192
    /// The most trials a worker can hold, leased and promised (more credit is ignored): bounds
    /// what one peer can take.
    public var maximumCredit = 65_536
    /// Leases a worker may hold before it has returned its first result: what a peer that takes
    /// trials and goes silent can take per connection.
    public var newPeerCredit = 64
    /// Leases of one trial that may be lost with their worker (silent or gone: killed, preempted,
    /// cut off) before the trial is recorded as failed. Such losses do not use up
    /// ``maximumAttempts``, which counts reported failures and expired time limits: a worker's
    /// death is weak evidence against the trial it held — preemption and the OOM killer hit
    /// whatever was running, and a peer that takes trials and vanishes, again and again, must
    /// not fail a study (a chaos run failed a trial whose three holders were killed in turn) —
    /// but a trial that kills every worker that tries it still ends.
    public var maximumLosses = 10
    /// Re-run a sample of finished trials on a different worker and compare (nil: trust).
    public var verification: VerificationPolicy?

    public init() {}
}

/// Which finished trials are run a second time, on another worker, to check the first result
/// (volunteer computing's redundancy, BOINC-style). The sample is a fixed function of the trial
/// index, so a resumed run verifies the same trials.
public struct VerificationPolicy: Sendable, Equatable {
    /// The fraction of trials verified, in [0, 1].
    public var fraction: Double
    public init(fraction: Double) { self.fraction = fraction }

    public func selects(trial: Int) -> Bool {
        guard fraction > 0 else { return false }
        if fraction >= 1 { return true }
        var z = UInt64(truncatingIfNeeded: trial) &+ 0x4D69_6E69_6D61_0001   // "Minima"
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53 < fraction
    }
}

/// The trials by state; the four add up to the experiment's trial count.
public struct TrialCounts: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Waiting for a worker (including trials whose leases were lost and are requeued).
    public var pending = 0
    /// Leased to at least one worker.
    public var running = 0
    /// Final with a result (committed, or accepted and about to be).
    public var done = 0
    /// Final after using up their attempts.
    public var failed = 0
    public init(pending: Int = 0, running: Int = 0, done: Int = 0, failed: Int = 0) {
        self.pending = pending
        self.running = running
        self.done = done
        self.failed = failed
    }
    public var total: Int { pending + running + done + failed }
    public var final: Int { done + failed }
    public var description: String { "pending \(pending), running \(running), done \(done), failed \(failed)" }
}

/// The final trials of one sweep point.
public struct PointProgress: Sendable, Equatable, Codable {
    public var done = 0
    public var failed = 0
    /// Trials finished in this session whose workers reported their time, and that time: what
    /// the remaining-time estimate learns the point's cost from.
    public var timedTrials = 0
    public var timedSeconds = 0.0
    public init(done: Int = 0, failed: Int = 0, timedTrials: Int = 0, timedSeconds: Double = 0) {
        self.done = done
        self.failed = failed
        self.timedTrials = timedTrials
        self.timedSeconds = timedSeconds
    }

    public func isFinished(restarts: Int) -> Bool { done + failed >= restarts }
}

/// What a scheduler saw: counters for the summary, the status command and the metrics.
public struct SchedulerStatistics: Sendable, Codable, Equatable {
    public var resultsStored = 0
    public var duplicateResults = 0
    public var mismatchedDuplicates = 0
    public var rejectedResults = 0
    public var malformedMessages = 0
    public var versionErrors = 0
    public var workersSeen = 0
    public var workersLost = 0
    public var leasesIssued = 0
    public var speculativeLeases = 0
    public var verificationLeases = 0
    public var verifiedResults = 0
    public var disputedResults = 0
    public var undecidedDisputes = 0
    public var workersQuarantined = 0
    public var refusedQuarantined = 0
    public var reopened = 0
    public var expiredLeases = 0
    public var requeued = 0
    public var commits = 0
    public var secondsToFirstResult: Double?
    /// Results for trials final before this run acknowledged without comparing them with the
    /// stored bits (beyond ``SchedulerLimits/comparisonsPerConnection`` or per run); nil: none.
    public var uncomparedDuplicates: Int?
    /// Connections that got no more trials after failing many in a row (nil: none).
    public var workersThrottled: Int?
    public init() {}
}

// MARK: - The scheduler's records

enum LeaseKind: Sendable { case primary, speculative, verification }

struct LeaseState: Sendable {
    var trial: Int
    var peer: PeerID
    var issued: SchedulerInstant
    var deadline: SchedulerInstant?
    var kind: LeaseKind
}

struct WorkerState: Sendable {
    let peer: PeerID
    /// The name it gave, followed under CURVE by its key's first characters ("node-3 (key
    /// rq:rt1#k)"): what results are stored under, and what quarantine takes back.
    let name: String
    let identity: WorkerIdentity
    /// Trials it may still be sent: `granted - issued`, never above the maximum credit.
    private(set) var credit = 0
    /// Credit granted and leases issued over the connection's life (credit is never exceeded:
    /// `issued <= granted`).
    private(set) var granted = 0
    private(set) var issued = 0
    var leases = Set<LeaseID>()
    var lastHeard: SchedulerInstant
    var lastSent: SchedulerInstant
    let connected: SchedulerInstant
    /// Leases it has reported on this connection.
    private(set) var reported = 0
    /// Its results for trials final before this run sent to the ledger for comparison.
    var comparisons = 0
    /// Said goodbye: gets no more trials; stays until its running leases are reported.
    var leaving = false
    var quarantined = false
    /// Failure reports since its last result; at ``SchedulerLimits/failuresInARowBeforeThrottle``
    /// it is throttled (no more trials on this connection while others can take them).
    var failuresInARow = 0
    var throttled = false
    /// Has returned a result on this connection.
    var proven = false
    /// The task kinds it said it runs (`hello.kinds`); nil: it did not say, so any.
    var kinds: Set<TaskKind>?
    /// Trials it runs at once (`hello.threads`).
    var threads = 1

    init(peer: PeerID, name: String, identity: WorkerIdentity? = nil, now: SchedulerInstant, kinds: Set<TaskKind>? = nil) {
        self.peer = peer
        self.name = name
        self.identity = identity ?? .connection(peer)
        self.kinds = kinds
        lastHeard = now
        lastSent = now
        connected = now
    }

    /// Whether it runs tasks of this kind.
    func runs(_ kind: TaskKind) -> Bool { kinds?.contains(kind) ?? true }

    /// The kinds a hello lists, nil when that is every kind this build hands out (or none was
    /// said): the dispatch loop then never builds a trial's task just to learn its kind.
    static func restriction(_ kinds: [TaskKind]) -> Set<TaskKind>? {
        let listed = Set(kinds)
        return listed.isEmpty || listed.isSuperset(of: TaskRegistry.kinds) ? nil : listed
    }

    var canTakeTrials: Bool { acceptsCredit && !throttled }
    /// A throttled worker's credit still counts (it may take trials again when nobody else can).
    var acceptsCredit: Bool { !leaving && !quarantined }

    /// Leases it may be given now: its credit, and for a peer that has returned nothing yet, at
    /// most `newPeerLimit` held at once.
    func available(newPeerLimit: Int) -> Int {
        proven ? credit : max(0, min(credit, newPeerLimit - leases.count))
    }

    /// Adds credit, saturating so that leases held plus credit stay within `maximum` (what is
    /// beyond it is not granted).
    mutating func addCredit(_ added: Int, maximum: Int) {
        let accepted = max(0, min(added, maximum - credit - leases.count))
        credit += accepted
        granted += accepted
    }

    /// A lease goes to this worker, spending one credit.
    mutating func issue(_ lease: LeaseID) {
        precondition(credit > 0, "a lease issued without credit")
        credit -= 1
        issued += 1
        leases.insert(lease)
    }

    /// The worker reported a lease it held: it has proven it returns results.
    mutating func returned(_ lease: LeaseID) {
        leases.remove(lease)
        reported += 1
        proven = true
    }

    /// The worker leaves or is quarantined: what it had not used is withdrawn.
    mutating func revokeCredit() {
        granted -= credit
        credit = 0
    }
}

/// Who sent a result: the parts of a worker's state that judging it needs (not the state
/// itself, whose lease set must not be shared while it changes).
struct Reporter: Sendable {
    var peer: PeerID
    var name: String
    var quarantined: Bool
    /// Its failures in a row when the report arrived.
    var failuresInARow = 0
    /// The name it gave and the connection it came over, for events: the name alone can be
    /// anybody's.
    var nameAndConnection: String { "\(name) (connection \(peer))" }
    /// Who it is for verification.
    var identity: WorkerIdentity
}

/// Who a worker is when opinions are counted: its CURVE public key when the coordinator
/// authenticates keys (every connection with that key is one party), else its connection. A
/// result confirms or outvotes another only from a different identity, and quarantine applies to
/// the identity — a name, which anybody can claim, is never a vote.
enum WorkerIdentity: Hashable, Sendable {
    /// The client's long-term CURVE public key (Z85), as the ZAP handler authenticated it.
    case key(String)
    case connection(PeerID)
}

/// The leases of one trial that are out: nearly always one, kept inline (a set per trial would
/// allocate for every dispatch).
struct LeaseIDs: Sequence, Sendable {
    private var first: LeaseID?
    private var others: [LeaseID] = []
    var isEmpty: Bool { first == nil }
    var count: Int { first == nil ? 0 : 1 + others.count }
    mutating func insert(_ id: LeaseID) { if first == nil { first = id } else { others.append(id) } }
    mutating func remove(_ id: LeaseID) {
        if first == id { first = others.isEmpty ? nil : others.removeFirst() } else { others.removeAll { $0 == id } }
    }
    mutating func removeAll() { first = nil; others.removeAll() }
    func makeIterator() -> IndexingIterator<[LeaseID]> { ((first.map { [$0] } ?? []) + others).makeIterator() }
}

/// How a trial in flight ended, until its record is committed.
enum TrialVerdict: Sendable, Equatable {
    /// A result was accepted: its fingerprint and the worker that gave it.
    case result(fingerprint: String, worker: String)
    /// Its attempts are used up: recorded as failed.
    case failed
}

/// A trial with leases out, or whose result waits for its commit.
struct TrialFlight: Sendable {
    var attempts = 0
    /// The connections whose reported failures of this trial counted as attempts: a second
    /// failure from one of them counts only when no other worker could try the trial instead.
    var failedBy: Set<PeerID> = []
    /// Leases lost with their workers (not counted in `attempts`).
    var losses = 0
    var activeLeases = LeaseIDs()
    var failures: [String] = []
    /// The accepted result or the final failure, until committed.
    var verdict: TrialVerdict?
}

/// One worker's answer for a trial under verification.
struct Opinion: Sendable {
    var fingerprint: String
    /// The worker's stored name (with its key's prefix under CURVE).
    var worker: String
    var identity: WorkerIdentity
    /// The full record, kept for the second opinion: it replaces the stored one if a third agrees.
    var record: TrialRecord?
}

struct Verification: Sendable {
    var first: Opinion
    var second: Opinion?
    var copyOut = false
    init(first: Opinion) { self.first = first }
    /// Who has given an opinion: no identity gives two.
    var identities: Set<WorkerIdentity> { Set([first.identity] + (second.map { [$0.identity] } ?? [])) }
}

/// One bit per trial: whether it has a final record.
struct FinalTrials: Sendable {
    private var words: [UInt64]
    init(count: Int) { words = Array(repeating: 0, count: (max(0, count) + 63) / 64) }
    func contains(_ trial: Int) -> Bool { words[trial >> 6] & (1 << UInt64(trial & 63)) != 0 }
    mutating func insert(_ trial: Int) { words[trial >> 6] |= 1 << UInt64(trial & 63) }
    mutating func remove(_ trial: Int) { words[trial >> 6] &= ~(1 << UInt64(trial & 63)) }
}

/// An outcome as the ledger stores it: canonical JSON and the fingerprint of its deterministic part.
struct OutcomeRecord: Sendable {
    var json: String
    var fingerprint: String
    init(_ outcome: TaskOutcome) {
        json = canonicalJSON(outcome)
        fingerprint = outcomeFingerprint(outcome)
    }
}

/// The stored form of outcomes of kinds whose values repeat (``OutcomePayload/repeatsOften``:
/// no-op and sleep), computed once: such trials arrive by the hundred thousand in benchmarks and
/// tests, and encoding plus hashing each one was a quarter of the coordinator's time.
struct OutcomeEncodings: Sendable {
    private var repeated: [TaskOutcome: OutcomeRecord] = [:]

    mutating func encode(_ outcome: TaskOutcome) -> OutcomeRecord {
        guard type(of: outcome.payload).repeatsOften else { return OutcomeRecord(outcome) }
        if let cached = repeated[outcome] { return cached }
        let record = OutcomeRecord(outcome)
        if repeated.count < SchedulerLimits.cachedOutcomeEncodings { repeated[outcome] = record }
        return record
    }
}

/// The fingerprint of an outcome's deterministic part: equal for equal runs of a task.
public func outcomeFingerprint(_ outcome: TaskOutcome) -> String {
    SHA256.hex(of: Array(canonicalJSON(outcome.deterministicPart).utf8))
}

// MARK: - What goes to the ledger

/// What waits for the next commit: a ledger batch, and the acknowledgements that must not leave
/// before it is durable.
public struct LedgerGroup: Sendable {
    public struct Tag: RawRepresentable, Hashable, Sendable { public var rawValue: Int; public init(rawValue: Int) { self.rawValue = rawValue } }
    public var tag = Tag(rawValue: 0)
    public var batch = LedgerBatch()
    /// Leases to acknowledge per connection once the batch is durable.
    public var acknowledgements: [PeerID: [LeaseID]] = [:]
    /// The outcomes of the batch's new records as the scheduler received them, by trial (only
    /// when ``Scheduler/keepsReceivedOutcomes``): a live view need not decode their JSON again.
    /// Each says which fingerprint it has; a record with another fingerprint is not described by it.
    public var receivedOutcomes: [Int: ReceivedOutcome] = [:]

    public init() {}

    // `_modify`, not `set`: appending through a get/set pair would copy the whole array each time.
    var records: [TrialRecord] {
        get { batch.records }
        _modify { yield &batch.records }
    }
    var duplicates: [TrialRecord] {
        get { batch.duplicates }
        _modify { yield &batch.duplicates }
    }
    var replacements: [TrialRecord] {
        get { batch.replacements }
        _modify { yield &batch.replacements }
    }
    var quarantines: [Quarantine] {
        get { batch.quarantines }
        _modify { yield &batch.quarantines }
    }
    var events: [LedgerEvent] {
        get { batch.events }
        _modify { yield &batch.events }
    }

    var isEmpty: Bool { batch.isEmpty && acknowledgements.isEmpty }

    mutating func acknowledge(_ lease: LeaseID, to peer: PeerID) { acknowledgements[peer, default: []].append(lease) }
    /// A lost connection gets no acks (its worker resends on its next connection).
    mutating func forget(_ peer: PeerID) { acknowledgements.removeValue(forKey: peer) }

    public typealias Result = LedgerBatch.Result
}

/// An outcome as it arrived, with the fingerprint of its encoding (what the ledger stores).
public struct ReceivedOutcome: Sendable {
    public var fingerprint: String
    public var outcome: TaskOutcome
    public init(fingerprint: String, outcome: TaskOutcome) {
        self.fingerprint = fingerprint
        self.outcome = outcome
    }
}
