import Foundation
@testable import MinimaLedger
import Testing

/// The ledger's formats, its exclusive writer, and its batch commit, on real SQLite files.
@Suite("Ledger")
struct LedgerTests {
    /// A copy of a fixture in a fresh directory (tests must not change the fixtures).
    static func copyOfFixture(_ name: String) throws -> String {
        let source = try #require(Bundle.module.url(forResource: name, withExtension: "sqlite", subdirectory: "Fixtures/ledgers"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let copy = directory.appendingPathComponent("\(name).sqlite")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy.path
    }

    static func freshPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("ledger.sqlite").path
    }

    static let experiment = StoredExperiment(name: "t", specJSON: "{}", specSHA256: "abc", trialCount: 4)

    static func done(_ trial: Int, by worker: String, fingerprint: String = "f") -> TrialRecord {
        TrialRecord(trial: trial, state: .done, attempts: 1, worker: worker, seconds: 0.1, outcomeJSON: #"{"kind":"noop"}"#, fingerprint: fingerprint, failure: nil)
    }

    /// Issue 18, item 12: garbage in a page of the file (a disk, a copy or a person broke it) is
    /// found when a coordinator opens it, and the file is left as it was.
    @Test func aDamagedLedgerIsRefusedWhenACoordinatorOpensItNamingTheDamage() throws {
        let path = try Self.freshPath()
        let experiment = StoredExperiment(name: "t", specJSON: "{}", specSHA256: "abc", trialCount: 3000)
        do {
            let ledger = try Ledger(path: path, experiment: experiment)
            _ = try ledger.commit((0..<3000).map { Self.done($0, by: "worker-\($0 % 7)", fingerprint: String(repeating: "f", count: 64)) })
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "closed: the write-ahead log is folded into the file")
        let pageSize = 4096
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count > 20 * pageSize, "\(bytes.count) bytes")
        let page = 12
        bytes.replaceSubrange(page * pageSize ..< page * pageSize + 64, with: Data(repeating: 0xA5, count: 64))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect {
            try Ledger(path: path, experiment: experiment)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("the file is damaged") && text.contains("nothing was written to it")
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: path))
        let changed = zip(after, bytes).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(after.count == bytes.count && changed.isEmpty, "a refused ledger is left as it was; bytes changed at \(changed.prefix(10)) of \(bytes.count) → \(after.count) bytes")
    }

    @Test func aFormatOneLedgerWrittenByMinima01IsReadAsItIs() throws {
        // Made by `minima run` before the ledger had migrations (Tests/MinimaLedgerTests/Fixtures).
        let path = try Self.copyOfFixture("format1-run")
        let ledger = try Ledger(existingAt: path)
        #expect(ledger.experiment.name == "tiny-format1")
        #expect(ledger.experiment.format == 1)
        #expect(ledger.experiment.trialCount == 6)
        #expect(try ledger.counts() == LedgerCounts(pending: 0, done: 6, failed: 0))
        #expect(try ledger.allRecords().allSatisfy { $0.state == .done && $0.fingerprint?.count == 64 })
        #expect(try ledger.quarantinedWorkers().isEmpty)
    }

    @Test func aFormatOneLedgerIsUpgradedInPlaceWhenACoordinatorResumesIt() throws {
        let path = try Self.copyOfFixture("format1-tasks")
        let before = try Ledger(existingAt: path)
        let records = try before.allRecords()
        #expect(records.map(\.state) == [.done, .failed, .done])
        let writer = try Ledger(path: path, experiment: before.experiment)
        #expect(writer.experiment == before.experiment)
        #expect(try writer.allRecords() == records)
        var batch = LedgerBatch()
        batch.quarantines = [Quarantine(worker: "nobody", reason: "test")]
        _ = try writer.commit(batch)
        let after = try Ledger(existingAt: path)
        #expect(after.experiment.format == Ledger.format)
        #expect(try after.quarantinedWorkers() == [Quarantine(worker: "nobody", reason: "test")])
    }

    @Test func aMinima01LedgerThatUsedLecunUniformIsNotResumedButLeftAsItWas() throws {
        // Minima 0.1's lecun-uniform is today's fan-in-uniform: continuing it under the new
        // meaning would mix two kinds of network in one experiment.
        let path = try Self.copyOfFixture("format1-run")
        let stored = try Ledger(existingAt: path).experiment
        do {
            _ = try Ledger(path: path, experiment: stored)
            Issue.record("a 0.1 ledger with lecun-uniform was resumed")
        } catch {
            #expect(error.description.contains("minima upgrade-ledger \(path)"), "\(error)")
            #expect(error.description.contains("fan-in-uniform"))
        }
        // Not migrated: still format 1, no migration table, the same rows.
        #expect(try Ledger(existingAt: path).experiment.format == 1)
        let tables = try GRDBTestSupport.queue(path).read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        #expect(tables == ["events", "experiment", "trials"])
        #expect(try Ledger(existingAt: path).allRecords().count == 6)
    }

    @Test func renamingTheSchemeMakesItResumableUnderTheNewName() throws {
        let path = try Self.copyOfFixture("format1-run")
        let old = try Ledger(existingAt: path).experiment
        let expected = old.specJSON.replacingOccurrences(of: #""lecun-uniform""#, with: #""fan-in-uniform""#)
        let hash = try #require(try Ledger.renameLecunUniform(at: path) { "hash of \($0.count) bytes" })
        #expect(hash == "hash of \(expected.utf8.count) bytes")
        #expect(try Ledger.renameLecunUniform(at: path) { _ in "again" } == nil, "a second upgrade has nothing to do")
        let renamed = StoredExperiment(name: old.name, specJSON: expected, specSHA256: hash, trialCount: old.trialCount)
        let resumed = try Ledger(path: path, experiment: renamed)
        #expect(try resumed.counts() == LedgerCounts(pending: 0, done: 6, failed: 0))
    }

    @Test func aLedgerOfANewerFormatIsRefusedWithTheReason() throws {
        let path = try Self.freshPath()
        _ = try Ledger(path: path, experiment: Self.experiment)
        let queue = try GRDBTestSupport.queue(path)
        try queue.write { try $0.execute(sql: "UPDATE experiment SET format = 99") }
        #expect(throws: LedgerError.self) { try Ledger(existingAt: path) }
        do { _ = try Ledger(existingAt: path) } catch {
            #expect(error.description.contains("format 99 was written by a newer Minima"))
        }
    }

    @Test func aSecondWriterOnTheSameLedgerIsRefused() throws {
        let path = try Self.freshPath()
        let first = try Ledger(path: path, experiment: Self.experiment)
        do {
            _ = try Ledger(path: path, experiment: Self.experiment)
            Issue.record("a second writer was allowed")
        } catch {
            #expect(error.description.contains("another process"))
        }
        // Readers are welcome alongside the writer.
        #expect(try Ledger(existingAt: path).counts().pending == 4)
        withExtendedLifetime(first) {}
    }

    @Test func theLockIsReleasedWhenTheWriterGoesAway() throws {
        let path = try Self.freshPath()
        do { _ = try Ledger(path: path, experiment: Self.experiment) }
        _ = try Ledger(path: path, experiment: Self.experiment)
    }

    @Test func anEmptyFileIsNotTakenForANewLedger() throws {
        let path = try Self.freshPath()
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        do {
            _ = try Ledger(path: path, experiment: Self.experiment)
            Issue.record("a 0-byte file was accepted")
        } catch {
            #expect(error.description.contains("empty (0 bytes)"))
        }
    }

    @Test func aRecordForAFinalTrialIsComparedNotStored() throws {
        let ledger = try Ledger(path: try Self.freshPath(), experiment: Self.experiment)
        #expect(try ledger.commit([Self.done(1, by: "a")]) == [.stored])
        #expect(try ledger.commit([Self.done(1, by: "b")]) == [.duplicate(matches: true, storedFingerprint: "f")])
        #expect(try ledger.commit([Self.done(1, by: "c", fingerprint: "g")]) == [.duplicate(matches: false, storedFingerprint: "f")])
        #expect(try ledger.record(trial: 1)?.worker == "a")
        #expect(try ledger.eventCount(kind: .mismatch) == 1)
    }

    @Test func aQuarantineTakesBackTheWorkersResultsAndAReplacementKeepsTheOutvotedOne() throws {
        let ledger = try Ledger(path: try Self.freshPath(), experiment: Self.experiment)
        _ = try ledger.commit([Self.done(0, by: "bad", fingerprint: "x"), Self.done(1, by: "good"), Self.done(2, by: "bad", fingerprint: "x")])
        var batch = LedgerBatch()
        batch.replacements = [Self.done(0, by: "good")]
        batch.quarantines = [Quarantine(worker: "bad", reason: "outvoted on trial 0")]
        let result = try ledger.commit(batch)
        #expect(result.invalidatedTrials == [2])
        #expect(try ledger.allRecords().map { "\($0.trial) \($0.worker!)" } == ["0 good", "1 good"])
        #expect(try ledger.disputedResultCount() == 2)
        #expect(try ledger.counts() == LedgerCounts(pending: 2, done: 2, failed: 0))
        #expect(try ledger.finalTrials().map(\.trial) == [0, 1])
    }
}
