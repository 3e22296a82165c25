import Foundation
import MinimaLedger
import MinimaRuntime
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--verify`: a worker whose results are wrong is caught by workers that agree with each other,
/// quarantined, and its results run again — with real processes.
@Suite("Verification of workers, as real processes", .serialized)
struct VerificationTests {
    @Test func aFaultyWorkerIsQuarantinedAndTheLedgerEqualsAnUndisturbedRun() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trials = 12
        let tasks = try writeTasks(trainingTasks(trials), in: directory)
        let fraction = 0.5
        // The faulty worker starts first and takes the first trials in index order; at least one
        // of them is in the verified sample (a fixed function of the index), so it will be caught.
        try #require((0..<5).contains { VerificationPolicy(fraction: fraction).selects(trial: $0) })

        let port = try freePort()
        let endpoint = "tcp://127.0.0.1:\(port)"
        let ledger = directory.appendingPathComponent("verified.sqlite").path
        let coordinator = try BackgroundProcess(minimaBinary, ["coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", tasks,
                                                               "--verify", "\(fraction)", "--heartbeat-ms", "200", "--no-speculation"],
                                                in: directory, label: "coordinator")
        let faultyLog = directory.appendingPathComponent("faulty.log")
        let faulty = try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--prefetch", "1", "--heartbeat-ms", "200",
                                                          "--name", "faulty", "--perturb-results", "--execution-log", faultyLog.path],
                                           in: directory, label: "faulty")
        #expect(waitUntil(seconds: 60) { executionLog(faultyLog).filter { $0.event == "finished" }.count >= 5 }, "the faulty worker never ran 5 trials")
        let honest = try (0..<2).map { index in
            try BackgroundProcess(minimaBinary, ["worker", "--connect", endpoint, "--threads", "1", "--prefetch", "1", "--heartbeat-ms", "200",
                                                 "--name", "honest-\(index)"], in: directory, label: "honest-\(index)")
        }
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.errors)")
        for worker in honest { _ = worker.wait(seconds: 10) }
        #expect(faulty.wait(seconds: 10) != 0, "a quarantined worker exits with an error")
        #expect(faulty.errors.contains("quarantined this worker"), "\(faulty.errors)")

        let summary = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(coordinator.output.utf8))
        #expect(summary.quarantinedWorkers == ["faulty"])
        #expect(summary.statistics.disputedResults >= 1)
        #expect(summary.counts.done == trials)
        let stored = try Ledger(existingAt: ledger)
        #expect(try stored.quarantinedWorkers().map(\.worker) == ["faulty"])
        #expect(try stored.allRecords().allSatisfy { $0.worker != "faulty" }, "no result of the faulty worker is left")
        #expect(try stored.disputedResultCount() >= 1)

        let undisturbedLedger = directory.appendingPathComponent("undisturbed.sqlite").path
        let undisturbed = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", undisturbedLedger, "--tasks", tasks, "--local-workers", "1"])
        #expect(undisturbed.status == 0, "\(undisturbed.standardError)")
        let expected = try fingerprints(undisturbedLedger)
        #expect(expected.count == trials)
        #expect(try fingerprints(ledger) == expected, "every stored result has the bits of the undisturbed run")

        // The status a person asks for, the report and the metrics say so too.
        let restarted = try minima(["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", ledger, "--tasks", tasks, "--verify", "\(fraction)"])
        #expect(restarted.status == 0)
        let again = try JSONDecoder().decode(CoordinatorSummary.self, from: Data(restarted.standardOutput.utf8))
        #expect(again.counts.done == trials, "resuming the verified ledger finds every trial final")
    }
}
