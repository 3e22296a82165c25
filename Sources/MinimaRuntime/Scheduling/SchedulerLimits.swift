/// The scheduler's fixed limits, each with its reason. (The limits a user may change — heartbeat,
/// attempts, credit, commit interval — are ``SchedulerConfiguration``'s.)
enum SchedulerLimits {
    /// The most leases in one `trials` message: keeps one message under ~100 kB of no-op leases
    /// and lets other workers' messages interleave with a large grant.
    static let leasesPerMessage = 1024
    /// Pending trials one dispatch may set aside for other workers' kinds before giving up on
    /// this worker for the round: bounds the work one restricted worker causes per event.
    static let setAsideScan = 4096
    /// Verification candidates looked at per lease: a worker that already gave its opinion on
    /// many trials must not make dispatch walk the whole queue.
    static let verificationQueueScan = 64
    /// Peers remembered as ignored or as reminded to say hello: a flood of new connections
    /// cannot grow either set without end (forgetting only costs one more reminder).
    static let rememberedPeers = 10_000
    /// The most threads a hello may claim: the ETA divides by the threads, and a hostile value
    /// must not make it meaningless.
    static let threadsPerWorker = 1 << 16
    /// Distinct repeated outcomes (no-op, sleep) whose stored form is cached.
    static let cachedOutcomeEncodings = 1024
    /// Lease ids are `incarnation << 32 | n` with the incarnation below 2²⁰, so that ids stay
    /// below 2⁵² and every JSON reader keeps them exact.
    static let leaseIncarnations: UInt64 = 1 << 20
    /// The longest worker name a hello may give, in bytes: names go into every log line, event
    /// and result row of the worker (a 1 MiB name made each forged report a megabyte of ledger).
    static let workerNameBytes = 128
    /// Results for trials final before this run that one connection may have compared with the
    /// stored bits (each mismatch is an `events` row); beyond it they are acknowledged uncompared.
    static let comparisonsPerConnection = 64
    /// … and all connections together, in one run of the coordinator.
    static let comparisonsPerRun = 10_000
    /// Failures in a row, with no result between them, after which a connection gets no more
    /// trials while other workers can take them: its failures are its own problem, not the
    /// study's (a peer that fails everything it takes once failed 372 of 400 trials in 0.18 s).
    static let failuresInARowBeforeThrottle = 16
}
