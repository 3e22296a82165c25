import MinimaLedger
import MinimaProtocol

// Workers and liveness: hellos, credit, goodbyes, heartbeats and the workers that fall silent.
extension Scheduler {
    // MARK: Events from workers

    /// A message from `peer` (already decoded). `status` requests are the shell's to answer.
    /// `curveKey`: the sender's CURVE public key (Z85) as the ZAP handler authenticated it, when
    /// the coordinator uses CURVE; it is the worker's identity for verification (needed on hello).
    public mutating func received(_ message: Message, from peer: PeerID, curveKey: String? = nil, now: SchedulerInstant) {
        if ignoredPeers.contains(peer) { return }
        if case .hello(let hello) = message { return self.hello(hello, from: peer, curveKey: curveKey, now: now) }
        // No copy of the worker's state is kept alive below: a copy would share its lease set, and
        // the next mutation of that set would then copy it whole (once per result).
        guard let name = workers[peer]?.name else {
            // A peer from before a restart, or one that skipped hello: remind it (at most once per
            // heartbeat interval) so that a real worker introduces itself again.
            statistics.malformedMessages += 1
            warn("no-hello", "dropped '\(message.type)' from \(peer), which has not said hello")
            if helloReminders[peer].map({ now - $0 >= configuration.heartbeat }) ?? true {
                if helloReminders.count > SchedulerLimits.rememberedPeers { helloReminders.removeAll() }
                helloReminders[peer] = now
                outputs.append(.send(peer, .error(ProtocolError(code: .helloFirst, message: "this coordinator does not know you: send hello first"))))
            }
            return
        }
        modifyWorker(peer) { $0.lastHeard = now }
        switch message {
        case .ready(let ready):
            grantCredit(ready.credit, to: peer)
        case .results(let results):
            // The leases reported free their places first: the credit is for after them.
            var immediateAcks: [LeaseID] = []
            for report in results.results { accept(report, from: peer, now: now, immediateAcks: &immediateAcks) }
            grantCredit(results.credit, to: peer)
            if !immediateAcks.isEmpty { send(.acknowledge(Acknowledge(leases: immediateAcks)), to: peer, now: now) }
        case .heartbeat, .fetch, .status:
            break   // fetch and status are the shell's (datasets, progress)
        case .goodbye(let goodbye):
            self.goodbye(goodbye, from: peer, now: now)
        default:
            statistics.malformedMessages += 1
            warn("unexpected", "dropped '\(message.type)' from worker \(name): not a worker-to-coordinator message")
        }
    }

    /// A message that could not be decoded. A foreign protocol version is answered once and the
    /// peer ignored from then on; anything else is dropped and counted.
    public mutating func undecodable(from peer: PeerID, foreignSignature: String?, problem: String) {
        if ignoredPeers.contains(peer) { return }
        if let foreignSignature {
            statistics.versionErrors += 1
            warn("version", "peer \(peer) speaks \(foreignSignature); this coordinator speaks versions \(supportedProtocolVersions)")
            refuseVersion(peer, message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); '\(foreignSignature)' is not one of them")
        } else {
            statistics.malformedMessages += 1
            warn("malformed", "dropped a malformed message from \(workers[peer]?.name ?? peer.description): \(problem)")
        }
    }

    mutating func refuseVersion(_ peer: PeerID, message: String) {
        outputs.append(.send(peer, .error(ProtocolError(code: .unsupportedVersion, message: message, supportedVersions: supportedProtocolVersions))))
        ignore(peer)
    }

    /// Ignores a connection from now on (bounded: a flood of new connections cannot grow it without end).
    mutating func ignore(_ peer: PeerID) {
        if ignoredPeers.count >= SchedulerLimits.rememberedPeers { ignoredPeers.removeAll() }
        ignoredPeers.insert(peer)
    }

    mutating func hello(_ hello: Hello, from peer: PeerID, curveKey: String?, now: SchedulerInstant) {
        guard let version = hello.versions.filter(supportedProtocolVersions.contains).max() else {
            statistics.versionErrors += 1
            warn("version", "worker \(hello.worker) speaks protocol versions \(hello.versions); this coordinator speaks \(supportedProtocolVersions)")
            return refuseVersion(peer, message: "this coordinator speaks Minima protocol versions \(supportedProtocolVersions); the worker offered \(hello.versions)")
        }
        if workers[peer] != nil { workerLost(peer, reason: "said hello again", now: now) }
        // A name is printed, logged and stored with every result: short printable text only.
        let name = hello.worker
        guard !name.isEmpty, name.utf8.count <= SchedulerLimits.workerNameBytes,
              name.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            statistics.malformedMessages += 1
            warn("hello", "refused a hello from \(peer): its worker name (\(name.utf8.count) bytes) is empty, longer than \(SchedulerLimits.workerNameBytes) bytes or not printable")
            outputs.append(.send(peer, .error(ProtocolError(code: .invalidHello,
                                                            message: "a worker name is 1 to \(SchedulerLimits.workerNameBytes) bytes of printable text; this one is \(name.utf8.count) bytes"))))
            ignore(peer)
            return
        }
        // Under CURVE the stored name carries the key's first characters: a name alone is anybody's.
        let storedName = curveKey.map { "\(name) (key \($0.prefix(8)))" } ?? name
        if quarantined.contains(storedName) || curveKey.map({ quarantined.contains(Self.quarantineEntry(forKey: $0)) }) == true {
            statistics.refusedQuarantined += 1
            warn("quarantine", "refused worker \(storedName): quarantined after its results disagreed with other workers'")
            outputs.append(.send(peer, .error(ProtocolError(code: .quarantined,
                                                            message: "this coordinator no longer gives \(storedName) trials: its results disagreed with two other workers'"))))
            ignore(peer)
            return
        }
        var worker = WorkerState(peer: peer, name: storedName, identity: curveKey.map { .key($0) }, now: now, kinds: WorkerState.restriction(hello.kinds))
        worker.threads = max(1, min(hello.threads, SchedulerLimits.threadsPerWorker))
        workers[peer] = worker
        grantCredit(hello.credit, to: peer)
        statistics.workersSeen += 1
        info("worker \(storedName) joined (\(hello.threads) threads, \(hello.instructionSet), credit \(hello.credit)); \(workers.count) connected")
        send(.welcome(Welcome(version: version, experiment: experimentName, heartbeatMilliseconds: Int(configuration.heartbeat.milliseconds), liveness: configuration.liveness)),
             to: peer, now: now)
    }

    /// Credit is added up saturating at ``SchedulerConfiguration/maximumCredit`` trials held and
    /// promised: a peer can neither overflow it nor hold more trials than that.
    mutating func grantCredit(_ credit: Int, to peer: PeerID) {
        let maximum = configuration.maximumCredit
        modifyWorker(peer) { worker in
            if worker.acceptsCredit { worker.addCredit(min(max(0, credit), maximum), maximum: maximum) }
        }
    }

    mutating func goodbye(_ goodbye: Goodbye, from peer: PeerID, now: SchedulerInstant) {
        guard var worker = workers[peer] else { return }
        for id in goodbye.returned where worker.leases.contains(id) {
            guard let lease = leases.removeValue(forKey: id) else { continue }
            worker.leases.remove(id)
            leaseEnded(id, lease, countsAsAttempt: false, failure: nil, now: now)
        }
        worker.leaving = true
        worker.revokeCredit()
        workers[peer] = worker
        info("worker \(worker.name) is leaving: \(goodbye.returned.count) unstarted trials back to the queue, \(worker.leases.count) still running")
        if worker.leases.isEmpty { workerLost(peer, reason: "left", counted: false, now: now) }
    }


    // MARK: The clock

    /// Liveness, heartbeats, time limits and speculation. Call at least every half heartbeat.
    public mutating func tick(now: SchedulerInstant) {
        // Throttled workers take trials again when no other worker can: a study never waits
        // for workers that are not there.
        if !workers.values.contains(where: \.canTakeTrials) {
            for peer in Array(workers.keys) where workers[peer]?.throttled == true {
                modifyWorker(peer) { $0.throttled = false; $0.failuresInARow = 0 }
            }
        }
        let deadline = configuration.heartbeat * configuration.liveness
        for peer in Array(workers.keys) {
            guard let worker = workers[peer] else { continue }
            if now - worker.lastHeard > deadline {
                workerLost(peer, reason: "silent for \(configuration.liveness) heartbeats", counted: !worker.leaving || !worker.leases.isEmpty, now: now)
            } else if now - worker.lastSent >= configuration.heartbeat {
                send(.heartbeat, to: peer, now: now)
            }
        }
        if let limit = configuration.trialTimeLimit {
            let expired = leases.filter { $0.value.deadline.map { now > $0 } ?? false }.sorted { $0.key < $1.key }
            for (id, lease) in expired {
                leases.removeValue(forKey: id)
                workers[lease.peer]?.leases.remove(id)
                statistics.expiredLeases += 1
                leaseEnded(id, lease, countsAsAttempt: true, failure: "\(workers[lease.peer]?.name ?? "a worker"): time limit of \(limit.seconds) s exceeded", now: now)
            }
        }
        speculate(now: now)
        dispatch(now: now)
    }

    /// Forgets a worker and puts its leased trials back in the queue at once.
    mutating func workerLost(_ peer: PeerID, reason: String, counted: Bool = true, now: SchedulerInstant) {
        guard let worker = workers.removeValue(forKey: peer) else { return }
        if counted { statistics.workersLost += 1 }
        info("worker \(worker.name) left (\(reason)); \(worker.leases.count) leases back to the queue; \(workers.count) connected")
        for id in worker.leases.sorted() {
            guard let lease = leases.removeValue(forKey: id) else { continue }
            leaseEnded(id, lease, countsAsAttempt: false, failure: counted ? "\(worker.name): \(reason)" : nil, lost: counted, now: now)
        }
        uncommitted.forget(peer)
    }

}
