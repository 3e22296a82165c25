import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a worker runs.
public struct WorkerConfiguration: Sendable {
    public var endpoint: String
    /// Trials run at once, one per thread (default: the machine's cores).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Trials asked for beyond the threads, so that a finished trial's successor is already here.
    public var prefetch = 2
    /// A stable name for logs and the ledger (default host:pid).
    public var name = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    public var heartbeatMilliseconds = 1000
    public var liveness = 3
    /// Reconnect backoff: starts here and doubles up to ``maximumBackoffMilliseconds``.
    public var initialBackoffMilliseconds = 250
    public var maximumBackoffMilliseconds = 8000
    /// On SIGTERM/SIGINT: hand back unstarted trials, then finish running ones (true) or abandon them.
    public var finishRunningOnStop = true
    /// Where fetched datasets are cached, by content hash.
    public var datasetCache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/minima/datasets").path
    /// CURVE: the coordinator's public key and this worker's key pair (Z85).
    public var curve: (serverPublicKey: String, publicKey: String, secretKey: String)?
    /// Exit when the coordinator says it is shutting down (otherwise keep reconnecting).
    public var exitOnShutdown = true
    /// Append a JSON line per finished trial to this file (for tests and debugging).
    public var executionLog: String?
    /// Fault injection for tests of verification: report every result with its final training
    /// loss changed in the last bit, as a worker with broken hardware or a broken build would.
    public var perturbResults = false
    /// Bytes the running trials' memory estimates may add up to (``MemoryEstimate``): a trial
    /// starts only when it fits, one larger than the whole budget fails at once with a message.
    public var memoryBudgetBytes = MachineMemory.defaultBudget

    public init(endpoint: String) { self.endpoint = endpoint }
}

/// How a worker ended.
public struct WorkerSummary: Sendable, Codable {
    public var trialsRun = 0
    public var resultsAcknowledged = 0
    public var reconnects = 0
    public var exitReason = ""
}

public struct WorkerError: Error, CustomStringConvertible, Sendable {
    public var problem: String
    public init(problem: String) { self.problem = problem }
    public var description: String { problem }
}

/// The memory this process may use: the machine's, or its cgroup's limit or its address-space
/// limit when lower (a container, a Slurm job, `ulimit -v`).
public enum MachineMemory {
    /// Physical memory, or the cgroup limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) or
    /// `RLIMIT_AS` if lower; nil when unknown.
    public static var limit: Int? {
        var limits: [Int] = []
        var addressSpace = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        #else
        let resource = RLIMIT_AS
        #endif
        if getrlimit(resource, &addressSpace) == 0, addressSpace.rlim_cur < UInt64(Int.max) {
            limits.append(Int(addressSpace.rlim_cur))
        }
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            limits.append(kilobytes * 1024)
        }
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes > 0 {
                limits.append(bytes)
            }
        }
        return limits.min()
    }

    /// What a worker budgets for its trials by default: 80% of ``limit`` (the rest for the
    /// datasets, the process and the system), or 4 GB when the limit is unknown.
    public static var defaultBudget: Int { limit.map { $0 / 5 * 4 } ?? 4_000_000_000 }
}
