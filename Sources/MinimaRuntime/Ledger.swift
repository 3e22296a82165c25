import Foundation
import GRDB

/// A ledger could not be opened or written; the description says which file and why.
public struct LedgerError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

/// The durable record of an experiment: its spec and hash, and every trial's state, attempts,
/// worker, timing and outcome — one SQLite file in WAL mode.
///
/// A trial gets its row when it becomes final: `done` with its result, or `failed` with the
/// reasons once its attempts are used up; a trial without a row is pending. (So starting an
/// experiment of millions of trials writes nothing, and the ledger grows with results only.)
/// Leases are not written: a trial that was leased when the coordinator stopped is simply
/// pending again. Commits use `synchronous = FULL`, so a committed (and then
/// acknowledged) result survives a crash of the process or the machine. Owned by one thread.
public final class Ledger: @unchecked Sendable {
    public let path: String
    /// A pool: in WAL mode reads (the coordinator paging pending trials) never wait for the
    /// writer thread's commits.
    let database: any DatabaseWriter
    public private(set) var experiment: StoredExperiment

    /// Format of the tables, stored in `experiment.format`.
    public static let format = 1

    public struct StoredExperiment: Sendable, Equatable {
        public var name: String
        public var specJSON: String
        public var specSHA256: String
        public var trialCount: Int

        public init(name: String, specJSON: String, specSHA256: String, trialCount: Int) {
            self.name = name
            self.specJSON = specJSON
            self.specSHA256 = specSHA256
            self.trialCount = trialCount
        }
    }

    /// Opens the ledger at `path`, creating it for `experiment` if the file is new. An existing
    /// ledger of a different spec is refused (resuming it would mix two experiments).
    public init(path: String, experiment: StoredExperiment) throws(LedgerError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            let stored: StoredExperiment? = try database.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS experiment (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        name TEXT NOT NULL, spec TEXT NOT NULL, spec_sha256 TEXT NOT NULL,
                        trial_count INTEGER NOT NULL, created_at REAL NOT NULL, format INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS trials (
                        trial INTEGER PRIMARY KEY,
                        state TEXT NOT NULL CHECK (state IN ('done', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        worker TEXT, seconds REAL, finished_at REAL,
                        outcome TEXT, fingerprint TEXT, failure TEXT);
                    CREATE TABLE IF NOT EXISTS events (
                        id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, trial INTEGER, detail TEXT NOT NULL);
                    """)
                if let row = try Row.fetchOne(db, sql: "SELECT name, spec, spec_sha256, trial_count, format FROM experiment WHERE id = 1") {
                    let format: Int = row["format"]
                    if format != Ledger.format {
                        throw LedgerError(path: path, problem: "ledger format \(format) is not supported (this build reads format \(Ledger.format))")
                    }
                    return StoredExperiment(name: row["name"], specJSON: row["spec"], specSHA256: row["spec_sha256"], trialCount: row["trial_count"])
                }
                try db.execute(
                    sql: "INSERT INTO experiment (id, name, spec, spec_sha256, trial_count, created_at, format) VALUES (1, ?, ?, ?, ?, ?, ?)",
                    arguments: [experiment.name, experiment.specJSON, experiment.specSHA256, experiment.trialCount, Date().timeIntervalSince1970, Ledger.format])
                return nil
            }
            if let stored {
                guard stored.specSHA256 == experiment.specSHA256 else {
                    throw LedgerError(path: path, problem: """
                        this ledger belongs to experiment '\(stored.name)' with spec SHA-256 \(stored.specSHA256), \
                        but the given spec '\(experiment.name)' has SHA-256 \(experiment.specSHA256); \
                        use a new ledger file, or the spec that made this one
                        """)
                }
                self.experiment = stored
            } else {
                self.experiment = experiment
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(path: path, problem: "\(error)")
        }
    }

    /// Opens an existing ledger whatever its spec (for reports and status).
    public init(existingAt path: String) throws(LedgerError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError(path: path, problem: "no such ledger") }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            database = try DatabaseQueue(path: path, configuration: configuration)
            guard let row = try database.read({ try Row.fetchOne($0, sql: "SELECT name, spec, spec_sha256, trial_count FROM experiment WHERE id = 1") }) else {
                throw LedgerError(path: path, problem: "not a Minima ledger (no experiment row)")
            }
            experiment = StoredExperiment(name: row["name"], specJSON: row["spec"], specSHA256: row["spec_sha256"], trialCount: row["trial_count"])
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(path: path, problem: "not a Minima ledger: \(error)")
        }
    }

    /// Up to `limit` pending trials (those without a row) with index greater than `after`, ascending.
    public func pendingTrials(after: Int, limit: Int) throws(LedgerError) -> [Int] {
        try wrap {
            try database.read { db in
                var pending: [Int] = []
                var start = after + 1
                while pending.count < limit && start < experiment.trialCount {
                    let end = min(experiment.trialCount, start + max(limit, 4096))
                    let final = try Int.fetchAll(db, sql: "SELECT trial FROM trials WHERE trial >= ? AND trial < ? ORDER BY trial", arguments: [start, end])
                    var next = final.makeIterator()
                    var upcoming = next.next()
                    for trial in start..<end {
                        if trial == upcoming { upcoming = next.next(); continue }
                        pending.append(trial)
                        if pending.count == limit { break }
                    }
                    start = end
                }
                return pending
            }
        }
    }

    public struct Counts: Sendable, Equatable, Codable {
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

    public func counts() throws(LedgerError) -> Counts {
        try wrap {
            try database.read { db in
                var counts = Counts()
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM trials GROUP BY state") {
                    if row["state"] as String == "done" { counts.done = row["n"] } else { counts.failed = row["n"] }
                }
                counts.pending = experiment.trialCount - counts.done - counts.failed
                return counts
            }
        }
    }

    /// A trial's final record, as committed.
    public struct TrialRecord: Sendable, Equatable {
        public var trial: Int
        public var state: String
        public var attempts: Int
        public var worker: String?
        public var seconds: Double?
        public var outcomeJSON: String?
        public var fingerprint: String?
        public var failure: String?

        public init(trial: Int, state: String, attempts: Int, worker: String?, seconds: Double?, outcomeJSON: String?, fingerprint: String?, failure: String?) {
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

    /// What a commit did with each record.
    public enum Disposition: Equatable, Sendable {
        case stored
        /// The trial already had a final record; `matches` tells whether the bits agree.
        case duplicate(matches: Bool, storedFingerprint: String?)
    }

    /// Writes final records in one transaction (`record.trial` must be below the trial count). A record for a trial that is already final is
    /// not stored again; its fingerprint is compared and a mismatch is written to `events`.
    public func commit(_ records: [TrialRecord]) throws(LedgerError) -> [Disposition] {
        try wrap {
            try database.write { db in
                let now = Date().timeIntervalSince1970
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO trials (state, attempts, worker, seconds, finished_at, outcome, fingerprint, failure, trial)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trial) DO NOTHING
                    """)
                var dispositions: [Disposition] = []
                for record in records {
                    try insert.execute(arguments: [record.state, record.attempts, record.worker, record.seconds, now,
                                                   record.outcomeJSON, record.fingerprint, record.failure, record.trial])
                    if db.changesCount == 1 {
                        dispositions.append(.stored)
                        continue
                    }
                    let stored = try String.fetchOne(db, sql: "SELECT fingerprint FROM trials WHERE trial = ?", arguments: [record.trial])
                    let matches = stored == record.fingerprint
                    if !matches {
                        try db.execute(sql: "INSERT INTO events (at, kind, trial, detail) VALUES (?, 'mismatch', ?, ?)",
                                       arguments: [now, record.trial, "stored fingerprint \(stored ?? "none"), \(record.worker ?? "?") reported \(record.fingerprint ?? "none")"])
                    }
                    dispositions.append(.duplicate(matches: matches, storedFingerprint: stored))
                }
                return dispositions
            }
        }
    }

    /// Appends to the ledger's event log (worker deaths, lease expiries, rejected results…).
    public func recordEvents(_ events: [(kind: String, trial: Int?, detail: String)]) throws(LedgerError) {
        guard !events.isEmpty else { return }
        try wrap {
            try database.write { db in
                let now = Date().timeIntervalSince1970
                for event in events {
                    try db.execute(sql: "INSERT INTO events (at, kind, trial, detail) VALUES (?, ?, ?, ?)", arguments: [now, event.kind, event.trial, event.detail])
                }
            }
        }
    }

    public func record(trial: Int) throws(LedgerError) -> TrialRecord? {
        try wrap { try database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM trials WHERE trial = ?", arguments: [trial]).map(Self.record) } }
    }

    /// Every final trial's record (done or failed), in index order.
    public func allRecords() throws(LedgerError) -> [TrialRecord] {
        try wrap { try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM trials ORDER BY trial").map(Self.record) } }
    }

    /// Final trials per group of `groupSize` consecutive indices (the sweep points of a run):
    /// group → (done, failed).
    public func countsByGroup(groupSize: Int) throws(LedgerError) -> [Int: (done: Int, failed: Int)] {
        try wrap {
            try database.read { db in
                var result: [Int: (done: Int, failed: Int)] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT trial / ? AS grp, state, COUNT(*) AS n FROM trials GROUP BY grp, state", arguments: [groupSize]) {
                    let group: Int = row["grp"], n: Int = row["n"]
                    var entry = result[group] ?? (0, 0)
                    if row["state"] as String == "done" { entry.done = n } else { entry.failed = n }
                    result[group] = entry
                }
                return result
            }
        }
    }

    public func eventCount(kind: String) throws(LedgerError) -> Int {
        try wrap { try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events WHERE kind = ?", arguments: [kind]) ?? 0 } }
    }

    private static func record(_ row: Row) -> TrialRecord {
        TrialRecord(trial: row["trial"], state: row["state"], attempts: row["attempts"], worker: row["worker"], seconds: row["seconds"],
                    outcomeJSON: row["outcome"], fingerprint: row["fingerprint"], failure: row["failure"])
    }

    private func wrap<T>(_ body: () throws -> T) throws(LedgerError) -> T {
        do { return try body() } catch let error as LedgerError { throw error } catch { throw LedgerError(path: path, problem: "\(error)") }
    }
}
