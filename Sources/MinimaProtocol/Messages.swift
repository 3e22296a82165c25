import MinimaCore

/// The protocol versions this build speaks, newest last.
public let supportedProtocolVersions = [1]

/// Frame 0 of every message: the protocol name and version, so that a peer speaking another
/// version is recognized before anything else is parsed.
public let protocolSignature: [UInt8] = Array("MINIMA1".utf8)

/// Every message of the protocol. See docs/PROTOCOL.md for the frames and fields.
public enum Message: Equatable, Sendable {
    // Worker → coordinator
    case hello(Hello)
    case ready(Ready)
    case results(Results)
    case heartbeat
    case fetch(Fetch)
    case goodbye(Goodbye)
    /// From any client, no hello needed: ask for a progress report.
    case status
    // Coordinator → worker
    case welcome(Welcome)
    case error(ProtocolError)
    case trials(Trials)
    case acknowledge(Acknowledge)
    case chunk(Chunk, bytes: [UInt8])
    case shutdown(Shutdown)
    /// The answer to `status`: a JSON object describing the run (see CoordinatorProgress).
    case progress(json: [UInt8])

    public var type: String {
        switch self {
        case .hello: "hello"
        case .ready: "ready"
        case .results: "results"
        case .heartbeat: "heartbeat"
        case .fetch: "fetch"
        case .goodbye: "goodbye"
        case .status: "status"
        case .progress: "progress"
        case .welcome: "welcome"
        case .error: "error"
        case .trials: "trials"
        case .acknowledge: "ack"
        case .chunk: "chunk"
        case .shutdown: "shutdown"
        }
    }
}

/// The first message of a worker on every connection.
public struct Hello: Codable, Equatable, Sendable {
    /// Protocol versions the worker speaks.
    public var versions: [Int]
    /// A stable name for people and the ledger (host:pid unless given).
    public var worker: String
    public var threads: Int
    /// The instruction-set level of the worker's build (results record it too).
    public var instructionSet: String
    /// Task kinds the worker runs (`train`, `spin-glass`, `noop`, `sleep`, …); the coordinator
    /// leases it only these (empty: every kind).
    public var kinds: [TaskKind]
    /// Initial credit: how many trials the coordinator may send before the next ready/results.
    public var credit: Int

    public init(versions: [Int] = supportedProtocolVersions, worker: String, threads: Int, instructionSet: String, kinds: [TaskKind] = TaskRegistry.kinds, credit: Int) {
        self.versions = versions
        self.worker = worker
        self.threads = threads
        self.instructionSet = instructionSet
        self.kinds = kinds
        self.credit = credit
    }
}

/// More credit: the worker can take `credit` more trials.
public struct Ready: Codable, Equatable, Sendable {
    public var credit: Int
    public init(credit: Int) { self.credit = credit }
}

/// Finished trials, and credit for as many new ones as the worker wants.
public struct Results: Codable, Equatable, Sendable {
    public var results: [TrialReport]
    public var credit: Int
    public init(results: [TrialReport], credit: Int) {
        self.results = results
        self.credit = credit
    }
}

/// One finished lease.
public struct TrialReport: Codable, Equatable, Sendable {
    public var trial: Int
    public var lease: UInt64
    /// The outcome, or nil when the task failed (then `failure` says why).
    public var outcome: TaskOutcome?
    public var failure: String?
    /// Seconds the worker spent on the task.
    public var seconds: Double

    public init(trial: Int, lease: UInt64, outcome: TaskOutcome?, failure: String? = nil, seconds: Double) {
        self.trial = trial
        self.lease = lease
        self.outcome = outcome
        self.failure = failure
        self.seconds = seconds
    }
}

/// A request for part of a dataset the worker does not have.
public struct Fetch: Codable, Equatable, Sendable {
    public var dataset: String
    public var offset: Int
    public var length: Int
    public init(dataset: String, offset: Int, length: Int) {
        self.dataset = dataset
        self.offset = offset
        self.length = length
    }
}

/// The worker is leaving; the leases listed were not started and go back to the queue.
public struct Goodbye: Codable, Equatable, Sendable {
    public var returned: [UInt64]
    public init(returned: [UInt64]) { self.returned = returned }
}

/// The coordinator accepted the hello.
public struct Welcome: Codable, Equatable, Sendable {
    public var version: Int
    public var experiment: String
    public var heartbeatMilliseconds: Int
    public var liveness: Int
    public init(version: Int, experiment: String, heartbeatMilliseconds: Int, liveness: Int) {
        self.version = version
        self.experiment = experiment
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.liveness = liveness
    }
}

/// A refusal. After a version error the coordinator ignores the peer.
public struct ProtocolError: Codable, Equatable, Sendable, Error {
    public var code: ProtocolErrorCode
    public var message: String
    public var supportedVersions: [Int]?
    public init(code: ProtocolErrorCode, message: String, supportedVersions: [Int]? = nil) {
        self.code = code
        self.message = message
        self.supportedVersions = supportedVersions
    }
}

/// Leased trials, at most the worker's credit.
public struct Trials: Codable, Equatable, Sendable {
    public var leases: [Lease]
    /// Leases whose task this build could not read (found when decoding, never sent): the
    /// worker reports each as a failed attempt at once, so the trial runs elsewhere instead of
    /// waiting for its lease to expire.
    public var unreadable: [UnreadableLease] = []

    enum CodingKeys: String, CodingKey { case leases }

    public init(leases: [Lease], unreadable: [UnreadableLease] = []) {
        self.leases = leases
        self.unreadable = unreadable
    }
}

/// A lease whose id and trial could be read but whose task could not, and why.
public struct UnreadableLease: Equatable, Sendable {
    public var lease: UInt64
    public var trial: Int
    public var problem: String
    public init(lease: UInt64, trial: Int, problem: String) {
        self.lease = lease
        self.trial = trial
        self.problem = problem
    }
}

/// The right to run one trial once. Results must name the lease.
public struct Lease: Codable, Equatable, Sendable {
    public var lease: UInt64
    public var trial: Int
    public var attempt: Int
    public var task: TaskDescription
    /// Wall-clock seconds the trial may take before the lease expires (nil: no limit).
    public var timeLimitSeconds: Double?
    public init(lease: UInt64, trial: Int, attempt: Int, task: TaskDescription, timeLimitSeconds: Double?) {
        self.lease = lease
        self.trial = trial
        self.attempt = attempt
        self.task = task
        self.timeLimitSeconds = timeLimitSeconds
    }
}

/// These leases' results are durably stored: the worker may forget them.
public struct Acknowledge: Codable, Equatable, Sendable {
    public var leases: [UInt64]
    public init(leases: [UInt64]) { self.leases = leases }
}

/// Part of a dataset; the bytes travel in the next frame.
public struct Chunk: Codable, Equatable, Sendable {
    public var dataset: String
    public var offset: Int
    public var total: Int
    public init(dataset: String, offset: Int, total: Int) {
        self.dataset = dataset
        self.offset = offset
        self.total = total
    }
}

/// The coordinator is stopping (or the experiment is complete); the worker should disconnect.
public struct Shutdown: Codable, Equatable, Sendable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}
