import Foundation
import Logging
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import ZeroMQ

/// Hands an experiment's trials to workers as leases and keeps every result in the ledger.
///
/// A thin shell around a ``Scheduler``: it owns the sockets (the ROUTER workers connect to, the
/// ZAP handler, the metrics endpoint), feeds the scheduler what arrives and the clock, performs
/// what it decides, and passes its groups to the ``LedgerWriter``, acknowledging results only
/// once their group is durable. Everything but the ledger's commits and the building of
/// dataset archives runs on the thread that calls ``run()`` — the thread that owns the
/// coordinator (it is not `Sendable`: make it where it runs).
public final class Coordinator {
    let plan: ExperimentPlan
    let configuration: CoordinatorConfiguration
    let ledger: Ledger
    let logger: Logger
    private var scheduler: Scheduler
    private let start = ContinuousClock.now
    private var summary = CoordinatorSummary()
    private var commitSeconds = 0.0
    private lazy var prometheus = CoordinatorMetrics(experiment: plan.name)

    /// Called after every commit and at least once a second.
    public var onProgress: ((CoordinatorProgress) -> Void)?
    /// Called once the socket is bound, with the endpoint (the port filled in for `tcp://…:*`).
    public var onBound: ((String) -> Void)?
    /// The endpoint actually bound, once running.
    public private(set) var boundEndpoint: String?
    /// Asked about once a second while trials remain, with the number of connected workers: a
    /// reason to give up (say, every local worker has exited and nobody else is connected), or nil.
    public var giveUpCheck: ((Int) -> String?)?
    /// The page served at `/` of the HTTP port (``CoordinatorConfiguration/httpPort``), fed from
    /// the commits. Without one, `/` serves the metrics.
    public var liveView: (any LiveView)?
    /// When a page was last asked for: open pages get to see the end of the study.
    private var lastPageRequest: SchedulerInstant?
    /// The URL of the HTTP port, once bound.
    public private(set) var httpAddress: String?

    /// Opens (or resumes) the ledger. Throws ``CoordinatorError`` or `LedgerError`, each naming
    /// what is wrong.
    public init(plan: ExperimentPlan, configuration: CoordinatorConfiguration, logger: Logger = .minima("coordinator")) throws {
        try configuration.validate()
        self.plan = plan
        self.configuration = configuration
        self.logger = logger
        if case .none = configuration.security, !configuration.insecure, !isLocalEndpoint(configuration.endpoint) {
            throw CoordinatorError(problem: """
                refusing to bind \(configuration.endpoint) without CURVE keys: anyone who can reach it could take trials and post results. \
                Give --secret-key and --allow (see minima keygen), bind a loopback address, or pass --insecure on a trusted network
                """)
        }
        ledger = try Ledger(path: configuration.ledgerPath, experiment: plan.ledgerIdentity)
        guard ledger.experiment.trialCount == plan.trialCount else {
            throw CoordinatorError(problem: "\(configuration.ledgerPath): holds \(ledger.experiment.trialCount) trials but the plan has \(plan.trialCount)")
        }
        scheduler = Scheduler(configuration: configuration.scheduling, experimentName: plan.name, trialCount: plan.trialCount, trialsPerPoint: plan.trialsPerPoint,
                              finalTrials: try ledger.finalTrials(), quarantined: try ledger.quarantinedWorkers().map(\.worker),
                              leaseIncarnation: UInt64.random(in: 0 ..< (1 << 20)), task: plan.task)
    }

    private var now: SchedulerInstant { ContinuousClock.now - start }

    /// Runs until every trial is final (or a stop signal arrives) and returns what happened.
    public func run() throws -> CoordinatorSummary {
        let context = ZMQContext()
        // Every socket and the context must be gone when run() returns: terminating the context
        // is what waits (up to the linger time) for the last messages — the workers' shutdown —
        // to leave. A process that exits with the context alive may drop them.
        let zap: ZAPHandler?
        if case .curve(_, let allowed) = configuration.security {
            zap = try ZAPHandler(context) { request in
                guard request.mechanism == "CURVE", let key = request.curvePublicKey else { return .refuse(reason: "\(request.mechanism) is not allowed; CURVE only") }
                return allowed.contains(Z85.encode(key)) ? .accept : .refuse(reason: "key not allowed")
            }
        } else {
            zap = nil
        }
        let router = try makeRouter(context)
        let inbound = try InboundGuard(context: context, router: router, logger: logger)
        defer { inbound.stop() }
        let wakeEndpoint = "inproc://minima-ledger-\(UInt64.random(in: 0 ... .max))"
        let committedSignal = try ZMQSocket(context, .pull)
        try committedSignal.set(.linger, 0)
        try committedSignal.bind(wakeEndpoint)
        let writer = LedgerWriter(ledger: ledger, context: context, wakeEndpoint: wakeEndpoint)
        defer { writer.stopAndJoin() }
        let datasets = DatasetServer(datasets: plan.datasets)
        raiseOpenFileLimit()
        let http = try configuration.httpPort.map { port throws(CoordinatorError) in
            try HTTPEndpoint(context, host: configuration.httpHost, port: port, limits: configuration.httpLimits)
        }
        if let liveView {
            scheduler.keepsReceivedOutcomes = true
            liveView.opened(records: try ledger.allRecords(), quarantined: try ledger.quarantinedWorkers(), disputedResults: try ledger.disputedResultCount())
        }
        do { try router.bind(configuration.endpoint) } catch {
            throw CoordinatorError(problem: "cannot bind \(configuration.endpoint): \(error)")
        }
        boundEndpoint = router.lastEndpoint
        if let port = configuration.httpPort {
            let host = configuration.httpHost.contains(":") ? "[\(configuration.httpHost)]" : configuration.httpHost
            httpAddress = "http://\(host):\(port)/"
        }
        onBound?(router.lastEndpoint)
        let counts = scheduler.counts
        logger.info("experiment '\(plan.name)' (\(plan.trialCount) trials, spec \(plan.specSHA256.prefix(12))): \(counts.done) done, \(counts.failed) failed, \(counts.pending) pending; listening on \(router.lastEndpoint)")
        if let httpAddress { logger.info("\(liveView == nil ? "" : "live page at \(httpAddress), ")metrics at \(httpAddress)metrics, health at \(httpAddress)healthz") }

        let sockets = [router, committedSignal] + (zap.map { [$0.socket] } ?? []) + (http.map { [$0.socket] } ?? [])
        let maintenanceInterval = min(Duration.milliseconds(100), configuration.scheduling.heartbeat / 2)
        var lastMaintenance = now
        var lastProgress = now
        while true {
            if StopSignal.requested {
                summary.stoppedBySignal = true
                logger.info("stop requested: no more dispatching; flushing the ledger and telling workers")
                break
            }
            if scheduler.isComplete && !writer.busy {
                logger.info("all \(plan.trialCount) trials are final (\(scheduler.counts.done) done, \(scheduler.counts.failed) failed)")
                break
            }
            let timeout = scheduler.uncommittedRecords > 0 ? max(0, configuration.scheduling.commitInterval.milliseconds) : maintenanceInterval.milliseconds
            let readable = try pollForInput(sockets, timeoutMilliseconds: Int(timeout))
            if readable[0] { try drain(router, datasets: datasets, inbound: inbound) }
            if readable[1] {
                while try committedSignal.receive(dontWait: true) != nil {}
                try applyCommitted(writer)
            }
            if let zap, readable[2] {
                for (request, reason) in try zap.answerPending() {
                    summary.refusedHandshakes += 1
                    logger.warning("zap", "refused a \(request.mechanism) handshake from \(request.address) with key \(request.curvePublicKey.map(Z85.encode) ?? "none"): \(reason)")
                }
            }
            if let http, readable[sockets.count - 1] { try http.serve(now: now, respond: respond) }
            for (peer, answer) in datasets.readyAnswers() { send(answer, router, to: peer) }
            let now = self.now
            if scheduler.commitDue(now: now) && !writer.busy { submit(writer, now: now) }
            if !summary.stoppedBySignal { scheduler.dispatch(now: now) }
            if now - lastMaintenance >= maintenanceInterval {
                lastMaintenance = now
                scheduler.tick(now: now)
                http?.tick(now: now)
            }
            perform(router)
            if now - lastProgress >= configuration.progressInterval {
                lastProgress = now
                onProgress?(progress)
                if let reason = giveUpCheck?(scheduler.connectedWorkers) {
                    try flush(writer, router)
                    throw CoordinatorError(problem: "\(reason); \(scheduler.counts.final) of \(plan.trialCount) trials are final and stored — start workers and run again to continue")
                }
            }
        }
        try flush(writer, router)
        if summary.stoppedBySignal || configuration.stopWhenComplete {
            let reason = summary.stoppedBySignal ? "coordinator stopping" : "complete"
            for peer in scheduler.connectedPeers { sendRaw(router, to: peer, .shutdown(Shutdown(reason: reason))) }
        }
        summary.counts = scheduler.counts
        summary.statistics = scheduler.statistics
        summary.seconds = now.seconds
        summary.quarantinedWorkers = scheduler.quarantinedWorkers
        onProgress?(progress)
        liveView?.finished()
        if configuration.keepRunningWhenComplete && !summary.stoppedBySignal {
            try serveAfterCompletion(router, http: http)
        } else if let http, let asked = lastPageRequest, now - asked < .seconds(10) {
            // Someone is watching the page: let its next refresh show the end.
            try serveAfterCompletion(router, http: http, until: now + .seconds(3))
        }
        return summary
    }

    private func makeRouter(_ context: ZMQContext) throws -> ZMQSocket {
        let router = try ZMQSocket(context, .router)
        try router.set(.linger, 200)
        try router.set(.routerMandatory, true)
        try router.set(.maximumMessageSize, configuration.maximumMessageBytes)
        try router.set(.sendHighWaterMark, configuration.highWaterMark)
        try router.set(.receiveHighWaterMark, configuration.highWaterMark)
        try router.set(.handshakeInterval, 5000)
        if case .curve(let secretKey, _) = configuration.security {
            guard let secret = Z85.decodeKey(secretKey) else { throw CoordinatorError(problem: "the coordinator's secret key is not a Z85 key") }
            try router.set(.curveServer, true)
            try router.set(.curveSecretKey, secret)
            try router.set(.zapDomain, "minima")
        }
        return router
    }

    /// After completion: status, the page, metrics and health until stopped (or `deadline`);
    /// late workers are told to leave.
    private func serveAfterCompletion(_ router: ZMQSocket, http: HTTPEndpoint?, until deadline: SchedulerInstant? = nil) throws {
        if deadline == nil { logger.info("experiment complete; still serving status, the page, metrics and health until stopped") }
        let sockets = [router] + (http.map { [$0.socket] } ?? [])
        while !StopSignal.requested && deadline.map({ now < $0 }) ?? true {
            let readable = try pollForInput(sockets, timeoutMilliseconds: 500)
            if readable[0] {
                while let frames = try router.receive(dontWait: true), frames.count >= 2 {
                    guard let message = try? MessageCodec.decode(Array(frames.dropFirst())) else { continue }
                    switch message {
                    case .status: sendRaw(router, to: PeerID(frames[0]), .progress(json: Array(canonicalJSON(progress).utf8)))
                    case .hello, .ready, .heartbeat: sendRaw(router, to: PeerID(frames[0]), .shutdown(Shutdown(reason: "complete")))
                    default: break
                    }
                }
            }
            if let http {
                if readable.count > 1 && readable[1] { try http.serve(now: now, respond: respond) }
                http.tick(now: now)
            }
        }
    }

    // MARK: HTTP

    /// The HTTP port's resources: the live page, metrics, progress and health.
    private func respond(_ request: HTTPConnections.Request) -> HTTPResponse {
        switch request.path {
        case "/healthz", "/readyz":
            return HTTPResponse(body: "ok\n")
        case "/metrics":
            return HTTPResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: prometheus.text(progress))
        case "/progress.json":
            return HTTPResponse(contentType: "application/json", body: canonicalJSON(progress))
        case "/", "/live":
            guard let liveView else {
                // No page for this plan (a task list, no-op trials): `/` is the metrics, as before.
                return request.path == "/" ? HTTPResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: prometheus.text(progress))
                    : HTTPResponse(.notFound, body: "no live page for this plan; try /metrics, /progress.json or /healthz\n")
            }
            lastPageRequest = now
            let status = LiveStatus(progress: progress, workers: scheduler.connectedWorkerList(now: now), complete: scheduler.isComplete,
                                    stopping: StopSignal.requested, endpoint: boundEndpoint ?? configuration.endpoint)
            return HTTPResponse(contentType: "text/html; charset=utf-8", body: liveView.render(status, fragmentOnly: request.path == "/live", query: request.query),
                                headers: [("Content-Security-Policy", liveView.contentSecurityPolicy)])
        default:
            return HTTPResponse(.notFound, body: "not here; try /, /metrics, /progress.json or /healthz\n")
        }
    }

    /// Raises the soft limit of open files to the hard limit: every worker and every HTTP
    /// connection is a descriptor, and the default soft limit (often 1,024) is far below what a
    /// large study's workers need.
    private func raiseOpenFileLimit() {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    // MARK: Receiving

    private func drain(_ router: ZMQSocket, datasets: DatasetServer, inbound: InboundGuard) throws {
        var handled = 0
        // Under CURVE every message carries the key the ZAP handler authenticated: the worker's identity.
        let keyProperty: String? = if case .curve = configuration.security { "User-Id" } else { nil }
        // A message is a few frames of at most the inbound limit each; one far larger is dropped uncopied.
        let copyLimit = Int(configuration.maximumMessageBytes) + (64 << 10)
        while handled < 10_000, let received = try router.receive(dontWait: true, property: keyProperty, copyingAtMost: copyLimit) {
            handled += 1
            let frames = received.frames, curveKey = received.property
            inbound.took(received.bytes - (frames.first?.count ?? 0), frames: received.frameCount - 1, from: received.sourceDescriptor)
            let peer = PeerID(frames[0])   // a received message has at least its routing id
            if received.truncated {
                scheduler.undecodable(from: peer, foreignSignature: nil,
                                      problem: "a message of \(received.bytes) bytes in \(received.frameCount - 1) frames; a Minima message is at most \(copyLimit) bytes")
                continue
            }
            guard frames.count >= 2 else { continue }
            let message: Message
            do { message = try MessageCodec.decode(Array(frames.dropFirst())) } catch {
                scheduler.undecodable(from: peer, foreignSignature: error.signature, problem: "\(error)")
                continue
            }
            switch message {
            case .status:
                sendRaw(router, to: peer, .progress(json: Array(canonicalJSON(progress).utf8)))
            case .fetch(let fetch) where scheduler.knows(peer):
                scheduler.received(message, from: peer, now: now)
                if let answer = datasets.answer(fetch, from: peer) { send(answer, router, to: peer) }
            default:
                scheduler.received(message, from: peer, curveKey: curveKey, now: now)
            }
        }
    }

    // MARK: Committing

    /// Before stopping: waits for the group in flight, commits what is left, and sends the acks.
    private func flush(_ writer: LedgerWriter, _ router: ZMQSocket) throws {
        writer.waitUntilIdle()
        try applyCommitted(writer)
        submit(writer, now: now)   // whatever is pending, due or not
        writer.waitUntilIdle()
        try applyCommitted(writer)
        perform(router)
    }

    private func submit(_ writer: LedgerWriter, now: SchedulerInstant) {
        guard let group = scheduler.takeGroup() else { return }
        if group.batch.isEmpty {
            // Only acknowledgements that waited for an earlier group: nothing to write.
            scheduler.committed(group, LedgerBatch.Result(), now: now)
        } else {
            writer.submit(group)
        }
    }

    /// Applies groups the writer has made durable: the scheduler sends the acks that waited on them.
    private func applyCommitted(_ writer: LedgerWriter) throws {
        for committed in writer.takeCommitted() {
            switch committed.outcome {
            case .success(let result):
                commitSeconds += committed.seconds
                scheduler.committed(committed.group, result, now: now)
                liveView?.committed(committed.group, result)
            case .failure(let error):
                throw CoordinatorError(problem: "ledger commit failed, stopping without acknowledging: \(error)")
            }
            onProgress?(progress)
        }
    }

    // MARK: Sending

    /// Sends and logs what the scheduler decided.
    private func perform(_ router: ZMQSocket) {
        for output in scheduler.takeOutputs() {
            switch output {
            case .send(let peer, let message): sendRaw(router, to: peer, message)
            case .log(let line):
                switch line.level {
                case .info: logger.info("\(line.text)")
                case .warning: logger.warning(line.category, line.text)
                }
            }
        }
    }

    private func send(_ answer: DatasetAnswer, _ router: ZMQSocket, to peer: PeerID) {
        switch answer {
        case .message(let message):
            sendRaw(router, to: peer, message)
        case .chunk(let chunk, let archive, let range):
            do {
                // The header frames as the codec writes them, then the bytes straight from the archive.
                let header = MessageCodec.encode(.chunk(chunk, bytes: [])).dropLast()
                try router.send([peer.bytes] + header, thenSharing: archive, range: range, dontWait: true)
            } catch {
                logger.warning("send", "could not send a dataset chunk to \(scheduler.name(of: peer) ?? peer.description): \(error)")
            }
        }
    }

    private func sendRaw(_ router: ZMQSocket, to peer: PeerID, _ message: Message) {
        do {
            try router.send([peer.bytes] + MessageCodec.encode(message), dontWait: true)
        } catch {
            // EHOSTUNREACH: the peer is gone; liveness will clean up. EAGAIN: it is not reading.
            logger.warning("send", "could not send '\(message.type)' to \(scheduler.name(of: peer) ?? peer.description): \(error)")
        }
    }

    // MARK: Progress

    public var progress: CoordinatorProgress {
        CoordinatorProgress(experiment: plan.name, counts: scheduler.counts, leasesOut: scheduler.leasesOut, workers: scheduler.connectedWorkers,
                            threads: scheduler.connectedThreads,
                            uncommitted: scheduler.uncommittedRecords, quarantinedWorkers: scheduler.quarantinedWorkers,
                            verificationsOutstanding: scheduler.verificationsOutstanding, statistics: scheduler.statistics,
                            points: scheduler.points, trialsPerPoint: plan.trialsPerPoint, commitSeconds: commitSeconds, seconds: now.seconds)
    }
}

/// A snapshot of a running coordinator (`minima status`, `/metrics`, the progress display).
public struct CoordinatorProgress: Sendable, Codable {
    public var experiment: String
    /// The trials by state; they add up to the trial count.
    public var counts: TrialCounts
    /// Leases out: running trials plus speculative and verification copies.
    public var leasesOut: Int
    public var workers: Int
    /// Trials the connected workers run at once (their threads).
    public var threads: Int?
    public var uncommitted: Int
    public var quarantinedWorkers: [String]
    public var verificationsOutstanding: Int
    public var statistics: SchedulerStatistics
    /// Final trials per sweep point (empty when the experiment has no points).
    public var points: [PointProgress]
    /// Trials per sweep point (the restarts; nil when the experiment has no points).
    public var trialsPerPoint: Int?
    public var commitSeconds: Double
    public var seconds: Double

    /// The indices of the sweep points whose trials are all final.
    public var pointsDone: [Int] {
        guard let perPoint = trialsPerPoint else { return [] }
        return points.indices.filter { p in
            let size = min(perPoint, counts.total - p * perPoint)
            return points[p].done + points[p].failed >= size
        }
    }
}

extension ExperimentPlan {
    var ledgerIdentity: StoredExperiment {
        StoredExperiment(name: name, specJSON: specJSON, specSHA256: specSHA256, trialCount: trialCount)
    }
}
