import MinimaLedger
import MinimaProtocol

// Results and commits: accepting a lease's result, attempts that end without one, and what
// goes to the ledger.
extension Scheduler {
    // MARK: Results

    mutating func accept(_ report: TrialReport, from peer: PeerID, now: SchedulerInstant, immediateAcks: inout [LeaseID]) {
        guard let worker = workers[peer].map({ Reporter(peer: $0.peer, name: $0.name, quarantined: $0.quarantined, failuresInARow: $0.failuresInARow, identity: $0.identity) }) else { return }
        guard report.trial >= 0 && report.trial < trialCount else {
            return reject(report, from: worker, because: "the experiment has trials 0..<\(trialCount)", immediateAcks: &immediateAcks)
        }
        if worker.quarantined {
            return reject(report, from: worker, because: "the worker is quarantined", immediateAcks: &immediateAcks)
        }
        guard let lease = leases[report.lease], lease.trial == report.trial, lease.peer == peer else {
            return stray(report, from: worker, immediateAcks: &immediateAcks)
        }
        leases.removeValue(forKey: report.lease)
        modifyWorker(peer) { $0.returned(report.lease) }
        if let outcome = report.outcome, let mismatch = task(report.trial).payload.problem(with: outcome.payload) {
            var failed = report
            failed.outcome = nil
            failed.failure = mismatch
            statistics.malformedMessages += 1
            warn("kind", "result of trial \(report.trial) from \(worker.name): \(mismatch)")
            return finishLease(report.lease, lease, failed, from: worker, now: now, immediateAcks: &immediateAcks)
        }
        finishLease(report.lease, lease, report, from: worker, now: now, immediateAcks: &immediateAcks)
    }

    mutating func finishLease(_ id: LeaseID, _ lease: LeaseState, _ report: TrialReport, from worker: Reporter,
                                      now: SchedulerInstant, immediateAcks: inout [LeaseID]) {
        if lease.kind == .verification {
            immediateAcks.append(id)
            return verificationFinished(report, by: worker, now: now)
        }
        var flight = inFlight[report.trial] ?? TrialFlight()
        flight.activeLeases.remove(id)
        if let verdict = flight.verdict {
            // A second copy (speculative) of a trial whose first result is in: compare.
            inFlight[report.trial] = flight
            compareLateCopy(report, with: verdict, from: worker)
            return
        }
        guard let outcome = report.outcome else {
            flight.failures.append("\(worker.name): \(report.failure ?? "failed without a reason")")
            // One connection cannot use up a trial's attempts while others have not tried it.
            if flight.failedBy.contains(worker.peer) && othersCouldTry(report.trial, besides: flight.failedBy) {
                flight.attempts -= 1
            } else {
                flight.failedBy.insert(worker.peer)
            }
            inFlight[report.trial] = flight
            immediateAcks.append(id)
            failed(by: worker)
            return attemptEnded(report.trial, wasRunning: true, now: now)
        }
        // Written only when there is something to reset: no second lookup per result.
        if worker.failuresInARow > 0 { modifyWorker(worker.peer) { $0.failuresInARow = 0 } }
        let encoded = encodings.encode(outcome)
        flight.verdict = .result(fingerprint: encoded.fingerprint, worker: worker.name)
        // Other copies still out are no longer needed; their results will be compared.
        for other in flight.activeLeases {
            if let copy = leases.removeValue(forKey: other) { modifyWorker(copy.peer) { _ = $0.leases.remove(other) } }
        }
        flight.activeLeases.removeAll()
        inFlight[report.trial] = flight
        if statistics.secondsToFirstResult == nil { statistics.secondsToFirstResult = now.seconds }
        record(TrialRecord(trial: report.trial, state: .done, attempts: flight.attempts, worker: worker.name, seconds: report.seconds,
                           outcomeJSON: encoded.json, fingerprint: encoded.fingerprint, failure: nil), now: now)
        if keepsReceivedOutcomes { uncommitted.receivedOutcomes[report.trial] = ReceivedOutcome(fingerprint: encoded.fingerprint, outcome: outcome) }
        uncommitted.acknowledge(id, to: worker.peer)
        counts.done += 1
        counts.running -= 1
        if let trialsPerPoint {
            let point = report.trial / trialsPerPoint
            points[point].done += 1
            if report.seconds.isFinite && report.seconds >= 0 {
                points[point].timedTrials += 1
                points[point].timedSeconds += report.seconds
            }
        }
        if let verification = configuration.verification, verification.selects(trial: report.trial) {
            verifications[report.trial] = Verification(first: Opinion(fingerprint: encoded.fingerprint, worker: worker.name, identity: worker.identity, record: nil))
            verificationQueue.append(report.trial)
        }
    }

    /// A result for a lease the peer does not hold: a late copy of a finished trial (compared),
    /// or a stray (rejected).
    ///
    /// A stray is compared (and a mismatch becomes an `events` row) a bounded number of times per
    /// connection and per run, so that forged copies cannot grow the ledger; the rest are
    /// acknowledged uncompared. Its record names the connection that sent it: a name alone can
    /// be anybody's.
    mutating func stray(_ report: TrialReport, from worker: Reporter, immediateAcks: inout [LeaseID]) {
        let known = inFlight[report.trial]?.verdict != nil || final.contains(report.trial)
        if known, report.outcome != nil, !mayCompare(from: worker) {
            statistics.duplicateResults += 1
            statistics.uncomparedDuplicates = (statistics.uncomparedDuplicates ?? 0) + 1
            immediateAcks.append(report.lease)
            return
        }
        if let verdict = inFlight[report.trial]?.verdict {
            compareLateCopy(report, with: verdict, from: worker)
        } else if final.contains(report.trial) {
            guard let outcome = report.outcome else { immediateAcks.append(report.lease); return }
            statistics.duplicateResults += 1
            // Final before this run (or committed since): the ledger compares it with the stored bits.
            let encoded = encodings.encode(outcome)
            // The record names the connection that sent it: a name alone can be anybody's.
            uncommitted.duplicates.append(TrialRecord(trial: report.trial, state: .done, attempts: 0, worker: worker.nameAndConnection,
                                                      seconds: report.seconds, outcomeJSON: nil, fingerprint: encoded.fingerprint, failure: nil))
            uncommitted.acknowledge(report.lease, to: worker.peer)
        } else {
            reject(report, from: worker, because: "it does not hold lease \(report.lease)", immediateAcks: &immediateAcks)
        }
    }

    /// Whether a connected worker that takes trials, runs this one's kind and is not in `failed`
    /// could try it.
    func othersCouldTry(_ trial: Int, besides failed: Set<PeerID>) -> Bool {
        workers.values.contains { $0.canTakeTrials && !failed.contains($0.peer) && runs(trial, on: $0) }
    }

    /// A failure report: after too many in a row with no result, the connection is throttled —
    /// when some other worker can take trials (a lone worker keeps going, so that a study whose
    /// trials all fail still ends).
    mutating func failed(by worker: Reporter) {
        guard let inARow = modifyWorker(worker.peer, { state -> Int? in
            state.failuresInARow += 1
            return state.throttled ? nil : state.failuresInARow
        }) ?? nil, inARow >= SchedulerLimits.failuresInARowBeforeThrottle,
              workers.values.contains(where: { $0.peer != worker.peer && $0.canTakeTrials }) else { return }
        modifyWorker(worker.peer) { $0.throttled = true }
        statistics.workersThrottled = (statistics.workersThrottled ?? 0) + 1
        warn("throttled", "worker \(worker.nameAndConnection) reported \(inARow) failures in a row and no result: it gets no more trials on this connection while other workers can take them")
    }

    mutating func reject(_ report: TrialReport, from worker: Reporter, because reason: String, immediateAcks: inout [LeaseID]) {
        statistics.rejectedResults += 1
        immediateAcks.append(report.lease)
        warn("rejected", "rejected a result for trial \(report.trial) from \(worker.name): \(reason)")
    }

    /// Whether one more stray from `worker` may be compared (and counts it).
    mutating func mayCompare(from worker: Reporter) -> Bool {
        guard comparisonsThisRun < SchedulerLimits.comparisonsPerRun else { return false }
        let allowed = modifyWorker(worker.peer) { state -> Bool in
            guard state.comparisons < SchedulerLimits.comparisonsPerConnection else { return false }
            state.comparisons += 1
            return true
        } ?? false
        if allowed { comparisonsThisRun += 1 }
        return allowed
    }

    /// A copy of a trial whose result is accepted but not yet committed: compared in memory (a
    /// failed trial has nothing to compare with), acknowledged with the commit.
    mutating func compareLateCopy(_ report: TrialReport, with verdict: TrialVerdict, from worker: Reporter) {
        if let outcome = report.outcome, case .result(let fingerprint, _) = verdict {
            compareDuplicate(trial: report.trial, accepted: fingerprint, offered: encodings.encode(outcome).fingerprint, worker: worker.nameAndConnection)
        }
        uncommitted.acknowledge(report.lease, to: worker.peer)
    }

    mutating func compareDuplicate(trial: Int, accepted: String, offered: String, worker: String) {
        statistics.duplicateResults += 1
        guard accepted != offered else { return }
        statistics.mismatchedDuplicates += 1
        warn("mismatch", "MISMATCH: trial \(trial) from \(worker) has fingerprint \(offered.prefix(16))… but the accepted result has \(accepted.prefix(16))… — a non-deterministic build or a faulty worker")
        uncommitted.events.append(LedgerEvent(kind: .mismatch, trial: trial, detail: "accepted \(accepted), \(worker) reported \(offered)"))
    }

    /// A lease ended without a result (its worker died, left, or ran out of time).
    /// `lost`: with its worker (silent, disconnected); it counts against the trial's losses,
    /// not its attempts.
    mutating func leaseEnded(_ id: LeaseID, _ lease: LeaseState, countsAsAttempt: Bool, failure: String?, lost: Bool = false, now: SchedulerInstant) {
        if lease.kind == .verification {
            if var verification = verifications[lease.trial] {
                verification.copyOut = false
                verifications[lease.trial] = verification
                verificationQueue.append(lease.trial)
            }
            return
        }
        guard var flight = inFlight[lease.trial] else { return }
        flight.activeLeases.remove(id)
        if lease.kind == .primary && !countsAsAttempt { flight.attempts -= 1 }
        if lease.kind == .primary && lost { flight.losses += 1 }
        if lease.kind == .primary, let failure { flight.failures.append(failure) }
        inFlight[lease.trial] = flight
        attemptEnded(lease.trial, wasRunning: true, now: now)
    }

    /// A lease of `trial` ended without a result: requeue it, or record it failed once its
    /// attempts are used up (and no other copy is running).
    mutating func attemptEnded(_ trial: Int, wasRunning: Bool, now: SchedulerInstant) {
        guard var flight = inFlight[trial], flight.verdict == nil, flight.activeLeases.isEmpty else { return }
        if wasRunning { counts.running -= 1; counts.pending += 1 }
        if flight.attempts >= configuration.maximumAttempts || flight.losses >= configuration.maximumLosses {
            let reason = (flight.attempts >= configuration.maximumAttempts
                ? "failed \(flight.attempts) attempts: "
                : "lost \(flight.losses) times with the worker that ran it: ") + flight.failures.suffix(5).joined(separator: "; ")
            flight.verdict = .failed
            inFlight[trial] = flight
            counts.pending -= 1
            counts.failed += 1
            if let trialsPerPoint { points[trial / trialsPerPoint].failed += 1 }
            record(TrialRecord(trial: trial, state: .failed, attempts: flight.attempts, worker: nil, seconds: nil, outcomeJSON: nil, fingerprint: nil, failure: reason), now: now)
            warn("failed", "trial \(trial) \(reason)")
        } else {
            requeued.append(trial)
            statistics.requeued += 1
        }
    }


    mutating func reopen(_ trials: [Int]) {
        for trial in trials {
            let wasFinal = final.contains(trial)
            let wasAccepted = inFlight[trial]?.verdict != nil
            guard wasFinal || wasAccepted else { continue }
            final.remove(trial)
            inFlight[trial] = nil
            verifications[trial] = nil
            counts.done -= 1
            counts.pending += 1
            if let trialsPerPoint { points[trial / trialsPerPoint].done -= 1 }
            statistics.reopened += 1
            requeued.append(trial)
        }
    }


    // MARK: The ledger

    mutating func record(_ record: TrialRecord, now: SchedulerInstant) {
        uncommitted.records.append(record)
        if uncommittedSince == nil { uncommittedSince = now }
    }

    /// Whether a group should be committed now, no group being committed: results have waited
    /// the commit interval, or enough have piled up; anything else (acks, events, quarantines)
    /// goes at once.
    public func commitDue(now: SchedulerInstant) -> Bool {
        guard committing == nil, !uncommitted.isEmpty else { return false }
        guard let since = uncommittedSince else { return true }
        return uncommitted.records.count >= configuration.commitBatchLimit || now - since >= configuration.commitInterval
    }

    /// Hands over what waits for the ledger. Only one group is out at a time; call
    /// ``committed(_:now:)`` with what the ledger did.
    public mutating func takeGroup() -> LedgerGroup? {
        guard committing == nil, !uncommitted.isEmpty else { return nil }
        var group = uncommitted
        group.tag = LedgerGroup.Tag(rawValue: statistics.commits + 1)
        committing = group.tag
        uncommitted = LedgerGroup()
        uncommittedSince = nil
        return group
    }

    /// The ledger made `group` durable: acknowledge its results, and reopen the trials of
    /// quarantined workers that it invalidated.
    public mutating func committed(_ group: LedgerGroup, _ result: LedgerGroup.Result, now: SchedulerInstant) {
        guard committing == group.tag else { return }
        committing = nil
        statistics.commits += 1
        for (record, disposition) in zip(group.records, result.dispositions) {
            if inFlight[record.trial]?.verdict != nil { inFlight.removeValue(forKey: record.trial) }
            switch disposition {
            case .stored:
                final.insert(record.trial)
                statistics.resultsStored += 1
            case .duplicate(let matches, _):
                // Final already in the ledger (written by another process): the stored record stands.
                final.insert(record.trial)
                statistics.duplicateResults += 1
                if !matches { statistics.mismatchedDuplicates += 1 }
            }
        }
        for disposition in result.duplicateDispositions {
            if case .duplicate(false, _) = disposition { statistics.mismatchedDuplicates += 1 }
        }
        for (peer, ids) in group.acknowledgements.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) where workers[peer] != nil {
            send(.acknowledge(Acknowledge(leases: ids)), to: peer, now: now)
        }
        reopen(result.invalidatedTrials)
    }
}
