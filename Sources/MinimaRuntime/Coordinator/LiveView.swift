import MinimaLedger

/// A page about the study that the coordinator serves at `/` of its HTTP port while the study
/// runs (MinimaReport's `LivePage` is the one `minima run` and `minima coordinator` use).
///
/// The coordinator feeds it from its own state — the ledger's trials once when it opens it, then
/// what each commit changed — and never re-reads the ledger for it. Every call is made on the
/// coordinator's thread and must return quickly: the work of drawing belongs on a thread of the
/// view's own.
public protocol LiveView: AnyObject {
    /// The trials final in the ledger when the coordinator opened it (a resumed study's), with
    /// its quarantined workers and the number of results taken back. Called once, first.
    func opened(records: [TrialRecord], quarantined: [Quarantine], disputedResults: Int)
    /// What a durable commit changed: its new records (with their dispositions: only `.stored`
    /// ones are new; their outcomes as received in ``LedgerGroup/receivedOutcomes``),
    /// replacements, quarantines and the trials they made pending again.
    func committed(_ group: LedgerGroup, _ result: LedgerBatch.Result)
    /// Every trial is final (or the coordinator stops): bring the page up to date now.
    func finished()
    /// The whole page, or (`fragmentOnly`) the part that the page's own refresh replaces;
    /// `query`: the request's query (the refresh says which drawing it already shows).
    func render(_ status: LiveStatus, fragmentOnly: Bool, query: String) -> String
    /// The page's Content-Security-Policy header: what the page may load and run.
    var contentSecurityPolicy: String { get }
}

/// What the page shows of the coordinator itself, taken when it is asked for.
public struct LiveStatus: Sendable {
    public var progress: CoordinatorProgress
    public var workers: [ConnectedWorker]
    /// Every trial is final.
    public var complete: Bool
    /// The coordinator stops (a signal) without every trial final.
    public var stopping: Bool
    /// The endpoint workers connect to.
    public var endpoint: String
}

/// One connected worker, as the scheduler sees it.
public struct ConnectedWorker: Sendable, Codable, Equatable {
    /// The name it gave in its hello (shortened to 80 characters; peers choose it).
    public var name: String
    public var threads: Int
    /// Leases it holds now.
    public var leases: Int
    /// Leases it has reported on this connection.
    public var reported: Int
    public var connectedSeconds: Double
    /// Seconds since it was last heard from.
    public var silentSeconds: Double
    public var leaving: Bool
    public var quarantined: Bool
}
