import MinimaLedger
import MinimaProtocol

// Verification: second opinions on a sample of trials, third opinions on disputes, and
// quarantine of the worker two others outvote.
extension Scheduler {
    // MARK: Verification

    mutating func verificationFinished(_ report: TrialReport, by worker: Reporter, now: SchedulerInstant) {
        guard var verification = verifications[report.trial] else { return }
        verification.copyOut = false
        // An identity never gives two opinions (leases are not issued so; checked all the same).
        guard let outcome = report.outcome, !verification.identities.contains(worker.identity) else {
            verifications[report.trial] = verification
            verificationQueue.append(report.trial)
            return
        }
        let encoded = encodings.encode(outcome)
        let opinion = Opinion(fingerprint: encoded.fingerprint, worker: worker.name, identity: worker.identity,
                              record: TrialRecord(trial: report.trial, state: .done, attempts: inFlight[report.trial]?.attempts ?? 1, worker: worker.name,
                                                  seconds: report.seconds, outcomeJSON: encoded.json, fingerprint: encoded.fingerprint, failure: nil))
        guard let second = verification.second else {
            if opinion.fingerprint == verification.first.fingerprint {
                statistics.verifiedResults += 1
                verifications.removeValue(forKey: report.trial)
            } else {
                statistics.disputedResults += 1
                verification.second = opinion
                verifications[report.trial] = verification
                verificationQueue.append(report.trial)
                warn("disputed", "trial \(report.trial): \(verification.first.worker) and \(worker.name) disagree (\(verification.first.fingerprint.prefix(12))… vs \(opinion.fingerprint.prefix(12))…); a third worker decides")
                uncommitted.events.append(LedgerEvent(kind: .disputed, trial: report.trial,
                                                      detail: "\(verification.first.worker) reported \(verification.first.fingerprint), \(worker.name) reported \(opinion.fingerprint)"))
            }
            return
        }
        verifications.removeValue(forKey: report.trial)
        if opinion.fingerprint == verification.first.fingerprint {
            quarantine(second, evidence: "trial \(report.trial): \(verification.first.worker) and \(worker.name) agree on \(opinion.fingerprint.prefix(16))…, \(second.worker) reported \(second.fingerprint.prefix(16))…", now: now)
        } else if opinion.fingerprint == second.fingerprint {
            // The first result was the faulty one: the majority's takes its place — in memory if
            // it is not committed yet (the quarantine below must not take the trial back), else
            // in the ledger.
            if let record = second.record {
                if let index = uncommitted.records.firstIndex(where: { $0.trial == report.trial && $0.worker == verification.first.worker }) {
                    uncommitted.records[index] = record
                    inFlight[report.trial]?.verdict = .result(fingerprint: record.fingerprint ?? "", worker: record.worker ?? "")
                } else {
                    uncommitted.replacements.append(record)
                }
            }
            quarantine(verification.first, evidence: "trial \(report.trial): \(second.worker) and \(worker.name) agree on \(opinion.fingerprint.prefix(16))…, \(verification.first.worker) reported \(verification.first.fingerprint.prefix(16))…", now: now)
        } else {
            statistics.undecidedDisputes += 1
            warn("disputed", "trial \(report.trial): three workers gave three different results; nobody quarantined")
            uncommitted.events.append(LedgerEvent(kind: .undecided, trial: report.trial, detail: "\(verification.first.worker), \(second.worker) and \(worker.name) disagree"))
        }
    }

    /// Stops giving the culprit's identity trials — every connection with its CURVE key, or its
    /// connection and name without CURVE — takes back its leases, and invalidates every result
    /// it gave: those still in memory at once, those in the ledger when the next group commits
    /// (the ledger then names the trials, which run again elsewhere). Its names are refused at
    /// hello from then on, and under CURVE its key (stored as ``quarantineEntry(forKey:)``).
    mutating func quarantine(_ culprit: Opinion, evidence: String, now: SchedulerInstant) {
        var names = [culprit.worker]
        for worker in workers.values where worker.identity == culprit.identity && !names.contains(worker.name) { names.append(worker.name) }
        if case .key(let key) = culprit.identity { names.append(Self.quarantineEntry(forKey: key)) }
        let newlyQuarantined = names.filter { quarantined.insert($0).inserted }
        guard !newlyQuarantined.isEmpty else { return }
        statistics.workersQuarantined += 1
        warn("quarantine", "quarantined worker \(culprit.worker): \(evidence)")
        for name in newlyQuarantined { uncommitted.quarantines.append(Quarantine(worker: name, reason: evidence)) }
        let isCulprit = { (name: String, identity: WorkerIdentity) in identity == culprit.identity || names.contains(name) }
        for (peer, var worker) in workers where isCulprit(worker.name, worker.identity) {
            worker.quarantined = true
            worker.revokeCredit()
            workers[peer] = worker
            for id in worker.leases { if let lease = leases.removeValue(forKey: id) { leaseEnded(id, lease, countsAsAttempt: false, failure: nil, now: now) } }
            workers[peer]?.leases.removeAll()
            outputs.append(.send(peer, .error(ProtocolError(code: .quarantined, message: "quarantined: \(evidence)"))))
        }
        // Its results not yet committed never will be.
        let (dropped, kept) = uncommitted.records.partitioned { $0.state == .done && names.contains($0.worker ?? "") }
        uncommitted.records = kept
        reopen(dropped.map(\.trial))
        // Verifications that rested on its word start over.
        for trial in verifications.keys.sorted() {
            guard var verification = verifications[trial] else { continue }
            if isCulprit(verification.first.worker, verification.first.identity) {
                verifications.removeValue(forKey: trial)
            } else if let second = verification.second, isCulprit(second.worker, second.identity) {
                verification.second = nil
                verifications[trial] = verification
                if !verification.copyOut { verificationQueue.append(trial) }
            }
        }
    }

    /// How a quarantined CURVE key is remembered in the ledger's list of quarantined workers (no
    /// stored name has this form: under CURVE every name ends in " (key …)").
    static func quarantineEntry(forKey key: String) -> String { "CURVE key \(key)" }

    /// Trials whose results were taken back: pending again.

    var verificationCanProceed: Bool {
        if verifications.values.contains(where: \.copyOut) { return true }
        guard !verificationQueue.isEmpty else { return false }
        return verificationQueue.contains { trial in
            guard let verification = verifications[trial] else { return false }
            return workers.values.contains { $0.canTakeTrials && !verification.identities.contains($0.identity) }
        }
    }


    mutating func nextVerification(for worker: WorkerState) -> Int? {
        for _ in 0..<min(verificationQueue.count, SchedulerLimits.verificationQueueScan) {
            let trial = verificationQueue.removeFirst()
            guard var verification = verifications[trial], !verification.copyOut else { continue }
            if verification.identities.contains(worker.identity) || !runs(trial, on: worker) { verificationQueue.append(trial); continue }
            verification.copyOut = true
            verifications[trial] = verification
            return trial
        }
        return nil
    }
}
