import Foundation
import MinimaCore
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaRuntime
import Synchronization
import Testing
import ZeroMQ

/// A coordinator running on its own thread, as a test peer talks to it over real sockets.
final class RunningCoordinator: @unchecked Sendable {
    let endpoint: String
    let ledgerPath: String
    private final class Outcome: Sendable {
        let summary = Mutex<CoordinatorSummary?>(nil)
        let failure = Mutex<String?>(nil)
    }
    private let outcome = Outcome()
    private let thread: Thread

    init(plan: ExperimentPlan, configure: (inout CoordinatorConfiguration) -> Void = { _ in }) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-rt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ledgerPath = directory.appendingPathComponent("ledger.sqlite").path
        var configuration = CoordinatorConfiguration(endpoint: "tcp://127.0.0.1:*", ledgerPath: ledgerPath)
        configuration.heartbeatMilliseconds = 200
        configure(&configuration)
        // The coordinator is made on the thread that runs it (its owner); what it binds, or why it
        // could not start, comes back through `bound`.
        let bound = ConditionLock<Result<String, CoordinatorError>?>(nil)
        let outcome = self.outcome
        let configured = configuration
        thread = Thread {
            do {
                let coordinator = try Coordinator(plan: plan, configuration: configured)
                coordinator.onBound = { endpoint in bound.withLockBroadcasting { $0 = .success(endpoint) } }
                let summary = try coordinator.run()
                outcome.summary.withLock { $0 = summary }
            } catch {
                outcome.failure.withLock { $0 = "\(error)" }
                bound.withLockBroadcasting { $0 = $0 ?? .failure(CoordinatorError(problem: "\(error)")) }
            }
        }
        thread.start()
        endpoint = try bound.withLock(when: { $0 != nil }) { try $0!.get() }
    }

    /// Waits for the coordinator to return its summary.
    func summary(timeout: Double = 20) throws -> CoordinatorSummary {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let summary = outcome.summary.withLock({ $0 }) { return summary }
            if let failure = outcome.failure.withLock({ $0 }) { throw CoordinatorError(problem: failure) }
            usleep(2000)
        }
        throw CoordinatorError(problem: "the coordinator did not finish within \(timeout) s")
    }
}

/// A hand-driven worker: a DEALER that speaks the protocol message by message.
final class TestPeer {
    let socket: ZMQSocket
    private let context = ZMQContext()

    init(endpoint: String) throws {
        socket = try ZMQSocket(context, .dealer)
        try socket.set(.linger, 0)
        try socket.connect(endpoint)
    }

    func send(_ message: Message) throws { try socket.send(MessageCodec.encode(message)) }
    func sendFrames(_ frames: [[UInt8]]) throws { try socket.send(frames) }

    /// The next message, skipping heartbeats (and sending them, as a live worker does).
    func receive(timeout: Int = 5000) throws -> Message? {
        let deadline = Date().addingTimeInterval(Double(timeout) / 1000)
        var lastBeat = Date()
        while Date() < deadline {
            if Date().timeIntervalSince(lastBeat) > 0.1 { try send(.heartbeat); lastBeat = Date() }
            guard try pollForInput([socket], timeoutMilliseconds: 50) == [true], let frames = try socket.receive() else { continue }
            let message = try MessageCodec.decode(frames)
            if message != .heartbeat { return message }
        }
        return nil
    }

    /// The next batch of trials, skipping acks.
    func nextTrials(timeout: Int = 5000) throws -> Trials? {
        let deadline = Date().addingTimeInterval(Double(timeout) / 1000)
        while Date() < deadline {
            if case .trials(let trials)? = try receive(timeout: 200) { return trials }
        }
        return nil
    }

    func hello(credit: Int, versions: [Int] = [1], name: String = "test-peer") throws -> Message? {
        try send(.hello(Hello(versions: versions, worker: name, threads: 1, instructionSet: "test", credit: credit)))
        return try receive()
    }

    /// Says hello and records an issue unless the coordinator welcomes this peer.
    func join(credit: Int, name: String = "test-peer", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reply = try hello(credit: credit, name: name)
        guard case .welcome(let welcome)? = reply else {
            Issue.record("expected welcome, got \(String(describing: reply))", sourceLocation: sourceLocation)
            return
        }
        #expect(welcome.version == 1, sourceLocation: sourceLocation)
    }
}

@Suite("Coordinator protocol, over real sockets", .serialized)
struct CoordinatorProtocolTests {
    @Test func aWorkerWithAnUnsupportedVersionIsToldWhichVersionsExist() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 1))
        let stranger = try TestPeer(endpoint: coordinator.endpoint)
        guard case .error(let error)? = try stranger.hello(credit: 5, versions: [7, 8]) else { Issue.record("expected an error"); return }
        #expect(error.code == .unsupportedVersion)
        #expect(error.supportedVersions == [1])
        #expect(error.message.contains("[7, 8]"))
        // The same for a peer whose frames carry another version's signature.
        let future = try TestPeer(endpoint: coordinator.endpoint)
        try future.sendFrames([Array("MINIMA2".utf8), Array("hello".utf8), Array("{}".utf8)])
        guard case .error(let second)? = try future.receive() else { Issue.record("expected an error"); return }
        #expect(second.supportedVersions == [1])
        // …and both are then ignored: a proper worker still completes the experiment.
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 1)
        guard case .trials(let trials)? = try worker.receive() else { Issue.record("expected trials"); return }
        try worker.send(.results(Results(results: [TrialReport(trial: trials.leases[0].trial, lease: trials.leases[0].lease, outcome: .noop, seconds: 0)], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.versionErrors == 2)
        #expect(summary.counts.done == 1)
    }

    @Test func aDuplicateResultIsStoredOnceAndAcknowledged() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 2))
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        guard case .welcome? = try worker.hello(credit: 2) else { Issue.record("expected welcome"); return }
        guard case .trials(let trials)? = try worker.receive() else { Issue.record("expected trials"); return }
        #expect(trials.leases.count == 2)
        let first = TrialReport(trial: trials.leases[0].trial, lease: trials.leases[0].lease, outcome: .noop, seconds: 0.001)
        try worker.send(.results(Results(results: [first], credit: 0)))
        guard case .acknowledge(let ack)? = try worker.receive() else { Issue.record("expected an ack"); return }
        #expect(ack.leases == [first.lease])
        try worker.send(.results(Results(results: [first], credit: 0)))   // the same result again
        guard case .acknowledge(let again)? = try worker.receive() else { Issue.record("expected an ack"); return }
        #expect(again.leases == [first.lease])
        let second = TrialReport(trial: trials.leases[1].trial, lease: trials.leases[1].lease, outcome: .noop, seconds: 0.001)
        try worker.send(.results(Results(results: [second], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.resultsStored == 2)
        #expect(summary.statistics.duplicateResults == 1)
        #expect(summary.statistics.mismatchedDuplicates == 0)
        let ledger = try Ledger(existingAt: coordinator.ledgerPath)
        #expect(try ledger.counts() == LedgerCounts(pending: 0, done: 2, failed: 0))
    }

    @Test func aDuplicateWithOtherBitsIsCountedAsAMismatch() throws {
        let coordinator = try RunningCoordinator(plan: .sleep(count: 2, milliseconds: 5))
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 2)
        guard case .trials(let trials)? = try worker.receive() else { Issue.record("expected trials"); return }
        let lease = trials.leases[0]
        try worker.send(.results(Results(results: [TrialReport(trial: lease.trial, lease: lease.lease, outcome: .slept(milliseconds: 5), seconds: 0)], credit: 0)))
        #expect(try worker.receive() == .acknowledge(Acknowledge(leases: [lease.lease])), "the first result is acknowledged once committed")
        try worker.send(.results(Results(results: [TrialReport(trial: lease.trial, lease: lease.lease, outcome: .slept(milliseconds: 6), seconds: 0)], credit: 0)))
        #expect(try worker.receive() == .acknowledge(Acknowledge(leases: [lease.lease])), "the mismatching copy is acknowledged too (it was compared)")
        let other = trials.leases[1]
        try worker.send(.results(Results(results: [TrialReport(trial: other.trial, lease: other.lease, outcome: .slept(milliseconds: 5), seconds: 0)], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.mismatchedDuplicates == 1)
        #expect(try Ledger(existingAt: coordinator.ledgerPath).eventCount(kind: .mismatch) == 1)
    }

    @Test func resultsForLeasesAWorkerDoesNotHoldAreRejected() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 1))
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 1, name: "holder")
        guard case .trials(let trials)? = try worker.receive() else { Issue.record("expected trials"); return }
        let intruder = try TestPeer(endpoint: coordinator.endpoint)
        try intruder.join(credit: 0, name: "intruder")
        let lease = trials.leases[0]
        try intruder.send(.results(Results(results: [TrialReport(trial: lease.trial, lease: lease.lease, outcome: .noop, seconds: 0),
                                                     TrialReport(trial: 99, lease: 12345, outcome: .noop, seconds: 0)], credit: 0)))
        guard case .acknowledge? = try intruder.receive() else { Issue.record("expected the rejection to be acknowledged"); return }
        #expect(try Ledger(existingAt: coordinator.ledgerPath).counts().pending == 1)
        try worker.send(.results(Results(results: [TrialReport(trial: lease.trial, lease: lease.lease, outcome: .noop, seconds: 0)], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.rejectedResults == 2)
        #expect(summary.statistics.resultsStored == 1)
        #expect(try Ledger(existingAt: coordinator.ledgerPath).record(trial: 0)?.worker == "holder")
    }

    @Test func malformedAndOutOfProtocolMessagesAreDroppedWithoutHarm() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 1))
        let vandal = try TestPeer(endpoint: coordinator.endpoint)
        try vandal.sendFrames([[0xff, 0x00]])
        try vandal.sendFrames([protocolSignature, Array("results".utf8), Array("{}".utf8)])             // before hello
        try vandal.join(credit: 0, name: "vandal")
        try vandal.sendFrames([protocolSignature, Array("results".utf8), Array("{not json".utf8)])
        try vandal.sendFrames([protocolSignature, Array("launch-missiles".utf8), Array("{}".utf8)])
        try vandal.sendFrames([protocolSignature, Array("ready".utf8), Array(#"{"credit":"lots"}"#.utf8)])
        try vandal.send(.welcome(Welcome(version: 1, experiment: "x", heartbeatMilliseconds: 1, liveness: 1)))  // wrong direction
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 1)
        guard case .trials(let trials)? = try worker.receive() else { Issue.record("the coordinator stopped serving"); return }
        try worker.send(.results(Results(results: [TrialReport(trial: trials.leases[0].trial, lease: trials.leases[0].lease, outcome: .noop, seconds: 0)], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.malformedMessages == 6)
        #expect(summary.counts.done == 1)
    }

    @Test func creditLimitsWhatIsSent() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 10))
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 3)
        guard case .trials(let first)? = try worker.receive() else { Issue.record("expected trials"); return }
        #expect(first.leases.count == 3)
        #expect(try worker.receive(timeout: 300) == nil, "no trial beyond the credit")
        try worker.send(.ready(Ready(credit: 7)))
        var received = first.leases
        while received.count < 10, case .trials(let more)? = try worker.receive() { received += more.leases }
        #expect(received.count == 10)
        #expect(Set(received.map(\.trial)) == Set(0..<10))
        try worker.send(.results(Results(results: received.map { TrialReport(trial: $0.trial, lease: $0.lease, outcome: .noop, seconds: 0) }, credit: 0)))
        #expect(try coordinator.summary().counts.done == 10)
    }

    @Test func aSilentWorkersLeasesGoToAnotherWorker() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 4)) { $0.speculativeExecution = false }
        let silent = try TestPeer(endpoint: coordinator.endpoint)
        try silent.join(credit: 4, name: "silent")
        guard case .trials(let taken)? = try silent.receive() else { Issue.record("expected trials"); return }
        #expect(taken.leases.count == 4)
        let helper = try TestPeer(endpoint: coordinator.endpoint)
        try helper.join(credit: 4, name: "helper")
        // The silent worker never answers: after 3 × 200 ms its leases are requeued for the helper.
        var done = 0
        let deadline = Date().addingTimeInterval(10)
        while done < 4 && Date() < deadline {
            guard case .trials(let trials)? = try helper.receive(timeout: 1000) else { continue }
            try helper.send(.results(Results(results: trials.leases.map { TrialReport(trial: $0.trial, lease: $0.lease, outcome: .noop, seconds: 0) }, credit: 0)))
            done += trials.leases.count
        }
        let summary = try coordinator.summary()
        #expect(summary.statistics.workersLost == 1)
        #expect(summary.statistics.requeued == 4)
        #expect(summary.counts.done == 4)
        // The silent worker never returned a result, so the leases it lost are not attempts.
        #expect(try Ledger(existingAt: coordinator.ledgerPath).allRecords().allSatisfy { $0.worker == "helper" && $0.attempts == 1 })
    }

    @Test func exhaustedAttemptsRecordTheTrialAsFailedWithTheReasons() throws {
        let coordinator = try RunningCoordinator(plan: .noop(count: 1)) { $0.maximumAttempts = 2 }
        let worker = try TestPeer(endpoint: coordinator.endpoint)
        try worker.join(credit: 1)
        for attempt in 1...2 {
            guard let trials = try worker.nextTrials() else { Issue.record("expected attempt \(attempt)"); return }
            try worker.send(.results(Results(results: [TrialReport(trial: 0, lease: trials.leases[0].lease, outcome: nil, failure: "boom \(attempt)", seconds: 0)], credit: 1)))
        }
        let summary = try coordinator.summary()
        #expect(summary.counts.failed == 1)
        let record = try #require(try Ledger(existingAt: coordinator.ledgerPath).record(trial: 0))
        #expect(record.state == .failed && record.attempts == 2)
        #expect(record.failure?.contains("boom 1") == true && record.failure?.contains("boom 2") == true)
    }

    @Test func leasesPastTheTimeLimitAreRequeued() throws {
        let coordinator = try RunningCoordinator(plan: .sleep(count: 1, milliseconds: 1)) { $0.trialTimeLimitSeconds = 0.3; $0.speculativeExecution = false }
        let slow = try TestPeer(endpoint: coordinator.endpoint)
        try slow.join(credit: 1, name: "slow")
        guard case .trials(let first)? = try slow.receive() else { Issue.record("expected trials"); return }
        #expect(first.leases[0].timeLimitSeconds == 0.3)
        // Keep the connection alive but never answer; after 0.3 s the lease expires and comes back.
        try slow.send(.ready(Ready(credit: 1)))
        guard case .trials(let second)? = try slow.receive(timeout: 3000) else { Issue.record("expected the trial again"); return }
        #expect(second.leases[0].trial == first.leases[0].trial && second.leases[0].attempt == 2)
        try slow.send(.results(Results(results: [TrialReport(trial: 0, lease: second.leases[0].lease, outcome: .slept(milliseconds: 1), seconds: 0)], credit: 0)))
        let summary = try coordinator.summary()
        #expect(summary.statistics.expiredLeases == 1)
        #expect(summary.counts.done == 1)
    }

    @Test func idleWorkersGetCopiesOfStragglersAndTheFirstResultWins() throws {
        let coordinator = try RunningCoordinator(plan: .sleep(count: 1, milliseconds: 1)) { $0.speculativeAfterSeconds = 0.1 }
        let straggler = try TestPeer(endpoint: coordinator.endpoint)
        try straggler.join(credit: 1, name: "straggler")
        guard case .trials(let original)? = try straggler.receive() else { Issue.record("expected trials"); return }
        let idle = try TestPeer(endpoint: coordinator.endpoint)
        try idle.join(credit: 1, name: "idle")
        guard case .trials(let copy)? = try idle.receive(timeout: 3000) else { Issue.record("expected a speculative copy"); return }
        #expect(copy.leases[0].trial == original.leases[0].trial)
        try idle.send(.results(Results(results: [TrialReport(trial: 0, lease: copy.leases[0].lease, outcome: .slept(milliseconds: 1), seconds: 0)], credit: 0)))
        try straggler.send(.heartbeat)
        let summary = try coordinator.summary()
        #expect(summary.statistics.speculativeLeases == 1)
        #expect(try Ledger(existingAt: coordinator.ledgerPath).record(trial: 0)?.worker == "idle")
    }
}

@Suite("Ledger")
struct LedgerTests {
    func path() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).sqlite").path }

    @Test func aLedgerOfAnotherSpecIsRefusedWithBothHashes() throws {
        let file = path()
        _ = try Ledger(path: file, experiment: ExperimentPlan.noop(count: 3).ledgerIdentityForTests)
        #expect { try Ledger(path: file, experiment: ExperimentPlan.noop(count: 4).ledgerIdentityForTests) } throws: { error in
            let text = "\(error)"
            return text.contains("this ledger belongs to experiment 'noop'") && text.contains(ExperimentPlan.noop(count: 4).specSHA256)
        }
    }

    @Test func recordsAreFinalOnceCommitted() throws {
        let ledger = try Ledger(path: path(), experiment: ExperimentPlan.noop(count: 3).ledgerIdentityForTests)
        let record = TrialRecord(trial: 1, state: .done, attempts: 1, worker: "w", seconds: 0.5, outcomeJSON: "{}", fingerprint: "abc", failure: nil)
        #expect(try ledger.commit([record]) == [.stored])
        var other = record
        other.fingerprint = "xyz"
        #expect(try ledger.commit([record, other]) == [.duplicate(matches: true, storedFingerprint: "abc"), .duplicate(matches: false, storedFingerprint: "abc")])
        #expect(try ledger.counts() == LedgerCounts(pending: 2, done: 1, failed: 0))
        #expect(try ledger.finalTrials().map(\.trial) == [1])
        #expect(try ledger.eventCount(kind: .mismatch) == 1)
    }

    @Test func aFileThatIsNotALedgerIsNamed() throws {
        let file = path()
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        do {
            _ = try Ledger(existingAt: file)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix(file + ": not a Minima ledger"))
        }
    }
}

extension ExperimentPlan {
    var ledgerIdentityForTests: StoredExperiment {
        StoredExperiment(name: name, specJSON: specJSON, specSHA256: specSHA256, trialCount: trialCount)
    }
}

@Suite("Worker protocol, over real sockets", .serialized)
struct WorkerProtocolTests {
    /// A coordinator played by the test: a ROUTER socket that speaks the protocol by hand.
    @Test func aTaskTheWorkerCannotReadIsReportedAsAFailureAtOnce() throws {
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 0)
        try router.bind("tcp://127.0.0.1:*")
        var configuration = WorkerConfiguration(endpoint: router.lastEndpoint)
        configuration.threads = 1
        configuration.name = "reader"
        configuration.datasetCache = FileManager.default.temporaryDirectory.appendingPathComponent("minima-cache-\(UUID().uuidString)").path
        let thread = Thread { [configuration] in _ = try? Worker(configuration: configuration, logger: .minima("worker", quiet: true)).run() }
        thread.start()

        func receive() throws -> (identity: [UInt8], message: Message)? {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                guard try pollForInput([router], timeoutMilliseconds: 100) == [true], let frames = try router.receive() else { continue }
                let message = try MessageCodec.decode(Array(frames.dropFirst()))
                if message != .heartbeat { return (frames[0], message) }
            }
            return nil
        }
        guard let (identity, hello) = try receive(), case .hello = hello else { Issue.record("expected hello"); return }
        try router.send([identity] + MessageCodec.encode(.welcome(Welcome(version: 1, experiment: "x", heartbeatMilliseconds: 1000, liveness: 3))))
        // A train task from a newer coordinator: a probe setting this build does not know.
        let description = TrialDescription(
            seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10"), model: ModelSpec(hidden: [3]),
            initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.1),
            stopping: StoppingRule(maxEpochs: 1), probes: ProbeRequest(hessian: HessianProbe()))
        let trial = String(decoding: canonicalJSONBytes(description), as: UTF8.self)
            .replacingOccurrences(of: #""hessian":{"#, with: #""hessian":{"saddleFree":true,"#)
        let body = #"{"leases":[{"lease":7,"trial":0,"attempt":1,"task":{"kind":"train","trial":"# + trial + "}}]}"
        try router.send([identity, protocolSignature, Array("trials".utf8), Array(body.utf8)])
        let start = Date()
        var report: TrialReport?
        while report == nil, let (_, message) = try receive() {
            if case .results(let results) = message { report = results.results.first }
        }
        #expect(Date().timeIntervalSince(start) < 5, "reported at once, not when a lease would expire")
        #expect(report?.lease == 7 && report?.outcome == nil)
        #expect(report?.failure?.contains("leases[0].task.trial.probes.hessian.saddleFree: unknown field of a trial description") == true, "\(report?.failure ?? "none")")
        try router.send([identity] + MessageCodec.encode(.shutdown(Shutdown(reason: "done"))))
        let deadline = Date().addingTimeInterval(10)
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        #expect(thread.isFinished)
    }
}
