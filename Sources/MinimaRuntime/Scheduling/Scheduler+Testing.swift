import MinimaLedger
import MinimaProtocol

// Invariant checks for the tests (swift-collections' `Deque+Testing.swift`): not part of the
// scheduler's public interface.
extension Scheduler {
    // MARK: Checking the invariants (tests)

    /// Throws a description of the first broken invariant, if any: leases held once, credit never
    /// exceeded, the trial counts partitioning the trials.
    package func checkInvariants() throws(SchedulerInvariantViolation) {
        var held = Set<LeaseID>()
        for worker in workers.values {
            for id in worker.leases {
                guard held.insert(id).inserted else { throw SchedulerInvariantViolation("lease \(id) is held by two workers") }
                guard let lease = leases[id], lease.peer == worker.peer else { throw SchedulerInvariantViolation("worker \(worker.name) holds lease \(id), which the scheduler does not give it") }
            }
            guard worker.credit >= 0, worker.credit + worker.leases.count <= configuration.maximumCredit else {
                throw SchedulerInvariantViolation("worker \(worker.name) has credit \(worker.credit) with \(worker.leases.count) leases held")
            }
            guard worker.issued <= worker.granted else {
                throw SchedulerInvariantViolation("worker \(worker.name) was sent \(worker.issued) leases for \(worker.granted) credit")
            }
            guard worker.proven || worker.leases.count <= configuration.newPeerCredit else {
                throw SchedulerInvariantViolation("worker \(worker.name) holds \(worker.leases.count) leases before returning a result (limit \(configuration.newPeerCredit))")
            }
        }
        guard held.count == leases.count else { throw SchedulerInvariantViolation("\(leases.count - held.count) leases belong to no connected worker") }
        guard counts.total == trialCount, counts.pending >= 0, counts.running >= 0, counts.done >= 0, counts.failed >= 0 else {
            throw SchedulerInvariantViolation("counts \(counts) do not partition \(trialCount) trials")
        }
        let running = Set(leases.values.filter { $0.kind != .verification }.map(\.trial))
        guard running.count == counts.running else { throw SchedulerInvariantViolation("\(running.count) trials have leases out but \(counts.running) are counted running") }
    }
}
