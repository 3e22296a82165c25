import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

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
/// pending again. Commits use `synchronous = FULL`, so a committed (and then acknowledged)
/// result survives a crash of the process or the machine.
///
/// One process writes a ledger: the writer holds an exclusive `flock(2)` on `PATH.lock` for its
/// lifetime (not on the database file: closing any descriptor of that file would drop SQLite's
/// own POSIX locks), so a second coordinator on the same file is refused instead of interleaving.
/// Readers (reports, progress) open it read-only alongside. The tables are created and upgraded
/// by a `DatabaseMigrator`: a ledger of an earlier format is upgraded in place when a
/// coordinator opens it, and read as it is by reports.
public final class Ledger: Sendable {
    public let path: String
    /// In WAL mode reads never wait for a commit.
    let database: any DatabaseWriter
    public let experiment: StoredExperiment
    private let lock: FileLock?

    /// The newest format this build writes (`experiment.format`). Format 1 (Minima 0.1) had no
    /// tables for verification; it is upgraded to 2 when opened for writing.
    public static let format = 2

    /// Opens the ledger at `path` for writing, creating it for `experiment` if the file is new.
    /// An existing ledger of a different spec is refused (resuming it would mix two experiments),
    /// and so is one that another process has open for writing.
    public init(path: String, experiment: StoredExperiment) throws(LedgerError) {
        self.path = path
        do {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
               (attributes[.size] as? NSNumber)?.intValue == 0 {
                throw LedgerError(path: path, problem: "the file is empty (0 bytes), not a ledger; remove it to start a new run")
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            lock = try FileLock(exclusiveOn: path + ".lock", ledger: path)
            // First whether SQLite finds an existing file intact, read-only (opening a damaged file
            // for writing may already write to it): results appended to a damaged file could be
            // lost with it.
            if FileManager.default.fileExists(atPath: path) { try Self.checkIntegrity(path) }
            let pool = try DatabasePool(path: path, configuration: configuration)
            database = pool
            // What the file holds is judged before anything in it changes: a refused ledger is
            // left exactly as it was.
            if let stored = try pool.read({ try Self.readExperiment($0, path: path) }) {
                if let problem = Self.cannotResume(stored, path: path) { throw LedgerError(path: path, problem: problem) }
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
            try Self.migrator.migrate(pool)
            try pool.write { db in
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM experiment WHERE id = 1") == nil else { return }
                try db.execute(
                    sql: "INSERT INTO experiment (id, name, spec, spec_sha256, trial_count, created_at, format) VALUES (1, ?, ?, ?, ?, ?, ?)",
                    arguments: [experiment.name, experiment.specJSON, experiment.specSHA256, experiment.trialCount, Date().timeIntervalSince1970, Ledger.format])
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(path: path, problem: "\(error)")
        }
    }

    /// Opens an existing ledger read-only, whatever its spec and format (reports and status).
    public init(existingAt path: String) throws(LedgerError) {
        self.path = path
        lock = nil
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError(path: path, problem: "no such ledger") }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            database = try DatabaseQueue(path: path, configuration: configuration)
            guard let stored = try database.read({ try Self.readExperiment($0, path: path) }) else {
                throw LedgerError(path: path, problem: "not a Minima ledger (no experiment row)")
            }
            experiment = stored
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(path: path, problem: "not a Minima ledger: \(error)")
        }
    }

    /// SQLite's quick integrity check on a read-only connection; throws what it reports.
    private static func checkIntegrity(_ path: String) throws(LedgerError) {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let damage: [String]
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            damage = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        } catch {
            damage = ["\(error)"]
        }
        guard damage == ["ok"] else {
            throw LedgerError(path: path, problem: """
                the file is damaged — SQLite's integrity check reports: \(damage.prefix(3).joined(separator: "; ")); \
                nothing was written to it. Restore it from a copy, or salvage what it holds into a new file with `sqlite3 \(path) .recover`
                """)
        }
    }

    private static func readExperiment(_ db: Database, path: String) throws -> StoredExperiment? {
        guard try db.tableExists("experiment"),
              let row = try Row.fetchOne(db, sql: "SELECT name, spec, spec_sha256, trial_count, format FROM experiment WHERE id = 1") else { return nil }
        let format: Int = row["format"]
        guard format <= Ledger.format else {
            throw LedgerError(path: path, problem: "ledger format \(format) was written by a newer Minima (this build reads formats 1…\(Ledger.format)); open it with that version")
        }
        return StoredExperiment(name: row["name"], specJSON: row["spec"], specSHA256: row["spec_sha256"], trialCount: row["trial_count"], format: format)
    }

    /// Why a ledger of an earlier format cannot be continued as it is, if it cannot.
    static func cannotResume(_ stored: StoredExperiment, path: String) -> String? {
        if stored.format == 1 && stored.specJSON.contains(#""lecun-uniform""#) {
            return """
                made by Minima 0.1, whose lecun-uniform was U(±1/√fan-in) — the scheme now named fan-in-uniform; \
                lecun-uniform now means U(±√(3/fan-in)) as in Keras and JAX, so continuing would mix two kinds of network. \
                Run `minima upgrade-ledger \(path)` to rename the scheme in its stored spec, \
                then resume with fan-in-uniform in the spec (reports read the ledger as it is)
                """
        }
        return nil
    }

    /// Renames Minima 0.1's `lecun-uniform` to `fan-in-uniform` in a format-1 ledger's stored
    /// spec (or task list) and recomputes its hash, so that a spec saying `fan-in-uniform` — the
    /// same networks — resumes it. Returns the new spec hash, or nil when there was nothing to do.
    /// `sha256` hashes the new text as the spec hash is computed elsewhere.
    public static func renameLecunUniform(at path: String, sha256: (String) -> String) throws(LedgerError) -> String? {
        do {
            let queue = try DatabaseQueue(path: path)
            return try queue.write { db -> String? in
                guard let stored = try readExperiment(db, path: path), stored.format == 1, stored.specJSON.contains(#""lecun-uniform""#) else { return nil }
                let renamed = stored.specJSON.replacingOccurrences(of: #""lecun-uniform""#, with: #""fan-in-uniform""#)
                let hash = sha256(renamed)
                try db.execute(sql: "UPDATE experiment SET spec = ?, spec_sha256 = ? WHERE id = 1", arguments: [renamed, hash])
                return hash
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(path: path, problem: "\(error)")
        }
    }

    /// The ledger's formats as migrations. Format 1 used `CREATE TABLE IF NOT EXISTS` and no
    /// migration table, so its migration is written to be a no-op on such a file.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("format1") { db in
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
        }
        migrator.registerMigration("format2: verification") { db in
            try db.execute(sql: """
                CREATE TABLE quarantined_workers (worker TEXT PRIMARY KEY, at REAL NOT NULL, reason TEXT NOT NULL);
                CREATE TABLE disputed_results (
                    id INTEGER PRIMARY KEY, trial INTEGER NOT NULL, worker TEXT, at REAL NOT NULL,
                    outcome TEXT, fingerprint TEXT, reason TEXT NOT NULL);
                CREATE INDEX trials_by_worker ON trials (worker);
                UPDATE experiment SET format = 2;
                """)
        }
        return migrator
    }

    // MARK: Reading

    /// Every final trial and its state (a coordinator starting or resuming).
    public func finalTrials() throws(LedgerError) -> [(trial: Int, state: TrialState)] {
        try wrap {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT trial, state FROM trials ORDER BY trial").compactMap { row in
                    TrialState(rawValue: row["state"]).map { (row["trial"], $0) }
                }
            }
        }
    }

    public func counts() throws(LedgerError) -> LedgerCounts {
        try wrap {
            try database.read { db in
                var counts = LedgerCounts()
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM trials GROUP BY state") {
                    if row["state"] as String == TrialState.done.rawValue { counts.done = row["n"] } else { counts.failed = row["n"] }
                }
                counts.pending = experiment.trialCount - counts.done - counts.failed
                return counts
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

    public func eventCount(kind: LedgerEvent.Kind) throws(LedgerError) -> Int {
        try wrap { try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events WHERE kind = ?", arguments: [kind.rawValue]) ?? 0 } }
    }

    /// Workers whose results disagreed with two others', with the evidence (empty for format 1).
    public func quarantinedWorkers() throws(LedgerError) -> [Quarantine] {
        try wrap {
            try database.read { db in
                guard try db.tableExists("quarantined_workers") else { return [] }
                return try Row.fetchAll(db, sql: "SELECT worker, reason FROM quarantined_workers ORDER BY at").map { Quarantine(worker: $0["worker"], reason: $0["reason"]) }
            }
        }
    }

    /// Results taken back from quarantined workers (empty for format 1).
    public func disputedResultCount() throws(LedgerError) -> Int {
        try wrap {
            try database.read { db in
                guard try db.tableExists("disputed_results") else { return 0 }
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM disputed_results") ?? 0
            }
        }
    }

    // MARK: Writing

    /// What a commit did with each record.
    public enum Disposition: Equatable, Sendable {
        case stored
        /// The trial already had a final record; `matches` tells whether the bits agree.
        case duplicate(matches: Bool, storedFingerprint: String?)
    }

    /// Writes final records in one transaction. A record for a trial that is already final is
    /// not stored again; its fingerprint is compared and a mismatch is written to `events`.
    public func commit(_ records: [TrialRecord]) throws(LedgerError) -> [Disposition] {
        var batch = LedgerBatch()
        batch.records = records
        return try commit(batch).dispositions
    }

    /// Writes a batch in one transaction, in this order: new final records, comparisons of
    /// duplicates, replacements of disputed results, quarantines (each moves the worker's stored
    /// results to `disputed_results`, so that their trials run again), events.
    public func commit(_ batch: LedgerBatch) throws(LedgerError) -> LedgerBatch.Result {
        try wrap {
            try database.write { db in
                let now = Date().timeIntervalSince1970
                var result = LedgerBatch.Result()
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO trials (state, attempts, worker, seconds, finished_at, outcome, fingerprint, failure, trial)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trial) DO NOTHING
                    """)
                for record in batch.records {
                    try insert.execute(arguments: [record.state.rawValue, record.attempts, record.worker, record.seconds, now,
                                                   record.outcomeJSON, record.fingerprint, record.failure, record.trial])
                    result.dispositions.append(db.changesCount == 1 ? .stored : try compare(record, db, now: now))
                }
                for record in batch.duplicates { result.duplicateDispositions.append(try compare(record, db, now: now)) }
                for record in batch.replacements {
                    try db.execute(sql: """
                        INSERT INTO disputed_results (trial, worker, at, outcome, fingerprint, reason)
                        SELECT trial, worker, ?, outcome, fingerprint, 'outvoted by two workers' FROM trials WHERE trial = ?
                        """, arguments: [now, record.trial])
                    try db.execute(sql: "UPDATE trials SET worker = ?, seconds = ?, finished_at = ?, outcome = ?, fingerprint = ? WHERE trial = ?",
                                   arguments: [record.worker, record.seconds, now, record.outcomeJSON, record.fingerprint, record.trial])
                }
                for quarantine in batch.quarantines {
                    try db.execute(sql: "INSERT OR REPLACE INTO quarantined_workers (worker, at, reason) VALUES (?, ?, ?)",
                                   arguments: [quarantine.worker, now, quarantine.reason])
                    try db.execute(sql: """
                        INSERT INTO disputed_results (trial, worker, at, outcome, fingerprint, reason)
                        SELECT trial, worker, ?, outcome, fingerprint, 'the worker was quarantined' FROM trials WHERE worker = ? AND state = 'done'
                        """, arguments: [now, quarantine.worker])
                    result.invalidatedTrials += try Int.fetchAll(db, sql: "SELECT trial FROM trials WHERE worker = ? AND state = 'done'", arguments: [quarantine.worker])
                    try db.execute(sql: "DELETE FROM trials WHERE worker = ? AND state = 'done'", arguments: [quarantine.worker])
                    try db.execute(sql: "INSERT INTO events (at, kind, trial, detail) VALUES (?, ?, NULL, ?)",
                                   arguments: [now, LedgerEvent.Kind.quarantine.rawValue, "\(quarantine.worker): \(quarantine.reason)"])
                }
                for event in batch.events {
                    try db.execute(sql: "INSERT INTO events (at, kind, trial, detail) VALUES (?, ?, ?, ?)", arguments: [now, event.kind.rawValue, event.trial, event.detail])
                }
                return result
            }
        }
    }

    private func compare(_ record: TrialRecord, _ db: Database, now: Double) throws -> Disposition {
        let stored = try String.fetchOne(db, sql: "SELECT fingerprint FROM trials WHERE trial = ?", arguments: [record.trial])
        let matches = stored == record.fingerprint
        if !matches {
            try db.execute(sql: "INSERT INTO events (at, kind, trial, detail) VALUES (?, ?, ?, ?)",
                           arguments: [now, LedgerEvent.Kind.mismatch.rawValue, record.trial,
                                       "stored fingerprint \(stored ?? "none"), \(record.worker ?? "?") reported \(record.fingerprint ?? "none")"])
        }
        return .duplicate(matches: matches, storedFingerprint: stored)
    }

    private static func record(_ row: Row) -> TrialRecord {
        TrialRecord(trial: row["trial"], state: TrialState(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], worker: row["worker"], seconds: row["seconds"],
                    outcomeJSON: row["outcome"], fingerprint: row["fingerprint"], failure: row["failure"])
    }

    private func wrap<T>(_ body: () throws -> T) throws(LedgerError) -> T {
        do { return try body() } catch let error as LedgerError { throw error } catch { throw LedgerError(path: path, problem: "\(error)") }
    }
}

/// An exclusive advisory lock (`flock(2)`) on a file, held until deinit (or the process ends).
final class FileLock: Sendable {
    private let descriptor: Int32

    init(exclusiveOn lockPath: String, ledger path: String) throws(LedgerError) {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LedgerError(path: path, problem: "cannot open for locking: \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                throw LedgerError(path: path, problem: "another process (a coordinator or minima run) has this ledger open for writing; stop it first, or use another ledger file")
            }
            throw LedgerError(path: path, problem: "cannot lock: \(String(cString: strerror(code)))")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
