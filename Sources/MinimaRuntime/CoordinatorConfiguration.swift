import ZeroMQ

/// How a coordinator runs. Defaults follow the ZeroMQ Guide's Paranoid Pirate: 1 s heartbeats,
/// a peer silent for 3 intervals is dead.
public struct CoordinatorConfiguration: Sendable {
    /// Where workers connect, e.g. tcp://*:5555. Without CURVE only loopback, ipc:// and inproc://
    /// may be bound unless ``insecure`` is set.
    public var endpoint: String
    public var ledgerPath: String
    public var heartbeatMilliseconds = 1000
    public var liveness = 3
    /// Leases per trial that may end without a result before the trial is recorded as failed.
    public var maximumAttempts = 3
    /// Wall-clock limit per lease (nil: none). An expired lease counts as a failed attempt.
    public var trialTimeLimitSeconds: Double?
    /// Lease the oldest running trials again to idle workers when the queue is empty.
    public var speculativeExecution = true
    /// A lease must have run this long before it is duplicated speculatively.
    public var speculativeAfterSeconds = 2.0
    /// Results are committed together: at most this long after the first uncommitted one…
    public var commitIntervalMilliseconds = 5
    /// …or as soon as this many are waiting.
    public var commitBatchLimit = 8192
    /// Largest message accepted from a peer (ZMQ_MAXMSGSIZE).
    public var maximumMessageBytes: Int64 = 16 << 20
    public var security: Security = .none
    /// Allow binding a non-loopback address without CURVE.
    public var insecure = false
    /// Tell the workers to leave and return once every trial is final.
    public var stopWhenComplete = true
    /// After the experiment is complete, keep serving status, metrics and health (and tell late
    /// workers to leave) until a stop signal — for service managers that restart exited processes.
    public var keepRunningWhenComplete = false
    /// Serve Prometheus metrics at /metrics and a health check at /healthz on this port.
    public var metricsPort: Int?
    public var metricsHost = "127.0.0.1"

    public enum Security: Sendable {
        case none
        /// CURVE with a ZAP handler: only clients whose public key (Z85) is listed may connect.
        case curve(serverSecretKey: String, allowedClientKeys: Set<String>)
    }

    public init(endpoint: String, ledgerPath: String) {
        self.endpoint = endpoint
        self.ledgerPath = ledgerPath
    }
}

/// What a coordinator saw, returned when it stops.
public struct CoordinatorSummary: Sendable, Codable, Equatable {
    public var counts: Ledger.Counts
    public var resultsStored = 0
    public var duplicateResults = 0
    public var mismatchedDuplicates = 0
    public var rejectedResults = 0
    public var malformedMessages = 0
    public var refusedHandshakes = 0
    public var versionErrors = 0
    public var workersSeen = 0
    public var workersLost = 0
    public var leasesIssued = 0
    public var speculativeLeases = 0
    public var expiredLeases = 0
    public var requeued = 0
    public var commits = 0
    public var secondsToFirstResult: Double?
    public var seconds = 0.0
    public var stoppedBySignal = false
}

/// Why a coordinator could not start.
public struct CoordinatorError: Error, CustomStringConvertible, Sendable {
    public var problem: String
    public init(problem: String) { self.problem = problem }
    public var description: String { problem }
}

/// Whether `endpoint` only reaches this machine (loopback TCP, ipc or inproc).
func isLocalEndpoint(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    let rest = endpoint.dropFirst(6)
    let host: Substring
    if rest.hasPrefix("[") { host = rest.dropFirst().prefix(while: { $0 != "]" }) } else { host = rest.prefix(while: { $0 != ":" }) }
    return host == "localhost" || host.hasPrefix("127.") || host == "::1"
}
