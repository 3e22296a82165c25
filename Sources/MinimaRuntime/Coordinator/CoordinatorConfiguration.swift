import MinimaLedger
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
    /// Re-run this fraction of finished trials on another worker and compare (0: none).
    public var verificationFraction = 0.0
    /// Largest frame accepted from a peer (ZMQ_MAXMSGSIZE; a peer that sends more is
    /// disconnected). A results message of 16,000 no-op reports is about 1 MiB.
    public var maximumMessageBytes: Int64 = 4 << 20
    /// Messages queued per peer in each direction (ZMQ_SNDHWM, ZMQ_RCVHWM).
    public var highWaterMark: Int32 = 10_000
    public var security: Security = .none
    /// Allow binding a non-loopback address without CURVE.
    public var insecure = false
    /// Tell the workers to leave and return once every trial is final.
    public var stopWhenComplete = true
    /// After the experiment is complete, keep serving status, metrics and health (and tell late
    /// workers to leave) until a stop signal — for service managers that restart exited processes.
    public var keepRunningWhenComplete = false
    /// How often ``Coordinator/onProgress`` is called while the run goes on.
    public var progressInterval: Duration = .seconds(1)
    /// Serve HTTP on this port: the live page at / (with a ``Coordinator/liveView``), Prometheus
    /// metrics at /metrics, progress at /progress.json and a health check at /healthz.
    public var httpPort: Int?
    /// The address it binds: loopback unless told otherwise (0.0.0.0 for all interfaces).
    public var httpHost = "127.0.0.1"
    /// What one HTTP peer may use: connections, request size, header lines, time to send.
    public var httpLimits = HTTPConnections.Limits()

    public enum Security: Sendable {
        case none
        /// CURVE with a ZAP handler: only clients whose public key (Z85) is listed may connect.
        case curve(serverSecretKey: String, allowedClientKeys: Set<String>)
    }

    public init(endpoint: String, ledgerPath: String) {
        self.endpoint = endpoint
        self.ledgerPath = ledgerPath
    }

    /// The scheduler's part.
    public var scheduling: SchedulerConfiguration {
        var scheduling = SchedulerConfiguration()
        scheduling.heartbeat = .milliseconds(heartbeatMilliseconds)
        scheduling.liveness = liveness
        scheduling.maximumAttempts = maximumAttempts
        scheduling.trialTimeLimit = trialTimeLimitSeconds.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) }
        scheduling.speculativeExecution = speculativeExecution
        scheduling.speculateAfter = .milliseconds(Int64(speculativeAfterSeconds * 1000))
        scheduling.commitInterval = .milliseconds(commitIntervalMilliseconds)
        scheduling.commitBatchLimit = commitBatchLimit
        scheduling.verification = verificationFraction > 0 ? VerificationPolicy(fraction: verificationFraction) : nil
        return scheduling
    }

    /// Every number in range, or an error naming the setting (as its command-line flag) and the range.
    public func validate() throws(CoordinatorError) {
        func check(_ ok: Bool, _ problem: String) throws(CoordinatorError) { if !ok { throw CoordinatorError(problem: problem) } }
        try check((10...3_600_000).contains(heartbeatMilliseconds), "--heartbeat-ms: must be between 10 and 3600000 milliseconds, got \(heartbeatMilliseconds)")
        try check((1...1000).contains(liveness), "--liveness: must be between 1 and 1000 heartbeats, got \(liveness)")
        try check((1...1000).contains(maximumAttempts), "--max-attempts: must be between 1 and 1000, got \(maximumAttempts)")
        if let limit = trialTimeLimitSeconds {
            try check(limit.isFinite && limit > 0 && limit <= 31_536_000, "--time-limit: must be a number of seconds in (0, 31536000] (one year), got \(limit)")
        }
        try check(speculativeAfterSeconds.isFinite && speculativeAfterSeconds >= 0 && speculativeAfterSeconds <= 31_536_000,
                  "--speculate-after: must be a number of seconds in [0, 31536000], got \(speculativeAfterSeconds)")
        try check((0...60_000).contains(commitIntervalMilliseconds), "commit interval: must be between 0 and 60000 milliseconds, got \(commitIntervalMilliseconds)")
        try check((1...1_000_000).contains(commitBatchLimit), "commit batch limit: must be between 1 and 1000000, got \(commitBatchLimit)")
        try check(verificationFraction.isFinite && (0...1).contains(verificationFraction), "verify fraction: must be between 0 and 1, got \(verificationFraction)")
        if let port = httpPort { try check((1...65535).contains(port), "--http-port (--metrics-port): must be a TCP port between 1 and 65535, got \(port)") }
    }
}

/// What a coordinator saw, returned when it stops (and printed by `minima coordinator`).
public struct CoordinatorSummary: Sendable, Codable, Equatable {
    /// The trials by state when it stopped; they add up to the trial count.
    public var counts = TrialCounts()
    public var statistics = SchedulerStatistics()
    public var refusedHandshakes = 0
    public var quarantinedWorkers: [String] = []
    public var seconds = 0.0
    public var stoppedBySignal = false
    public init() {}
}

/// Why a coordinator could not start or had to stop.
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
