import Foundation
import MinimaCore
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaRuntime

/// The page a coordinator serves at `/` while a study runs: progress per sweep point with the
/// time left, the workers, the latest failures, and the report's own summary table and figures
/// drawn from the results so far (the same code as `report.html`).
///
/// Cheap for the coordinator by construction. Its calls only queue what a commit changed (no
/// decoding, no drawing) or copy the last drawing into a page. A thread of the page's own
/// decodes each result once (or takes it as the coordinator received it), keeps the study's rows,
/// and redraws only when results changed, at most every ``Options/redrawInterval`` and never
/// more than a tenth of its time (a drawing of 100,000 results that takes 0.7 s waits 6.3 s) —
/// from those rows, never from the ledger.
/// When the study ends it draws once more, so the last page equals the final report. A page
/// that already shows the latest drawing is sent only the progress with its refresh.
///
/// The page refreshes itself (a small inline script fetching `live`; without scripts, a plain
/// refresh) and stops when the study is done; it loads nothing from elsewhere, so it works on a
/// cluster node without internet, and its Content-Security-Policy forbids anything else.
public final class LivePage: LiveView, Sendable {
    public struct Options: Sendable {
        /// The least time between two drawings of the results.
        public var redrawInterval: Duration = .seconds(2)
        /// How often the page asks for an update.
        public var refreshSeconds = 2.0
        /// Failures listed on the page (the most recent).
        public var recentFailures = 12
        /// Where the report is written when the study ends (shown on the page; nil: not known).
        public var reportPath: String?
        public init() {}
    }

    /// What the study is, for the page (immutable; shared with the drawing thread).
    struct Study: Sendable {
        var stored: StoredSpec
        var specSHA256: String
        var labels: [String]
        var remaining: RemainingTime
        var options: Options
    }

    /// The results part of the page as last drawn, and the report it was drawn from.
    public struct Drawing: Sendable {
        public var html: String
        public var report: ExperimentReport?
        /// Results the drawing includes (the count of changes applied).
        public var version: Int
        /// Seconds spent building the report from the rows and drawing its figures and page.
        public var buildSeconds = 0.0
        public var drawSeconds = 0.0
    }

    let study: Study
    private let mailbox: Mailbox

    /// A page for `stored`'s study. `workPerTrial`: each sweep point's cost per trial (the
    /// `--dry-run` estimate) for the time left.
    public init(stored: StoredSpec, specSHA256: String, workPerTrial: [Double], options: Options = Options()) {
        let spec = stored.spec
        let varying = spec.varyingDimensions
        study = Study(stored: stored, specSHA256: specSHA256, labels: spec.sweepPoints.map { spec.label(of: $0, varying: varying) },
                      remaining: RemainingTime(priorCost: workPerTrial, restarts: spec.restarts), options: options)
        mailbox = Mailbox()
        let drawer = Drawer(study: study)
        let mailbox = self.mailbox
        let thread = Thread { drawer.run(mailbox) }
        thread.name = "minima-live-page"
        thread.start()
    }

    deinit { mailbox.stop() }

    // MARK: LiveView (the coordinator's thread)

    public func opened(records: [TrialRecord], quarantined: [Quarantine], disputedResults: Int) {
        mailbox.post(records.map { Change.stored($0, nil) } + quarantined.map(Change.quarantined) + [.disputed(disputedResults)])
    }

    public func committed(_ group: LedgerGroup, _ result: LedgerBatch.Result) {
        let batch = group.batch
        var changes: [Change] = []
        for (record, disposition) in zip(batch.records, result.dispositions) where disposition == .stored {
            // The outcome as the scheduler received it saves decoding its JSON again, when it
            // is the one the record holds.
            let received = group.receivedOutcomes[record.trial].flatMap { $0.fingerprint == record.fingerprint ? $0.outcome : nil }
            changes.append(.stored(record, received))
        }
        changes += batch.replacements.map(Change.replaced)
        changes += batch.quarantines.map(Change.quarantined)
        changes += result.invalidatedTrials.map(Change.invalidated)
        if !batch.replacements.isEmpty || !result.invalidatedTrials.isEmpty { changes.append(.disputedBy(batch.replacements.count + result.invalidatedTrials.count)) }
        if !changes.isEmpty { mailbox.post(changes) }
    }

    public func finished() { mailbox.drawNow(timeout: .seconds(60)) }

    /// The last drawing (for tests and the benchmark: what the page shows of the results).
    public var drawing: Drawing { mailbox.drawing }

    public func render(_ status: LiveStatus, fragmentOnly: Bool, query: String = "") -> String {
        let (drawing, current) = mailbox.drawingAndWhetherCurrent
        // "Done" only once the drawing holds every result: the page stops refreshing there.
        var status = status
        let finishing = status.complete && !current
        if finishing { status.complete = false }
        // A refresh that already shows this drawing gets the progress only.
        let shown = query.split(separator: "&").first { $0.hasPrefix("have=") }.flatMap { Int($0.dropFirst(5)) }
        let results = fragmentOnly && shown == drawing.version
            ? "<div id=\"results\" data-version=\"\(drawing.version)\" data-unchanged=\"1\"></div>"
            : "<div id=\"results\" data-version=\"\(drawing.version)\">\(drawing.html)</div>"
        let fragment = "<div id=\"progress\">" + LivePageHTML.progress(status, study: study, serial: mailbox.nextSerial(), finishing: finishing) + "</div>\n" + results
        return fragmentOnly ? fragment : LivePageHTML.page(fragment: fragment, title: study.stored.spec.name, refresh: !status.complete, options: study.options)
    }

    public var contentSecurityPolicy: String { LivePageHTML.contentSecurityPolicy }
}

// MARK: - Between the coordinator's thread and the drawing thread

/// What a commit changed, in the ledger's order.
enum Change: Sendable {
    /// A new final record, with its outcome when it is already decoded.
    case stored(TrialRecord, TaskOutcome?)
    case replaced(TrialRecord)
    case quarantined(Quarantine)
    case invalidated(Int)
    case disputed(Int)
    case disputedBy(Int)
}

/// The one place the two threads meet: changes in, drawings out, under one lock.
final class Mailbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [Change] = []
    private var posted = 0
    private var drawn = LivePage.Drawing(html: "<p class=\"meta\">No results drawn yet.</p>", report: nil, version: -1)
    private var urgent = false
    private var stopped = false
    /// Pages and fragments served: numbers each one, so that a browser test can tell a
    /// refreshed fragment from the first.
    private var served = 0

    func nextSerial() -> Int {
        condition.lock()
        defer { condition.unlock() }
        served += 1
        return served
    }

    func post(_ changes: [Change]) {
        condition.lock()
        pending += changes
        posted += changes.count
        condition.unlock()
    }

    var drawing: LivePage.Drawing {
        condition.lock()
        defer { condition.unlock() }
        return drawn
    }

    /// The last drawing, and whether it holds every change posted so far.
    var drawingAndWhetherCurrent: (LivePage.Drawing, Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (drawn, drawn.version >= posted)
    }

    /// Asks for a drawing of everything posted so far and waits for it (at most `timeout`).
    func drawNow(timeout: Duration) {
        condition.lock()
        defer { condition.unlock() }
        let wanted = posted
        urgent = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        while drawn.version < wanted && !stopped && Date() < deadline { condition.wait(until: deadline) }
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// The drawing thread's wait: the changes to apply and their count so far, once something
    /// changed and `interval` has passed since the last drawing (or a drawing is asked for);
    /// nil when stopped.
    func nextChanges(after lastDrawn: Date, interval: Duration) -> (changes: [Change], version: Int)? {
        condition.lock()
        defer { condition.unlock() }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while !stopped {
            let changed = posted > drawn.version
            if changed && (urgent || Date().timeIntervalSince(lastDrawn) >= seconds) { break }
            condition.wait(until: Date().addingTimeInterval(changed ? max(0.01, seconds - Date().timeIntervalSince(lastDrawn)) : 0.5))
        }
        guard !stopped else { return nil }
        urgent = false
        defer { pending.removeAll(keepingCapacity: true) }
        return (pending, posted)
    }

    func publish(_ drawing: LivePage.Drawing) {
        condition.lock()
        drawn = drawing
        condition.broadcast()
        condition.unlock()
    }
}

/// The drawing thread's state: the study's rows, each decoded once, and what the page lists.
final class Drawer: @unchecked Sendable {
    let study: LivePage.Study
    private let kind: any ReportKind.Type
    private let decoder = MessageCodec.makeDecoder()
    private var rows: [TrialRow]
    private var quarantined: [ExperimentReport.QuarantinedWorker] = []
    private var disputed = 0
    /// The latest failures, oldest first: trial, worker, reason.
    private var failures: [(trial: Int, worker: String, reason: String)] = []

    init(study: LivePage.Study) {
        self.study = study
        let spec = study.stored.spec
        kind = ReportKinds.kind(of: spec)
        rows = (0..<spec.trialCount).map { TrialRow(trial: $0, point: $0 / spec.restarts, restart: $0 % spec.restarts, state: "pending", outcome: nil, status: nil, worker: nil, seconds: nil, failure: nil) }
    }

    func run(_ mailbox: Mailbox) {
        var lastDrawn = Date.distantPast
        var interval = study.options.redrawInterval
        while let (changes, version) = mailbox.nextChanges(after: lastDrawn, interval: interval) {
            let start = Date()
            apply(changes)
            mailbox.publish(draw(version: version))
            lastDrawn = Date()
            // Drawing takes at most a tenth of this thread's time, however large the study.
            let took = lastDrawn.timeIntervalSince(start)
            interval = max(study.options.redrawInterval, .milliseconds(Int64(took * 9000)))
        }
    }

    func apply(_ changes: [Change]) {
        let restarts = study.stored.spec.restarts
        for change in changes {
            switch change {
            case .stored(let record, let outcome):
                guard rows.indices.contains(record.trial) else { continue }
                rows[record.trial] = TrialRow(trial: record.trial, record: record, outcome: outcome, restarts: restarts, kind: kind, decoder: decoder)
                if record.state == .failed {
                    failures.append((record.trial, record.worker ?? "–", record.failure ?? "no reason given"))
                    if failures.count > study.options.recentFailures { failures.removeFirst(failures.count - study.options.recentFailures) }
                }
            case .replaced(let record):
                guard rows.indices.contains(record.trial) else { continue }
                var row = TrialRow(trial: record.trial, record: record, restarts: restarts, kind: kind, decoder: decoder)
                row.state = rows[record.trial].state
                rows[record.trial] = row
            case .quarantined(let quarantine):
                quarantined.append(ExperimentReport.QuarantinedWorker(worker: quarantine.worker, reason: quarantine.reason))
            case .invalidated(let trial):
                guard rows.indices.contains(trial) else { continue }
                rows[trial] = TrialRow(trial: trial, record: nil, restarts: restarts, kind: kind, decoder: decoder)
            case .disputed(let count): disputed = count
            case .disputedBy(let count): disputed += count
            }
        }
    }

    /// The report from the rows so far, as the final report builds it.
    func report() -> ExperimentReport {
        var report = ExperimentReport.build(stored: study.stored, specSHA256: study.specSHA256, rows: rows)
        report.quarantinedWorkers = quarantined
        report.disputedResults = disputed
        return report
    }

    func draw(version: Int) -> LivePage.Drawing {
        let start = Date()
        let report = report()
        let built = Date()
        let input = FigureInput(report: report, rows: rows, spec: study.stored.spec, kind: kind)
        let figures = ReportWriter.draw(input)
        let html = LivePageHTML.results(input, figures: figures, failures: failures)
        return LivePage.Drawing(html: html, report: report, version: version, buildSeconds: built.timeIntervalSince(start), drawSeconds: Date().timeIntervalSince(built))
    }
}
