import ArgumentParser
import Foundation
import MinimaCore
import MinimaExperiment
import MinimaLedger
import MinimaProtocol
import MinimaReport
import MinimaRuntime

/// What the live page costs the coordinator: a study of the cheapest real trials (tiny spin
/// glasses, thousands per second) through a coordinator and 2 local worker processes, without
/// and with the page open — a client refreshing it as its script does every `--fetch-interval` seconds — in
/// alternating rounds (ABBA), and the time to draw and to serve the page once all trials are done.
struct LivePageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live-page",
        abstract: "The live page's cost: dispatch without and with a page open, and serving it with every trial done.")

    @Option(help: "Trials per run (tiny spin glasses; four sweep points).")
    var trials = 100_000
    @Option(help: "Rounds; each runs both sides, in ABBA order.")
    var rounds = 4
    @Option(name: .customLong("fetch-interval"), help: "Seconds between the open page's requests.")
    var fetchInterval = 2.0
    @Option(help: "Local worker processes.")
    var workers = 2
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func validate() throws {
        guard trials >= 4 && trials % 4 == 0 && trials <= 10_000_000 else { throw ValidationError("--trials: a multiple of 4 up to 10⁷, got \(trials)") }
        guard (1...50).contains(rounds) else { throw ValidationError("--rounds: 1 to 50, got \(rounds)") }
        guard fetchInterval.isFinite && fetchInterval >= 0.05 else { throw ValidationError("--fetch-interval: at least 0.05 s, got \(fetchInterval)") }
    }

    var yaml: String {
        """
        name: live-page-bench
        kind: spin-glass
        seed: 1
        restarts: \(trials / 4)
        spin-glass: {order: 3, spins: [4, 5, 6, 7], couplings: shared}
        optimizer: {learning-rate: 0.2, noise: 0}
        stopping: {steps: 50, gradient-tolerance: 1e-5}
        report: {bins: 40}
        """
    }

    struct Side: Codable {
        var trialsPerSecond: [Double] = []
        var medianTrialsPerSecond = 0.0
        /// With the page: each request's wall time as the client measured it (ms).
        var pageMilliseconds: [Double]?
    }

    struct Served: Codable {
        var trialsDone: Int
        /// From the ledger's records to the page: decoding every result, building the report, drawing.
        var drawSeconds: Double
        /// Of the last drawing: building the report from the decoded rows, and drawing the figures
        /// and the page (what a redraw during a run costs).
        var reportBuildSeconds: Double
        var figureDrawSeconds: Double
        var pageBytes: Int
        var serveMilliseconds: [Double]
        var medianServeMilliseconds: Double
    }

    struct Report: Codable {
        var benchmark = "live-page"
        var cpu = cpuModelName()
        var instructionSet = buildInstructionSet
        var trials: Int
        var workers: Int
        var fetchIntervalSeconds: Double
        var rounds: Int
        var order = "ABBA: odd rounds without the page first, even rounds with it first"
        var withoutPage: Side
        var withPage: Side
        /// Median with / median without.
        var ratio: Double
        var perRoundRatios: [Double]
        var servedWithAllTrialsDone: Served
    }

    func run() throws {
        try requireSupportedCPU()
        let experiment = try ResolvedExperiment.resolve(try SpecParser.parse(yaml: yaml, file: "live-page-bench.yaml"), text: yaml)
        var without = Side(), with = Side(pageMilliseconds: [])
        var lastLedger: String?
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("minima-live-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for round in 1...rounds {
            for page in round % 2 == 1 ? [false, true] : [true, false] {
                let ledger = scratch.appendingPathComponent("r\(round)-\(page).sqlite").path
                let (rate, fetches) = try runOnce(experiment, ledger: ledger, page: page)
                if page { with.trialsPerSecond.append(rate); with.pageMilliseconds! += fetches; lastLedger = ledger } else { without.trialsPerSecond.append(rate) }
                FileHandle.standardError.write(Data("round \(round) \(page ? "with" : "without") the page: \(Int(rate)) trials/s\(page ? ", \(fetches.count) page requests" : "")\n".utf8))
            }
        }
        without.medianTrialsPerSecond = Timings(samples: without.trialsPerSecond).median
        with.medianTrialsPerSecond = Timings(samples: with.trialsPerSecond).median
        let served = try serve(experiment, ledger: try requireLedger(lastLedger))
        let report = Report(trials: trials, workers: workers, fetchIntervalSeconds: fetchInterval, rounds: rounds, withoutPage: without, withPage: with,
                            ratio: (with.medianTrialsPerSecond / without.medianTrialsPerSecond * 1000).rounded() / 1000,
                            perRoundRatios: zip(with.trialsPerSecond, without.trialsPerSecond).map { ($0 / $1 * 1000).rounded() / 1000 },
                            servedWithAllTrialsDone: served)
        print(try printableJSON(report, pretty: pretty))
    }

    /// One run of the study; with the page, a client asks for it every `fetchInterval` seconds.
    private func runOnce(_ experiment: ResolvedExperiment, ledger: String, page: Bool) throws -> (Double, [Double]) {
        var configuration = CoordinatorConfiguration(endpoint: "tcp://127.0.0.1:*", ledgerPath: ledger)
        let port = page ? try freeTCPPort() : nil
        configuration.httpPort = port
        let coordinator = try Coordinator(plan: experiment.plan, configuration: configuration, logger: .minima("bench", quiet: true))
        if page { coordinator.liveView = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial) }
        let local = LocalWorkers(executable: minimaExecutable)
        coordinator.onBound = { endpoint in local.start(count: workers, endpoint: endpoint, threads: 1, prefetch: 2, quiet: true) }
        let client = port.map { PageClient(port: $0, interval: fetchInterval) }
        let summary = try coordinator.run()
        let fetches = client?.stop() ?? []
        local.waitOrTerminate(seconds: 5)
        guard summary.counts.done == trials else { throw BenchFailure("only \(summary.counts.done) of \(trials) trials done") }
        return ((Double(trials) / summary.seconds).rounded(), fetches)
    }

    /// A coordinator on the finished ledger keeps serving: the page is drawn from all its
    /// trials (timed), then fetched 20 times.
    private func serve(_ experiment: ResolvedExperiment, ledger: String) throws -> Served {
        var configuration = CoordinatorConfiguration(endpoint: "tcp://127.0.0.1:*", ledgerPath: ledger)
        let port = try freeTCPPort()
        configuration.httpPort = port
        configuration.keepRunningWhenComplete = true
        let coordinator = try Coordinator(plan: experiment.plan, configuration: configuration, logger: .minima("bench", quiet: true))
        let live = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial)
        coordinator.liveView = live
        let result = Locked<Served?>(nil)
        let client = Thread {
            // The coordinator hands the page every stored trial when it opens the ledger; the
            // drawing is timed from there.
            let start = Date()
            while live.drawing.report?.done != trials && Date().timeIntervalSince(start) < 600 { Thread.sleep(forTimeInterval: 0.01) }
            let drawSeconds = Date().timeIntervalSince(start)
            var times: [Double] = [], bytes = 0
            for _ in 0..<20 {
                let begin = Date()
                bytes = (try? httpGet(port: port, path: "/"))?.count ?? 0
                times.append((Date().timeIntervalSince(begin) * 1e5).rounded() / 100)
            }
            let drawing = live.drawing
            result.value = Served(trialsDone: drawing.report?.done ?? 0, drawSeconds: (drawSeconds * 1000).rounded() / 1000,
                                  reportBuildSeconds: (drawing.buildSeconds * 1000).rounded() / 1000, figureDrawSeconds: (drawing.drawSeconds * 1000).rounded() / 1000, pageBytes: bytes,
                                  serveMilliseconds: times, medianServeMilliseconds: Timings(samples: times).median)
            StopSignal.request()
        }
        client.start()
        _ = try coordinator.run()
        StopSignal.reset()
        guard let served = result.value else { throw BenchFailure("the page was not served") }
        return served
    }
}

private func requireLedger(_ path: String?) throws -> String {
    guard let path else { throw BenchFailure("no run with the page") }
    return path
}

/// A value shared between threads, under a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// A reader who keeps the page open, as its script does: `/` once, then `live?have=V` every
/// `interval` seconds (V: the drawing it shows), each timed.
final class PageClient: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Double] = []
    private var stopped = false
    private var thread: Thread?

    init(port: Int, interval: Double) {
        thread = Thread { [self] in
            var shown: String?
            while !isStopped {
                let begin = Date()
                if let response = try? httpGet(port: port, path: shown.map { "/live?have=\($0)" } ?? "/") {
                    lock.withLock { times.append((Date().timeIntervalSince(begin) * 1e5).rounded() / 100) }
                    let text = String(decoding: response, as: UTF8.self)
                    if let range = text.range(of: "data-version=\"") {
                        shown = String(text[range.upperBound...].prefix { $0 != "\"" })
                    }
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread?.start()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    func stop() -> [Double] {
        lock.withLock {
            stopped = true
            return times
        }
    }
}

/// A plain HTTP/1.0 GET over a socket: the response's bytes.
func httpGet(port: Int, path: String) throws -> [UInt8] {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw BenchFailure("socket: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else { throw BenchFailure("connect: errno \(errno)") }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard write(descriptor, request, request.count) == request.count else { throw BenchFailure("write: errno \(errno)") }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    guard response.starts(with: Array("HTTP/1.0 200".utf8)) else { throw BenchFailure("GET \(path): \(String(decoding: response.prefix(40), as: UTF8.self))") }
    return response
}

/// A TCP port free on loopback now.
func freeTCPPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw BenchFailure("no free port: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
