import MinimaCore
import MinimaLedger
import MinimaProtocol
@testable import MinimaRuntime
import Testing

/// The rules of docs/PROTOCOL.md, as specifications of the scheduler: scripted events, a fake
/// clock, no sockets, no sleeps.
@Suite("Scheduler rules")
struct SchedulerTests {
    @Test func aWorkerGetsNoMoreTrialsThanItsCredit() throws {
        var harness = SchedulerHarness(trials: 10)
        let worker = harness.join(credit: 3)
        harness.dispatch()
        #expect(harness.workers[worker].held.count == 3)
        harness.dispatch()
        #expect(harness.workers[worker].held.count == 3)
        harness.finish(worker, count: 1, credit: 2)
        harness.dispatch()
        #expect(harness.workers[worker].held.count == 4)
        try harness.scheduler.checkInvariants()
    }

    @Test func creditIsCappedAndANewPeerHoldsAtMostTheNewPeerLimit() throws {
        var harness = SchedulerHarness(trials: 5000) { $0.newPeerCredit = 16; $0.maximumCredit = 1000 }
        let greedy = harness.join(credit: .max)
        harness.deliver(.ready(Ready(credit: .max)), from: greedy)
        harness.dispatch()
        #expect(harness.workers[greedy].held.count == 16)
        harness.finish(greedy, count: 1, credit: .max)
        harness.dispatch()
        #expect(harness.workers[greedy].held.count == 1000)   // held plus promised never exceeds the cap
        try harness.scheduler.checkInvariants()
    }

    @Test func welcomeNamesTheExperimentAndTheHeartbeat() {
        var harness = SchedulerHarness(trials: 1)
        let worker = harness.join(credit: 1)
        #expect(harness.messages(to: worker).first == .welcome(Welcome(version: 1, experiment: "test", heartbeatMilliseconds: 1000, liveness: 3)))
    }

    @Test func aWorkerOfflineVersionIsToldWhichVersionsExistAndThenIgnored() {
        var harness = SchedulerHarness(trials: 1)
        let stranger = PeerID([9])
        harness.scheduler.received(.hello(Hello(versions: [7], worker: "old", threads: 1, instructionSet: "x", credit: 5)), from: stranger, now: .zero)
        let first = harness.scheduler.takeOutputs().compactMap { if case .send(_, .error(let error)) = $0 { error } else { nil } }
        #expect(first.map(\.code) == [.unsupportedVersion])
        #expect(first.first?.supportedVersions == supportedProtocolVersions)
        harness.scheduler.received(.hello(Hello(worker: "old", threads: 1, instructionSet: "x", credit: 5)), from: stranger, now: .zero)
        harness.scheduler.dispatch(now: .zero)
        #expect(harness.scheduler.takeOutputs().allSatisfy { if case .send = $0 { false } else { true } })
    }

    @Test func aMessageBeforeHelloGetsAReminderAtMostOncePerHeartbeat() {
        var harness = SchedulerHarness(trials: 1)
        let stranger = PeerID([9])
        for _ in 0..<5 { harness.scheduler.received(.ready(Ready(credit: 1)), from: stranger, now: .zero) }
        let reminders = harness.scheduler.takeOutputs().filter { if case .send(_, .error(let error)) = $0 { error.code == .helloFirst } else { false } }
        #expect(reminders.count == 1)
        #expect(harness.scheduler.statistics.malformedMessages == 5)
    }

    @Test func resultsAreAcknowledgedOnlyOnceCommitted() {
        var harness = SchedulerHarness(trials: 2)
        let worker = harness.join(credit: 2)
        harness.dispatch()
        let lease = harness.workers[worker].held[0].lease
        harness.finish(worker)
        #expect(harness.acknowledged[harness.workers[worker].peer, default: []].isEmpty)
        harness.commit()
        #expect(harness.acknowledged[harness.workers[worker].peer, default: []] == [lease])
        #expect(harness.ledger.rows[0]?.state == .done)
    }

    @Test func aDeadWorkersTrialsGoToAnotherWorkerOnce() throws {
        var harness = SchedulerHarness(trials: 3) { $0.speculativeExecution = false }
        let doomed = harness.join("doomed", credit: 3)
        harness.dispatch()
        harness.finish(doomed, credit: 0)
        harness.commit()
        #expect(harness.workers[doomed].held.count == 2)
        harness.workers[doomed].alive = false
        let rescuer = harness.join("rescuer", credit: 2)
        harness.dispatch()
        #expect(harness.workers[rescuer].held.isEmpty)
        for _ in 0..<4 { harness.advance(.seconds(1)) }
        #expect(harness.scheduler.statistics.workersLost == 1)
        #expect(harness.workers[rescuer].held.map(\.trial).sorted() == [1, 2])
        // Lost with their worker: not an attempt (a killed worker is weak evidence against its trials).
        #expect(harness.workers[rescuer].held.allSatisfy { $0.attempt == 1 })
        harness.finish(rescuer, count: 2)
        harness.commit()
        #expect(harness.ledger.rows.values.filter { $0.worker == "rescuer" }.count == 2)
        #expect(harness.scheduler.statistics.requeued == 2)
        try harness.scheduler.checkInvariants()
    }

    @Test func peersThatTakeTrialsAndVanishCannotUseUpTheirAttempts() throws {
        var harness = SchedulerHarness(trials: 40) { $0.maximumAttempts = 3; $0.newPeerCredit = 16; $0.speculativeExecution = false }
        for round in 0..<5 {
            let vandal = harness.join("vandal", credit: .max)
            harness.dispatch()
            #expect(harness.workers[vandal].held.count == 16, "round \(round): a new peer holds at most the new-peer credit")
            harness.workers[vandal].alive = false
            for _ in 0..<4 { harness.advance(.seconds(1)) }
        }
        harness.complete()
        #expect(harness.ledger.rows.values.allSatisfy { $0.state == .done }, "no trial was failed by peers that never returned anything")
        try harness.scheduler.checkInvariants()
    }

    @Test func aTrialThatKillsEveryWorkerStillEnds() {
        var harness = SchedulerHarness(trials: 1) { $0.maximumLosses = 4; $0.speculativeExecution = false }
        for _ in 0..<4 {
            let victim = harness.join(credit: 1)
            harness.dispatch()
            harness.workers[victim].alive = false
            for _ in 0..<4 { harness.advance(.seconds(1)) }
        }
        harness.commit()
        #expect(harness.ledger.rows[0]?.state == .failed)
        #expect(harness.ledger.rows[0]?.failure?.hasPrefix("lost 4 times with the worker that ran it") == true)
    }

    @Test func attemptsAreCappedAndTheFailureNamesEachAttempt() {
        var harness = SchedulerHarness(trials: 1) { $0.maximumAttempts = 2 }
        for name in ["first", "second"] {
            let worker = harness.join(name, credit: 1)
            harness.dispatch()
            harness.finish(worker, credit: 0, failing: true)
        }
        harness.commit()
        let record = harness.ledger.rows[0]
        #expect(record?.state == .failed)
        #expect(record?.attempts == 2)
        #expect(record?.failure?.contains("first: it crashed") == true)
        #expect(record?.failure?.contains("second: it crashed") == true)
        #expect(harness.scheduler.isComplete)
    }

    @Test func leavingWithGoodbyeReturnsUnstartedTrialsWithoutSpendingAttempts() throws {
        var harness = SchedulerHarness(trials: 3) { $0.maximumAttempts = 1 }
        let leaver = harness.join(credit: 3)
        harness.dispatch()
        let returned = harness.workers[leaver].held.map(\.lease)
        harness.deliver(.goodbye(Goodbye(returned: returned)), from: leaver)
        harness.workers[leaver].held = []
        harness.complete()
        #expect(harness.ledger.rows.values.allSatisfy { $0.state == .done })
        #expect(harness.scheduler.statistics.workersLost == 0)
        try harness.scheduler.checkInvariants()
    }

    @Test func aLeaseIsBoundToTheConnectionNotTheName() {
        var harness = SchedulerHarness(trials: 1)
        let honest = harness.join("alice", credit: 1)
        harness.dispatch()
        let lease = harness.workers[honest].held[0]
        let impostor = harness.join("alice", credit: 0)
        harness.deliver(.results(Results(results: [TrialReport(trial: 0, lease: lease.lease, outcome: .slept(milliseconds: 666), seconds: 0)], credit: 0)), from: impostor)
        harness.commit()
        #expect(harness.ledger.rows[0] == nil)
        #expect(harness.scheduler.statistics.rejectedResults == 1)
        harness.finish(honest)
        harness.commit()
        #expect(harness.ledger.rows[0]?.fingerprint == outcomeFingerprint(.noop))
    }

    @Test func anOutcomeOfAnotherKindThanItsTaskIsAFailedAttempt() {
        var harness = SchedulerHarness(trials: 1) { $0.maximumAttempts = 1 }
        let worker = harness.join(credit: 1)
        harness.dispatch()
        let lease = harness.workers[worker].held[0]
        harness.deliver(.results(Results(results: [TrialReport(trial: 0, lease: lease.lease, outcome: .slept(milliseconds: 1), seconds: 0)], credit: 0)), from: worker)
        harness.commit()
        #expect(harness.ledger.rows[0]?.state == .failed)
        #expect(harness.ledger.rows[0]?.failure?.contains("a 'slept' outcome for a 'noop' task") == true)
    }

    /// What the ledger records when a worker answers `description` with a result that has none
    /// of the optional parts (what a worker built before them returns).
    static func recordOfABareResult(for description: TrialDescription) -> (state: TrialState?, failure: String?) {
        let metrics = Metrics(loss: 1, error: 0.5, samples: 10)
        let bare = TrialResult(status: .completed, stopReason: .maxEpochs, epochs: 1, train: metrics, validation: nil, test: metrics,
                               gradientNorm: nil, keptEpoch: 1, parametersSHA256: "00", timing: .init(trainingSeconds: 0, evaluationSeconds: 0, samplesPerSecond: 0, instructionSet: "old"))
        var harness = SchedulerHarness(trials: 1, tasks: { _ in .train(description) }) { $0.maximumAttempts = 1 }
        let worker = harness.join(credit: 1)
        harness.dispatch()
        let lease = harness.workers[worker].held[0]
        harness.deliver(.results(Results(results: [TrialReport(trial: 0, lease: lease.lease, outcome: .trained(bare), seconds: 0)], credit: 0)), from: worker)
        harness.commit()
        return (harness.ledger.rows[0]?.state, harness.ledger.rows[0]?.failure)
    }

    static let plainDescription = TrialDescription(
        seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10"), model: ModelSpec(hidden: [3]),
        initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.1),
        stopping: StoppingRule(maxEpochs: 1))

    @Test func aTrainingResultWithoutTheProbesItsDescriptionAsksForIsAFailedAttempt() {
        var description = Self.plainDescription
        description.probes = ProbeRequest(hessian: HessianProbe())
        let record = Self.recordOfABareResult(for: description)
        #expect(record.state == .failed && record.failure?.contains("without the probes its description asks for") == true)
    }

    @Test func aTrainingResultWithoutTheCurveItsDescriptionAsksForIsAFailedAttempt() {
        var description = Self.plainDescription
        description.curve = CurveRequest()
        let record = Self.recordOfABareResult(for: description)
        #expect(record.state == .failed && record.failure?.contains("without the learning curve its description asks for") == true)
    }

    @Test func trialsOfAKindAWorkerDoesNotRunWaitForOneThatDoes() {
        // Even trials are spin glasses; a Python-like worker runs only noop and sleep.
        let glass = SpinGlassDescription(seed: 1, trialIndex: 0, order: 3, spins: 10, realization: 0, optimizer: SphereDescent(learningRate: 0.1),
                                         stopping: StoppingRule(maxEpochs: 1))
        var harness = SchedulerHarness(trials: 10, tasks: { [glass] trial in trial % 2 == 0 ? .spinGlass(glass) : .noop }) { $0.speculativeExecution = false }
        let python = harness.join("python", credit: 10, kinds: ["noop", "sleep"])
        harness.dispatch()
        #expect(harness.workers[python].held.map(\.trial).sorted() == [1, 3, 5, 7, 9], "no spin glass is leased to a worker that cannot run it")
        harness.finish(python, count: 5, credit: 10)
        harness.commit()
        #expect(harness.scheduler.statistics.leasesIssued == 5)
        let minima = harness.join("minima", credit: 10)
        harness.dispatch()
        #expect(harness.workers[minima].held.map(\.trial).sorted() == [0, 2, 4, 6, 8])
        #expect(harness.workers[python].held.isEmpty)
    }

    @Test func anExpiredLeaseCountsAsAnAttemptAndRunsAgain() {
        var harness = SchedulerHarness(trials: 1) { $0.trialTimeLimit = .seconds(2); $0.speculativeExecution = false }
        let slow = harness.join("slow", credit: 2)
        harness.dispatch()
        harness.advance(.seconds(1))
        #expect(harness.scheduler.statistics.expiredLeases == 0)
        harness.advance(.milliseconds(1500))
        #expect(harness.scheduler.statistics.expiredLeases == 1)
        harness.dispatch()
        #expect(harness.workers[slow].held.count == 2)
        #expect(harness.workers[slow].held.last?.attempt == 2)
    }

    @Test func speculativeCopiesGoOutOnlyWhenTheQueueIsEmptyAndTheFirstResultWins() throws {
        var harness = SchedulerHarness(trials: 2) { $0.speculateAfter = .seconds(2) }
        let slow = harness.join("slow", credit: 1)
        harness.dispatch()
        let fast = harness.join("fast", credit: 2)
        harness.dispatch()
        #expect(harness.workers[fast].held.map(\.trial) == [1])
        harness.finish(fast, credit: 0)
        harness.advance(.seconds(1))
        #expect(harness.workers[fast].held.isEmpty)   // not yet: the lease has run 1 s
        harness.advance(.seconds(2))
        #expect(harness.workers[fast].held.map(\.trial) == [0])
        #expect(harness.scheduler.statistics.speculativeLeases == 1)
        harness.finish(fast)
        harness.finish(slow)   // the original arrives second: compared, not stored
        harness.commit()
        harness.commit()
        #expect(harness.ledger.rows[0]?.worker == "fast")
        #expect(harness.scheduler.statistics.duplicateResults == 1)
        #expect(harness.scheduler.statistics.mismatchedDuplicates == 0)
        try harness.scheduler.checkInvariants()
    }

    @Test func aLateCopyWithOtherBitsIsRecordedAsAMismatch() {
        var harness = SchedulerHarness(trials: 1, tasks: { _ in .sleep(milliseconds: 5) }) { $0.speculateAfter = .zero }
        let original = harness.join("original", credit: 1, faulty: true)
        harness.dispatch()
        let copy = harness.join("copy", credit: 1)
        harness.advance(.milliseconds(100))
        harness.finish(copy)
        harness.finish(original)
        harness.commit()
        harness.commit()
        #expect(harness.scheduler.statistics.mismatchedDuplicates == 1)
        #expect(harness.ledger.events.contains { $0.kind == .mismatch && $0.trial == 0 })
    }

    @Test func aResultForATrialFinalBeforeThisRunIsComparedByTheLedger() {
        var configuration = SchedulerConfiguration()
        configuration.heartbeat = .seconds(1)
        var harness = SchedulerHarness(trials: 2)
        harness.scheduler = Scheduler(configuration: configuration, experimentName: "test", trialCount: 2, finalTrials: [(0, .done)], leaseIncarnation: 1) { _ in .noop }
        harness.ledger.rows[0] = TrialRecord(trial: 0, state: .done, attempts: 1, worker: "before", seconds: 0, outcomeJSON: nil, fingerprint: outcomeFingerprint(.noop), failure: nil)
        let worker = harness.join(credit: 5)
        harness.dispatch()
        #expect(harness.workers[worker].held.map(\.trial) == [1])
        harness.deliver(.results(Results(results: [TrialReport(trial: 0, lease: 12345, outcome: .noop, seconds: 0)], credit: 0)), from: worker)
        harness.commit()
        #expect(harness.acknowledged[harness.workers[worker].peer] == [12345])
        #expect(harness.ledger.rows[0]?.worker == "before")
    }

    /// Issue 18, item 3: forged copies of finished trials cannot grow the ledger without end, and
    /// what is written names the connection that sent it.
    @Test func forgedCopiesOfFinishedTrialsAreComparedABoundedNumberOfTimesPerConnection() {
        var configuration = SchedulerConfiguration()
        configuration.heartbeat = .seconds(1)
        var harness = SchedulerHarness(trials: 10)
        harness.scheduler = Scheduler(configuration: configuration, experimentName: "test", trialCount: 10, finalTrials: (0..<10).map { ($0, .done) }, leaseIncarnation: 1) { _ in .noop }
        for trial in 0..<10 {
            harness.ledger.rows[trial] = TrialRecord(trial: trial, state: .done, attempts: 1, worker: "honest-0", seconds: 0, outcomeJSON: nil, fingerprint: "stored", failure: nil)
        }
        let forger = harness.join("honest-0", credit: 0)
        let forged = (0..<1000).map { TrialReport(trial: $0 % 10, lease: UInt64(50_000 + $0), outcome: .noop, seconds: 0) }
        for chunk in stride(from: 0, to: forged.count, by: 100) {
            harness.deliver(.results(Results(results: Array(forged[chunk ..< chunk + 100]), credit: 0)), from: forger)
            harness.commit()
        }
        #expect(harness.ledger.events.count == SchedulerLimits.comparisonsPerConnection, "\(harness.ledger.events.count) mismatch events")
        #expect(harness.scheduler.statistics.uncomparedDuplicates == 1000 - SchedulerLimits.comparisonsPerConnection)
        #expect(harness.acknowledged[harness.workers[forger].peer]?.count == 1000, "every copy is acknowledged, compared or not")
        #expect((0..<10).allSatisfy { harness.ledger.rows[$0]?.fingerprint == "stored" })
        // A second connection gets its own few comparisons; the run's total is bounded too.
        let again = harness.join("honest-0", credit: 0)
        harness.deliver(.results(Results(results: [TrialReport(trial: 3, lease: 99, outcome: .noop, seconds: 0)], credit: 0)), from: again)
        harness.commit()
        #expect(harness.ledger.events.count == SchedulerLimits.comparisonsPerConnection + 1)
    }

    /// Issue 18, item 2: a peer that takes trials and reports failures cannot fail the study's
    /// trials while honest workers are there; it is throttled, and honest workers finish them.
    @Test func aPeerThatFailsEverythingItTakesCannotUseUpTheTrialsAttempts() throws {
        var harness = SchedulerHarness(trials: 400) { $0.maximumAttempts = 3 }
        let burner = harness.join("burner", credit: 64)
        _ = harness.join("honest-0", credit: 2)
        _ = harness.join("honest-1", credit: 2)
        for _ in 0..<200 {
            harness.dispatch()
            // The burner reports every lease it holds as failed at once, before anyone else moves.
            let held = harness.workers[burner].held
            if !held.isEmpty {
                harness.workers[burner].held = []
                harness.deliver(.results(Results(results: held.map { TrialReport(trial: $0.trial, lease: $0.lease, outcome: nil, failure: "burned", seconds: 0) },
                                                 credit: held.count)), from: burner)
            }
            harness.finish(1, count: 2, credit: 2)
            harness.finish(2, count: 2, credit: 2)
            harness.advance(.milliseconds(10))
            harness.commit()
            if harness.scheduler.isComplete { break }
        }
        harness.complete(withHonestWorkers: 2)
        try harness.scheduler.checkInvariants()
        #expect(harness.scheduler.counts.failed == 0, "\(harness.scheduler.counts.failed) trials failed by one peer's failures")
        #expect(harness.scheduler.counts.done == 400)
        #expect(harness.scheduler.statistics.workersThrottled == 1)
    }

    @Test func aLoneWorkerWhoseTrialsAllFailStillEndsTheStudy() throws {
        var harness = SchedulerHarness(trials: 40) { $0.maximumAttempts = 3 }
        let lone = harness.join("lone", credit: 4)
        for _ in 0..<1000 where !harness.scheduler.isComplete {
            harness.dispatch()
            harness.finish(lone, count: 4, credit: 4, failing: true)
            harness.advance(.milliseconds(10))
            harness.commit()
        }
        #expect(harness.scheduler.isComplete && harness.scheduler.counts.failed == 40)
        #expect(harness.ledger.rows.values.allSatisfy { $0.attempts == 3 })
    }

    @Test func aHelloWhoseNameIsAMegabyteOrNotPrintableIsRefused() {
        var harness = SchedulerHarness(trials: 4)
        for name in [String(repeating: "x", count: 1 << 20), "", "tab\tname", "bell\u{07}", String(repeating: "é", count: 65)] {
            let worker = harness.join(name, credit: 4)
            #expect(harness.scheduler.connectedWorkers == 0, "\(name.prefix(10).debugDescription) joined")
            guard case .error(let error)? = harness.messages(to: worker).last else { Issue.record("no error for \(name.prefix(10).debugDescription)"); continue }
            #expect(error.code == .invalidHello)
        }
        harness.join(String(repeating: "x", count: 128), credit: 4)
        #expect(harness.scheduler.connectedWorkers == 1, "128 bytes is a name")
    }

    @Test func theCountsPartitionTheTrialsAtEveryStep() throws {
        var harness = SchedulerHarness(trials: 6) { $0.maximumAttempts = 2 }
        let worker = harness.join(credit: 4)
        try harness.scheduler.checkInvariants()
        harness.dispatch()
        #expect(harness.scheduler.counts == TrialCounts(pending: 2, running: 4, done: 0, failed: 0))
        harness.finish(worker, count: 2, credit: 0)
        #expect(harness.scheduler.counts == TrialCounts(pending: 2, running: 2, done: 2, failed: 0))
        harness.finish(worker, count: 1, credit: 0, failing: true)
        #expect(harness.scheduler.counts == TrialCounts(pending: 3, running: 1, done: 2, failed: 0))
        try harness.scheduler.checkInvariants()
        harness.complete()
        #expect(harness.scheduler.counts == TrialCounts(pending: 0, running: 0, done: 6, failed: 0))
    }

    // MARK: Verification

    @Test func verificationSamplesAFixedFractionOfTrials() {
        let policy = VerificationPolicy(fraction: 0.1)
        let selected = (0..<100_000).filter(policy.selects).count
        #expect(abs(selected - 10_000) < 400)
        #expect(!VerificationPolicy(fraction: 0).selects(trial: 3))
        #expect(VerificationPolicy(fraction: 1).selects(trial: 3))
    }

    @Test func agreeingCopiesConfirmAResult() throws {
        var harness = SchedulerHarness(trials: 4) { $0.verification = VerificationPolicy(fraction: 1) }
        harness.complete(withHonestWorkers: 2)
        #expect(harness.scheduler.statistics.verifiedResults == 4)
        #expect(harness.scheduler.statistics.disputedResults == 0)
        #expect(harness.scheduler.statistics.verificationLeases == 4)
        try harness.scheduler.checkInvariants()
    }

    @Test func aVerificationCopyNeverGoesToTheWorkerThatRanTheTrial() {
        var harness = SchedulerHarness(trials: 1) { $0.verification = VerificationPolicy(fraction: 1) }
        let only = harness.join(credit: 10)
        harness.dispatch()
        harness.finish(only)
        harness.commit()
        harness.dispatch()
        #expect(harness.workers[only].held.isEmpty)
        // With no second worker the run can end unverified rather than wait forever.
        #expect(harness.scheduler.isComplete)
    }

    @Test func aFaultyWorkerOutvotedByTwoIsQuarantinedAndItsResultsRunAgain() throws {
        var harness = SchedulerHarness(trials: 20, tasks: { .sleep(milliseconds: $0) }) { $0.verification = VerificationPolicy(fraction: 0.3) }
        let faulty = harness.join("faulty", credit: 20, faulty: true)
        harness.dispatch()
        harness.finish(faulty, count: 20, credit: 0)
        harness.commit()
        #expect(harness.ledger.rows.count == 20)
        harness.complete(withHonestWorkers: 2)
        #expect(harness.scheduler.quarantinedWorkers == ["faulty"])
        #expect(harness.ledger.quarantined == ["faulty"])
        #expect(harness.scheduler.statistics.disputedResults >= 1)
        #expect(harness.ledger.rows.count == 20)
        for trial in 0..<20 {
            #expect(harness.ledger.rows[trial]?.fingerprint == outcomeFingerprint(.slept(milliseconds: trial)), "trial \(trial)")
        }
        #expect(harness.messages(to: faulty).contains { if case .error(let error) = $0 { error.code == .quarantined } else { false } })
        // A quarantined worker that comes back is refused.
        let again = harness.join("faulty", credit: 5)
        harness.dispatch()
        #expect(harness.workers[again].held.isEmpty)
        try harness.scheduler.checkInvariants()
    }

    @Test func anHonestResultDisputedByAFaultyVerifierStands() {
        var harness = SchedulerHarness(trials: 1, tasks: { _ in .sleep(milliseconds: 3) }) { $0.verification = VerificationPolicy(fraction: 1) }
        let honest = harness.join("honest", credit: 1)
        harness.dispatch()
        harness.finish(honest, credit: 0)
        harness.commit()
        let faulty = harness.join("faulty", credit: 1, faulty: true)
        harness.dispatch()
        harness.finish(faulty, credit: 0)   // disagrees: disputed
        #expect(harness.scheduler.statistics.disputedResults == 1)
        harness.complete(withHonestWorkers: 1)
        #expect(harness.scheduler.quarantinedWorkers == ["faulty"])
        #expect(harness.ledger.rows[0]?.worker == "honest")
        #expect(harness.ledger.rows[0]?.fingerprint == outcomeFingerprint(.slept(milliseconds: 3)))
    }

    // Issue 18, item 1: one attacker connecting under two names (and one CURVE key) got an honest
    // worker quarantined and its results replaced by forged ones. Opinions now count per
    // identity — the authenticated key — so the attacker's second name is no second vote.
    @Test func oneKeyUnderTwoNamesCannotOutvoteAnHonestWorker() throws {
        let honestKey = String(repeating: "h", count: 40), attackerKey = String(repeating: "a", count: 40)
        var harness = SchedulerHarness(trials: 8, tasks: { .sleep(milliseconds: $0) }) { $0.verification = VerificationPolicy(fraction: 1) }
        let honest = harness.join("honest", credit: 8, curveKey: honestKey)
        harness.dispatch()
        harness.finish(honest, count: 8, credit: 0)
        harness.commit()
        let first = harness.join("mallory", credit: 64, faulty: true, curveKey: attackerKey)
        let second = harness.join("eve", credit: 64, faulty: true, curveKey: attackerKey)
        harness.complete(withHonestWorkers: 1)

        #expect(harness.workers[first].lastReport != nil)
        #expect(harness.workers[second].lastReport == nil, "the attacker's second name got a verification copy its first name had disputed")
        #expect(harness.scheduler.quarantinedWorkers == ["CURVE key \(attackerKey)", "eve (key aaaaaaaa)", "mallory (key aaaaaaaa)"])
        #expect(harness.scheduler.statistics.workersQuarantined == 1)
        for trial in 0..<8 {
            #expect(harness.ledger.rows[trial]?.worker == "honest (key hhhhhhhh)", "trial \(trial)")
            #expect(harness.ledger.rows[trial]?.fingerprint == outcomeFingerprint(.slept(milliseconds: trial)), "trial \(trial)")
        }
        // The key is refused whatever name it comes back under.
        let again = harness.join("trent", credit: 5, curveKey: attackerKey)
        #expect(harness.messages(to: again).contains { if case .error(let error) = $0 { error.code == .quarantined } else { false } })
        try harness.scheduler.checkInvariants()
    }

    @Test func aVerificationCopyNeverGoesToAnotherConnectionWithTheSameKey() {
        let key = String(repeating: "k", count: 40)
        var harness = SchedulerHarness(trials: 1) { $0.verification = VerificationPolicy(fraction: 1) }
        let first = harness.join("node-1", credit: 1, curveKey: key)
        harness.dispatch()
        harness.finish(first, credit: 0)
        harness.commit()
        let sameKey = harness.join("node-2", credit: 5, curveKey: key)
        harness.dispatch()
        #expect(harness.workers[sameKey].held.isEmpty)
        let other = harness.join("node-3", credit: 5, curveKey: String(repeating: "o", count: 40))
        harness.dispatch()
        #expect(harness.workers[other].held.count == 1)
    }
}
