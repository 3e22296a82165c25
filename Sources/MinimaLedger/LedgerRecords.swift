/// Where a trial stands in the ledger. A trial without a row is pending.
public enum TrialState: String, Sendable, Codable, CaseIterable {
    case done
    case failed
}

/// The experiment a ledger belongs to.
public struct StoredExperiment: Sendable, Equatable {
    public var name: String
    public var specJSON: String
    public var specSHA256: String
    public var trialCount: Int
    /// The ledger format it was read from (``Ledger/format`` for a new ledger).
    public var format: Int

    public init(name: String, specJSON: String, specSHA256: String, trialCount: Int, format: Int = Ledger.format) {
        self.name = name
        self.specJSON = specJSON
        self.specSHA256 = specSHA256
        self.trialCount = trialCount
        self.format = format
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.specJSON == b.specJSON && a.specSHA256 == b.specSHA256 && a.trialCount == b.trialCount
    }
}

/// Trials by their state in the ledger (which knows nothing of leases).
public struct LedgerCounts: Sendable, Equatable, Codable {
    public var pending = 0
    public var done = 0
    public var failed = 0
    public init(pending: Int = 0, done: Int = 0, failed: Int = 0) {
        self.pending = pending
        self.done = done
        self.failed = failed
    }
    public var total: Int { pending + done + failed }
}

/// A trial's final record, as committed.
public struct TrialRecord: Sendable, Equatable {
    public var trial: Int
    public var state: TrialState
    public var attempts: Int
    public var worker: String?
    public var seconds: Double?
    public var outcomeJSON: String?
    public var fingerprint: String?
    public var failure: String?

    public init(trial: Int, state: TrialState, attempts: Int, worker: String?, seconds: Double?, outcomeJSON: String?, fingerprint: String?, failure: String?) {
        self.trial = trial
        self.state = state
        self.attempts = attempts
        self.worker = worker
        self.seconds = seconds
        self.outcomeJSON = outcomeJSON
        self.fingerprint = fingerprint
        self.failure = failure
    }
}

/// A line of the ledger's event log.
public struct LedgerEvent: Sendable, Equatable {
    public struct Kind: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// A copy of a finished trial whose fingerprint differs from the stored one.
        public static let mismatch = Kind(rawValue: "mismatch")
        /// Two workers disagree on a trial under verification; a third decides.
        public static let disputed = Kind(rawValue: "disputed")
        /// Three workers gave three different results.
        public static let undecided = Kind(rawValue: "undecided")
        /// A worker was quarantined and its results taken back.
        public static let quarantine = Kind(rawValue: "quarantine")
    }
    public var kind: Kind
    public var trial: Int?
    public var detail: String
    public init(kind: Kind, trial: Int?, detail: String) {
        self.kind = kind
        self.trial = trial
        self.detail = detail
    }
}

/// A worker whose results are no longer trusted, and why.
public struct Quarantine: Sendable, Equatable {
    public var worker: String
    public var reason: String
    public init(worker: String, reason: String) {
        self.worker = worker
        self.reason = reason
    }
}

/// Everything one commit writes (see ``Ledger/commit(_:)-(LedgerBatch)``).
public struct LedgerBatch: Sendable {
    /// New final records.
    public var records: [TrialRecord] = []
    /// Copies of trials final before: compared with the stored fingerprint, never stored.
    public var duplicates: [TrialRecord] = []
    /// Results that replace the stored result of their trial (a verification's majority).
    public var replacements: [TrialRecord] = []
    /// Workers to quarantine; their stored results are taken back.
    public var quarantines: [Quarantine] = []
    public var events: [LedgerEvent] = []

    public init() {}

    public var isEmpty: Bool { records.isEmpty && duplicates.isEmpty && replacements.isEmpty && quarantines.isEmpty && events.isEmpty }

    public struct Result: Sendable, Equatable {
        /// One per record, in order.
        public var dispositions: [Ledger.Disposition] = []
        /// One per duplicate, in order.
        public var duplicateDispositions: [Ledger.Disposition] = []
        /// Trials whose results the quarantines took back: pending again.
        public var invalidatedTrials: [Int] = []
        public init() {}
    }
}
