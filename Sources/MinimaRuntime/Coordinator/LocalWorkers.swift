import Foundation

/// Worker processes started by a coordinator on its own machine (the local mode).
/// Owned by the thread that runs the coordinator (its onBound callback starts them).
public final class LocalWorkers {
    /// The `minima` binary the workers run (by default this process's own executable).
    private let executable: URL

    public init(executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()) { self.executable = executable }

    private var processes: [Process] = []

    public func start(count: Int, endpoint: String, threads: Int, prefetch: Int, quiet: Bool = false, extraArguments: [String] = []) {
        for index in 0..<count {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--connect", endpoint, "--threads", "\(threads)", "--prefetch", "\(prefetch)",
                                 "--name", "local-\(index)-\(ProcessInfo.processInfo.processIdentifier)"] + extraArguments
            if quiet { process.standardError = FileHandle.nullDevice }
            do { try process.run(); processes.append(process) } catch {
                FileHandle.standardError.write(Data("could not start local worker \(index): \(error)\n".utf8))
            }
        }
    }

    /// Why the study cannot go on, if every started worker has exited and none is connected.
    public func allExited(connected: Int) -> String? {
        guard !processes.isEmpty, connected == 0, processes.allSatisfy({ !$0.isRunning }) else { return nil }
        let statuses = Set(processes.map(\.terminationStatus)).sorted().map(String.init).joined(separator: ", ")
        return "all \(processes.count) local workers exited (status \(statuses)) and no worker is connected"
    }

    public func waitOrTerminate(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        for process in processes {
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { process.terminate() }
        }
    }
}

