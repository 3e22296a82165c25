import MinimaLedger
import MinimaProtocol

// Dispatch: which trial goes to which worker — requeued, set aside by kind, verification copies,
// fresh, and speculative copies of stragglers.
extension Scheduler {
    // MARK: Dispatch

    /// Hands pending trials to workers with credit: requeued trials first, then verification
    /// copies, then fresh trials in index order.
    public mutating func dispatch(now: SchedulerInstant) {
        for peer in Array(workers.keys) {
            guard let worker = workers[peer], worker.canTakeTrials else { continue }
            var available = worker.available(newPeerLimit: configuration.newPeerCredit)
            guard available > 0 else { continue }
            var batch: [Lease] = []
            while available > 0, batch.count < SchedulerLimits.leasesPerMessage {
                if let trial = nextTrial(for: worker) {
                    batch.append(issueLease(trial, to: peer, kind: .primary, now: now))
                } else if let trial = nextVerification(for: worker) {
                    batch.append(issueLease(trial, to: peer, kind: .verification, now: now))
                } else {
                    break
                }
                available -= 1
            }
            if !batch.isEmpty { send(.trials(Trials(leases: batch)), to: peer, now: now) }
        }
    }

    /// The next trial `worker` can run: trials set aside for a kind it runs, then requeued ones,
    /// then fresh ones. Trials of a kind it does not run (a Python worker and a spin glass) are
    /// set aside for workers that do, instead of being leased to fail.
    mutating func nextTrial(for worker: WorkerState) -> Int? {
        if !setAside.isEmpty, let kinds = worker.kinds ?? Optional(Set(setAside.keys)) {
            for kind in kinds.sorted() {
                while let trial = setAside[kind]?.popFirst() {
                    if setAside[kind]?.isEmpty == true { setAside[kind] = nil }
                    if isPending(trial) { return trial }
                }
            }
        }
        var scanned = 0
        while let trial = requeued.popFirst() {
            guard isPending(trial) else { continue }
            if let kind = unrunnableKind(trial, by: worker) { setAside[kind, default: []].append(trial); scanned += 1; if scanned > SchedulerLimits.setAsideScan { return nil }; continue }
            return trial
        }
        while freshCursor < trialCount {
            let trial = freshCursor
            freshCursor += 1
            guard !final.contains(trial) && inFlight[trial] == nil else { continue }
            if let kind = unrunnableKind(trial, by: worker) { setAside[kind, default: []].append(trial); scanned += 1; if scanned > SchedulerLimits.setAsideScan { return nil }; continue }
            return trial
        }
        return nil
    }

    func isPending(_ trial: Int) -> Bool {
        if let flight = inFlight[trial], flight.verdict != nil || !flight.activeLeases.isEmpty { return false }
        return !final.contains(trial)
    }

    /// The trial's kind when `worker` does not run it (nil: it does).
    func unrunnableKind(_ trial: Int, by worker: WorkerState) -> TaskKind? {
        guard worker.kinds != nil else { return nil }
        let kind = task(trial).kind
        return worker.runs(kind) ? nil : kind
    }

    /// Whether `worker` runs trial `trial`'s kind (its task is built only for restricted workers).
    func runs(_ trial: Int, on worker: WorkerState) -> Bool {
        worker.kinds == nil || unrunnableKind(trial, by: worker) == nil
    }


    mutating func issueLease(_ trial: Int, to peer: PeerID, kind: LeaseKind, now: SchedulerInstant) -> Lease {
        let id = nextLease
        nextLease += 1
        var flight = inFlight[trial] ?? TrialFlight()
        if kind == .primary { flight.attempts += 1 }
        if kind != .verification && flight.activeLeases.isEmpty { counts.pending -= 1; counts.running += 1 }
        if kind != .verification { flight.activeLeases.insert(id) }
        inFlight[trial] = flight
        leases[id] = LeaseState(trial: trial, peer: peer, issued: now, deadline: configuration.trialTimeLimit.map { now + $0 }, kind: kind)
        modifyWorker(peer) { $0.issue(id) }
        statistics.leasesIssued += 1
        if kind == .speculative { statistics.speculativeLeases += 1 }
        if kind == .verification { statistics.verificationLeases += 1 }
        return Lease(lease: id, trial: trial, attempt: max(1, flight.attempts), task: task(trial), timeLimitSeconds: configuration.trialTimeLimit?.seconds)
    }

    /// The queue is empty and workers are idle: lease the oldest running trials once more, each
    /// to a worker other than the one running it.
    mutating func speculate(now: SchedulerInstant) {
        guard configuration.speculativeExecution, requeued.isEmpty, freshCursor >= trialCount else { return }
        let idle = workers.values.filter { $0.canTakeTrials && $0.available(newPeerLimit: configuration.newPeerCredit) > 0 }
        guard !idle.isEmpty else { return }
        var candidates = leases.filter { $0.value.kind == .primary && now - $0.value.issued >= configuration.speculateAfter && inFlight[$0.value.trial]?.activeLeases.count == 1 }
            .sorted { ($0.value.issued, $0.key) < ($1.value.issued, $1.key) }
        guard !candidates.isEmpty else { return }
        for worker in idle.sorted(by: { $0.name < $1.name }) {
            var available = worker.available(newPeerLimit: configuration.newPeerCredit)
            var batch: [Lease] = []
            while available > 0, let index = candidates.firstIndex(where: { $0.value.peer != worker.peer && runs($0.value.trial, on: worker) }) {
                let trial = candidates.remove(at: index).value.trial
                batch.append(issueLease(trial, to: worker.peer, kind: .speculative, now: now))
                available -= 1
            }
            if !batch.isEmpty { send(.trials(Trials(leases: batch)), to: worker.peer, now: now) }
        }
    }
}
