import MinimaCore
import MinimaLedger
import MinimaProtocol
@testable import MinimaRuntime

/// The ledger's commit semantics over a dictionary: enough to drive a ``Scheduler`` the way the
/// coordinator does, and to check what ends up stored.
struct MemoryLedger {
    var rows: [Int: TrialRecord] = [:]
    var quarantined: [String] = []
    var events: [LedgerEvent] = []

    mutating func commit(_ batch: LedgerBatch) -> LedgerBatch.Result {
        var result = LedgerBatch.Result()
        func compare(_ record: TrialRecord) -> Ledger.Disposition {
            let stored = rows[record.trial]?.fingerprint
            if stored != record.fingerprint { events.append(LedgerEvent(kind: .mismatch, trial: record.trial, detail: "")) }
            return .duplicate(matches: stored == record.fingerprint, storedFingerprint: stored)
        }
        for record in batch.records {
            if rows[record.trial] == nil { rows[record.trial] = record; result.dispositions.append(.stored) } else { result.dispositions.append(compare(record)) }
        }
        result.duplicateDispositions = batch.duplicates.map(compare)
        for record in batch.replacements { rows[record.trial] = record }
        for quarantine in batch.quarantines {
            quarantined.append(quarantine.worker)
            let trials = rows.values.filter { $0.worker == quarantine.worker && $0.state == .done }.map(\.trial).sorted()
            for trial in trials { rows[trial] = nil }
            result.invalidatedTrials += trials
        }
        events += batch.events
        return result
    }
}

/// A worker as the harness plays it: the leases it holds, whether it still talks, whether its
/// results are wrong.
struct ScriptedWorker {
    var peer: PeerID
    var name: String
    var held: [Lease] = []
    var alive = true
    var faulty = false
    var lastReport: TrialReport?
    /// The CURVE key its messages carry (nil: the coordinator does not use CURVE).
    var curveKey: String?
}

/// A scheduler with a fake clock, an in-memory ledger and scripted workers. Every message the
/// scheduler sends is delivered to the scripted worker it is for; nothing touches a socket or
/// the wall clock.
struct SchedulerHarness {
    var scheduler: Scheduler
    var now: Duration = .zero
    var ledger = MemoryLedger()
    var workers: [ScriptedWorker] = []
    var committing: LedgerGroup?
    /// Every message sent, per peer, in order.
    var sent: [PeerID: [Message]] = [:]
    var acknowledged: [PeerID: Set<LeaseID>] = [:]
    /// Where honest workers load datasets from; with it they run the built-in kinds' tasks for
    /// real too (without it, only kinds defined in the tests, which need no data).
    var datasets: (@Sendable (DataSelection) throws -> TrainingData)?
    private var nextPeer: UInt8 = 1

    init(trials: Int, configure: (inout SchedulerConfiguration) -> Void = { _ in }) {
        self.init(trials: trials, tasks: { _ in .noop }, configure: configure)
    }

    init(trials: Int, tasks: @escaping @Sendable (Int) -> TaskDescription, configure: (inout SchedulerConfiguration) -> Void = { _ in }) {
        var configuration = SchedulerConfiguration()
        configuration.heartbeat = .seconds(1)
        configuration.commitInterval = .milliseconds(5)
        configure(&configuration)
        scheduler = Scheduler(configuration: configuration, experimentName: "test", trialCount: trials, finalTrials: [], leaseIncarnation: 7, task: tasks)
    }

    // MARK: Workers' actions

    /// A new worker says hello; returns its index.
    @discardableResult
    mutating func join(_ name: String? = nil, credit: Int, faulty: Bool = false, kinds: [TaskKind]? = nil, curveKey: String? = nil) -> Int {
        let peer = PeerID([nextPeer, 0xAA])
        nextPeer &+= 1
        workers.append(ScriptedWorker(peer: peer, name: name ?? "w\(workers.count)", faulty: faulty, curveKey: curveKey))
        var hello = Hello(worker: workers.last!.name, threads: 1, instructionSet: "test", credit: credit)
        if let kinds { hello.kinds = kinds }
        deliver(.hello(hello), from: workers.count - 1)
        return workers.count - 1
    }

    mutating func deliver(_ message: Message, from worker: Int) {
        scheduler.received(message, from: workers[worker].peer, curveKey: workers[worker].curveKey, now: now)
        collect()
    }

    private static func run<T: RunnableTask>(_ task: T, faulty: Bool, datasets: (@Sendable (DataSelection) throws -> TrainingData)?) -> TaskOutcome? {
        guard datasets != nil || !TaskRegistry.builtInKinds.contains(T.kind) else { return nil }
        let context = TaskContext(control: TrialControl(), loadDataset: datasets ?? { _ in throw TaskFailure("the harness has no datasets") })
        guard let outcome = try? task.run(in: context) else { return nil }
        return TaskOutcome(faulty ? T.perturbed(outcome) : outcome)
    }

    /// The honest outcome of a task (and a wrong one for faulty workers).
    static func outcome(_ task: TaskDescription, faulty: Bool, datasets: (@Sendable (DataSelection) throws -> TrainingData)? = nil) -> TaskOutcome {
        if let sleep = task.as(SleepTask.self) { return .slept(milliseconds: sleep.milliseconds + (faulty ? 1 : 0)) }
        if task.as(NoopTask.self) != nil { return faulty ? .slept(milliseconds: 0) : .noop }
        // A kind defined in the tests runs for real (it needs no data): the extension point is
        // exercised, not mocked.
        if let runnable = task.payload as? any RunnableTask, let outcome = run(runnable, faulty: faulty, datasets: datasets) { return outcome }
        return .noop
    }

    /// The worker reports its `count` oldest leases as finished and asks for `credit` more.
    mutating func finish(_ worker: Int, count: Int = 1, credit: Int = 1, failing: Bool = false) {
        let reports = workers[worker].held.prefix(count).map { lease in
            TrialReport(trial: lease.trial, lease: lease.lease, outcome: failing ? nil : Self.outcome(lease.task, faulty: workers[worker].faulty, datasets: datasets),
                        failure: failing ? "it crashed" : nil, seconds: 0.001)
        }
        workers[worker].held.removeFirst(min(count, workers[worker].held.count))
        if let last = reports.last { workers[worker].lastReport = last }
        deliver(.results(Results(results: reports, credit: credit)), from: worker)
    }

    // MARK: Time and the ledger

    /// Advances the clock; living workers send a heartbeat first, as real ones do.
    mutating func advance(_ duration: Duration) {
        now += duration
        for index in workers.indices where workers[index].alive { deliver(.heartbeat, from: index) }
        scheduler.tick(now: now)
        collect()
    }

    /// Commits what is due, as the coordinator's loop does, and applies the result.
    mutating func commit() {
        if committing == nil, scheduler.commitDue(now: now + .milliseconds(10)), let group = scheduler.takeGroup() { committing = group }
        guard let group = committing else { return }
        committing = nil
        let result = ledger.commit(group.batch)
        scheduler.committed(group, result, now: now)
        collect()
    }

    /// Dispatch, as the loop does after every batch of messages.
    mutating func dispatch() {
        scheduler.dispatch(now: now)
        collect()
    }

    private mutating func collect() {
        for output in scheduler.takeOutputs() {
            guard case .send(let peer, let message) = output else { continue }
            sent[peer, default: []].append(message)
            guard let index = workers.firstIndex(where: { $0.peer == peer }) else { continue }
            switch message {
            case .trials(let trials): workers[index].held += trials.leases
            case .acknowledge(let ack): acknowledged[peer, default: []].formUnion(ack.leases)
            default: break
            }
        }
    }

    /// Messages of one kind sent to a worker.
    func messages(to worker: Int) -> [Message] { sent[workers[worker].peer] ?? [] }

    /// Runs every trial to the end with `honest` new workers of unlimited appetite.
    mutating func complete(withHonestWorkers honest: Int = 2, maximumSteps: Int = 100_000) {
        for _ in 0..<honest { join(credit: 64) }
        var steps = 0
        while !(scheduler.isComplete && committing == nil), steps < maximumSteps {
            steps += 1
            dispatch()
            for index in workers.indices where workers[index].alive && !workers[index].held.isEmpty {
                finish(index, count: workers[index].held.count, credit: workers[index].held.count)
            }
            commit()
            advance(.milliseconds(100))
        }
    }
}
