import MinimaProtocol
import ZeroMQ

/// What a fetch gets: a message, or a chunk whose bytes are sent from the archive without a copy.
enum DatasetAnswer {
    case message(Message)
    case chunk(Chunk, SharedBytes, Range<Int>)
}

/// Serves the archives of an experiment's datasets to workers that lack them, in chunks.
///
/// Archives are built on a thread of their own when the coordinator starts, never on the
/// coordinator's loop; a fetch that arrives before its archive is ready waits (at most
/// ``maximumWaitingFetches`` of them) and is answered by ``readyAnswers()``.
final class DatasetServer {
    /// Largest chunk sent for one fetch.
    static let chunkBytes = 4 << 20
    static let maximumWaitingFetches = 1024

    /// A ready archive is in memory once: every chunk queued for any connection references it.
    private enum Archive: Sendable { case building, ready(SharedBytes), unavailable(String) }
    private let archives: ConditionLock<[String: Archive]>
    private let builder: JoinableThread?
    private var waiting: [(PeerID, Fetch)] = []
    /// Bytes of each archive sent to each connection: a connection gets each archive at most
    /// once. What its queue holds is references into the one archive, not copies (300
    /// connections each fetching a whole archive and never reading took 1.8 GB when chunks were
    /// copies).
    private var served: [PeerID: [String: Int]] = [:]
    static let maximumTrackedPeers = 10_000

    init(datasets: [String: String]) {
        let archives = ConditionLock([String: Archive]())
        archives.withLock { state in for sha256 in datasets.keys { state[sha256] = .building } }
        self.archives = archives
        builder = datasets.isEmpty ? nil : JoinableThread(name: "minima-datasets") {
            for (sha256, source) in datasets.sorted(by: { $0.key < $1.key }) {
                let archive: Archive
                do {
                    let made = try DatasetArchive.make(source: source)
                    archive = made.sha256 == sha256 ? .ready(SharedBytes(made.bytes)) : .unavailable("\(source) here has content SHA-256 \(made.sha256), not \(sha256)")
                } catch {
                    archive = .unavailable("cannot read \(source): \(error)")
                }
                archives.withLockBroadcasting { $0[sha256] = archive }
            }
        }
    }

    deinit { builder?.join() }

    /// The answer to a fetch, or nil when it has to wait for its archive.
    func answer(_ fetch: Fetch, from peer: PeerID) -> DatasetAnswer? {
        switch archives.withLock({ $0[fetch.dataset] }) {
        case nil:
            return .message(.error(ProtocolError(code: .unknownDataset, message: "this coordinator serves no dataset \(fetch.dataset)")))
        case .unavailable(let problem)?:
            return .message(.error(ProtocolError(code: .unknownDataset, message: "dataset \(fetch.dataset): \(problem)")))
        case .building?:
            if waiting.count < Self.maximumWaitingFetches { waiting.append((peer, fetch)) }
            return nil
        case .ready(let bytes)?:
            let offset = max(0, min(fetch.offset, bytes.count))
            let length = max(0, min(fetch.length, Self.chunkBytes, bytes.count - offset))
            let sent = served[peer]?[fetch.dataset] ?? 0
            guard sent + length <= bytes.count else {
                return .message(.error(ProtocolError(code: .unknownDataset,
                                                     message: "dataset \(fetch.dataset): this connection has been sent the whole archive already")))
            }
            if served[peer] == nil && served.count >= Self.maximumTrackedPeers { served.removeAll() }
            served[peer, default: [:]][fetch.dataset] = sent + length
            return .chunk(Chunk(dataset: fetch.dataset, offset: offset, total: bytes.count), bytes, offset ..< offset + length)
        }
    }

    /// Answers for waiting fetches whose archives are now ready (call on every loop turn; cheap
    /// when nothing waits).
    func readyAnswers() -> [(PeerID, DatasetAnswer)] {
        guard !waiting.isEmpty else { return [] }
        let pending = waiting
        waiting.removeAll()
        return pending.compactMap { peer, fetch in answer(fetch, from: peer).map { (peer, $0) } }
    }
}
