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
    let task: @Sendable (Int) -> TaskDescription

    // Workers and leases. Workers are kept in the order they joined, so that every decision
    // that walks them (dispatch, liveness, quarantine) is the same in every process: a
    // Dictionary's order changes with each process's hash seed.
    var workers: OrderedDictionary<PeerID, WorkerState> = [:]
    var leases: [LeaseID: LeaseState] = [:]
    var ignoredPeers = Set<PeerID>()
    var helloReminders: [PeerID: SchedulerInstant] = [:]
    var nextLease: LeaseID

    // Trials.
    var final: FinalTrials
    var inFlight: [Int: TrialFlight] = [:]
    var requeued = Deque<Int>()
    /// Pending trials of a kind some connected worker does not run, set aside by kind for the
    /// workers that do.
    var setAside: [TaskKind: Deque<Int>] = [:]
    var freshCursor = 0
    var verifications: [Int: Verification] = [:]
    var verificationQueue = Deque<Int>()
    var quarantined = Set<String>()

    // What waits for the ledger.
    var uncommitted = LedgerGroup()
    var uncommittedSince: SchedulerInstant?
    var committing: LedgerGroup.Tag?

    public internal(set) var counts: TrialCounts
    /// Final trials per sweep point (when the plan has points).
    public internal(set) var points: [PointProgress]
    let trialsPerPoint: Int?
    public internal(set) var statistics = SchedulerStatistics()
    var outputs: [SchedulerOutput] = []
    var encodings = OutcomeEncodings()
    /// Results of trials final before this run sent to the ledger for comparison (bounded).
    var comparisonsThisRun = 0
    /// Keep the received outcomes of new records in their group (``LedgerGroup/receivedOutcomes``)
    /// for a live view; off, nothing is kept.
    public var keepsReceivedOutcomes = false

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
        nextLease = (leaseIncarnation % SchedulerLimits.leaseIncarnations) << 32 | 1
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
    /// The connected workers, in the order they said hello (for the live page; names shortened).
    public func connectedWorkerList(now: SchedulerInstant) -> [ConnectedWorker] {
        workers.values.map { worker in
            ConnectedWorker(name: worker.name.count > 80 ? String(worker.name.prefix(79)) + "…" : worker.name, threads: worker.threads, leases: worker.leases.count,
                          reported: worker.reported, connectedSeconds: (now - worker.connected).seconds, silentSeconds: (now - worker.lastHeard).seconds,
                          leaving: worker.leaving, quarantined: worker.quarantined)
        }
    }
    /// Whether `peer` has said hello (and may fetch datasets).
    public func knows(_ peer: PeerID) -> Bool { workers[peer].map { !$0.quarantined } ?? false }
    /// The name a connected peer gave in its hello.
    public func name(of peer: PeerID) -> String? { workers[peer]?.name }

    /// Takes what the scheduler decided since the last call, in order.
    public mutating func takeOutputs() -> [SchedulerOutput] {
        defer { outputs.removeAll(keepingCapacity: true) }
        return outputs
    }


    // MARK: Sending and logging

    /// Changes a worker's state in place. (`workers[peer]?.x = …` on an OrderedDictionary moves the
    /// value out and back on every call; indexing its values does not.)
    @discardableResult
    mutating func modifyWorker<Result>(_ peer: PeerID, _ body: (inout WorkerState) -> Result) -> Result? {
        guard let index = workers.index(forKey: peer) else { return nil }
        return body(&workers.values[index])
    }

    mutating func send(_ message: Message, to peer: PeerID, now: SchedulerInstant) {
        modifyWorker(peer) { $0.lastSent = now }
        outputs.append(.send(peer, message))
    }

    mutating func info(_ text: String) { outputs.append(.log(SchedulerLogLine(level: .info, category: "info", text: text))) }
    mutating func warn(_ category: String, _ text: String) { outputs.append(.log(SchedulerLogLine(level: .warning, category: category, text: text))) }

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
