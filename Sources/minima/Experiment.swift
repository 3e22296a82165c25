import ArgumentParser
import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaProtocol
import MinimaLedger
import MinimaReport
import MinimaRuntime
import Logging

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an experiment spec without running it.",
        discussion: "Prints the sweep and the number of trials, or one line naming file, line, field and problem.")

    @Argument(help: "The spec file (YAML).")
    var spec: String
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a setting: a dotted key and a YAML value (repeatable).", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    func run() throws {
        let experiment = try ResolvedExperiment.load(path: spec, preset: nil, overrides: overrides)
        print("\(spec): valid — '\(experiment.spec.name)', \(experiment.spec.sweepPoints.count) sweep points × \(experiment.spec.restarts) restarts = \(experiment.spec.trialCount) trials")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment on this machine and write its report (the main job).",
        discussion: """
            Starts a coordinator and local worker processes, shows progress, and writes the \
            ledger, trials.csv, summary.json, histograms.svg, spread.svg, scatter.svg (with probes also \
            index.svg, spectra.svg, eigenvalues.svg, barriers.svg) and \
            report.html to --out. With no spec it runs the quick preset. Interrupt it (Ctrl-C) \
            and continue later with --resume.
              minima run
              minima run my-sweep.yaml --workers 8 --out results/my-sweep
              minima run --preset choromanska2015 --dry-run
            """)

    @Argument(help: "The experiment spec (YAML). Default: the quick preset.")
    var spec: String?
    @Option(help: "A built-in preset instead of a file: \(Presets.names.joined(separator: ", ")).")
    var preset: String?
    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override a setting of the spec or preset: a dotted key and a YAML value, e.g. --set restarts=40 --set model.width=[25,100] (repeatable; the run stores the spec after overrides).",
        valueName: "KEY=VALUE"))
    var overrides: [String] = []
    @Option(help: "Local worker processes (default: this machine's cores).")
    var workers: Int?
    @Option(help: "Output directory (default: minima-out/NAME).")
    var out: String?
    @Flag(help: "Continue the run already in --out (finished trials are kept).")
    var resume = false
    @Flag(help: "Write into --out even when it holds files that are not a Minima run (they may be overwritten).")
    var force = false
    @Flag(name: .customLong("dry-run"), help: "Print the sweep, the trial count and an estimate of the work; run nothing.")
    var dryRun = false
    @Option(name: .customLong("time-limit"), help: "Seconds a trial may run before its lease expires.")
    var timeLimit: Double?
    @Option(name: [.customLong("http-port"), .customLong("metrics-port")], help: ArgumentHelp(
        "Serve a live page of the study at http://127.0.0.1:PORT/ (progress, workers, failures and the report's figures so far), with Prometheus metrics at /metrics and health at /healthz. --metrics-port is the same option.",
        valueName: "port"))
    var httpPort: Int?
    @Option(name: [.customLong("http-host"), .customLong("metrics-host")], help: "Address for --http-port (default loopback; 0.0.0.0 for all interfaces).")
    var httpHost = "127.0.0.1"
    @Option(help: "Also let remote workers join: bind this endpoint instead of a private loopback port (see minima coordinator for CURVE).")
    var bind: String?

    @Option(help: "Re-run this fraction of finished trials on a different worker and compare (overrides the spec's verify.fraction).")
    var verify: Double?

    func validate() throws {
        if spec != nil && preset != nil { throw ValidationError("give a spec file or --preset, not both") }
        if let workers, !(1...4096).contains(workers) { throw ValidationError("--workers: must be between 1 and 4096, got \(workers)") }
        if let timeLimit, !(timeLimit.isFinite && timeLimit > 0 && timeLimit <= 31_536_000) { throw ValidationError("--time-limit: must be a number of seconds in (0, 31536000], got \(timeLimit)") }
        if let httpPort, !(1...65535).contains(httpPort) { throw ValidationError("--http-port (--metrics-port): must be a TCP port between 1 and 65535, got \(httpPort)") }
        if let verify, !(verify.isFinite && (0...1).contains(verify)) { throw ValidationError("--verify: must be a fraction between 0 and 1, got \(verify)") }
    }

    func run() throws {
        try requireSupportedCPU()
        let experiment = try ResolvedExperiment.load(path: spec, preset: preset, overrides: overrides)
        let spec = experiment.spec
        let points = spec.sweepPoints
        let varying = spec.varyingDimensions
        if dryRun {
            let work = experiment.workEstimate
            print("experiment '\(spec.name)': \(points.count) sweep points × \(spec.restarts) restarts = \(spec.trialCount) trials")
            for point in points {
                print("  point \(point.index): \(spec.label(of: point, varying: varying)) — \(spec.kind.describe(point, stored: experiment.stored))")
            }
            let threads = workers ?? ProcessInfo.processInfo.activeProcessorCount
            // 20 GFLOP/s per thread is a conservative figure for these small networks (README, benchmark).
            let hours = work.gigaflops / (20 * Double(threads)) / 3600
            print(String(format: "work: %.3g training samples, %.3g GFLOP; roughly %@ on %d threads of this machine",
                         work.trainingSamples, work.gigaflops, hours < 1 ? String(format: "%.0f minutes", hours * 60) : String(format: "%.1f hours", hours), threads))
            return
        }
        let directory = out ?? "minima-out/\(spec.name)"
        let ledgerPath = directory + "/ledger.sqlite"
        if FileManager.default.fileExists(atPath: ledgerPath) && !resume {
            let counts = try? Ledger(existingAt: ledgerPath).counts()
            throw CommandFailure("\(directory) already holds a run (\(counts.map { "\($0.done + $0.failed) of \($0.total) trials final" } ?? "unreadable ledger")); pass --resume to continue it, or choose another --out")
        }
        if resume && !FileManager.default.fileExists(atPath: ledgerPath) {
            throw CommandFailure("--resume: \(directory) holds no run to resume (no ledger.sqlite)")
        }
        // A run writes report.html, trials.csv, summary.json, spec.yaml and more into its
        // directory: never over a person's own files without being told to.
        if !force, !resume, let contents = try? FileManager.default.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            let shown = contents.sorted().prefix(4).joined(separator: ", ") + (contents.count > 4 ? ", …" : "")
            throw CommandFailure("\(directory) already holds files that are not a Minima run (\(shown)); a run would overwrite its report.html, trials.csv and more there. Choose another --out, or pass --force")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try experiment.text.write(toFile: directory + "/spec.yaml", atomically: true, encoding: .utf8)

        StopSignal.install()
        var configuration = CoordinatorConfiguration(endpoint: bind ?? "tcp://127.0.0.1:*", ledgerPath: ledgerPath)
        configuration.trialTimeLimitSeconds = timeLimit
        configuration.httpPort = httpPort
        configuration.httpHost = httpHost
        configuration.verificationFraction = verify ?? spec.verify?.fraction ?? 0
        let coordinator = try Coordinator(plan: experiment.plan, configuration: configuration, logger: .minima("minima run", quiet: true))
        if httpPort != nil {
            var options = LivePage.Options()
            options.reportPath = directory + "/report.html"
            coordinator.liveView = LivePage(stored: experiment.stored, specSHA256: experiment.plan.specSHA256, workPerTrial: experiment.workPerTrial, options: options)
        }
        let count = workers ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        let local = LocalWorkers()
        coordinator.onBound = { [unowned coordinator] endpoint in
            let page = coordinator.httpAddress.map { "; live page at \($0)" } ?? ""
            FileHandle.standardError.write(Data("minima run: coordinator at \(endpoint) (minima status \(endpoint))\(page); \(count) local workers; output in \(directory)\n".utf8))
            local.start(count: count, endpoint: endpoint, threads: 1, prefetch: 1, quiet: true)
        }
        if bind == nil { coordinator.giveUpCheck = { local.allExited(connected: $0) } }
        let display = ProgressDisplay(spec: spec, labels: points.map { spec.label(of: $0, varying: varying) }, workPerTrial: experiment.workPerTrial)
        coordinator.onProgress = { display.update($0) }
        let summary = try coordinator.run()
        local.waitOrTerminate(seconds: 5)
        display.finish(summary)
        let written = try ReportWriter.write(ledgerPath: ledgerPath, to: directory)
        print(written.terminal)
        let kept = spec.trialsToKeep.filter { written.rows[$0].state == "done" }
        if !kept.isEmpty {
            let parameters = directory + "/parameters"
            try FileManager.default.createDirectory(atPath: parameters, withIntermediateDirectories: true)
            for trial in kept {
                do throws(ParameterExport.Failure) { try ParameterExport.write(ledgerPath: ledgerPath, trial: trial, to: "\(parameters)/trial-\(trial).npz") } catch {
                    throw CommandFailure("keep-parameters: \(error.description)")
                }
            }
            print("parameters: \(kept.count) trials' initial and final weights in \(parameters)/trial-N.npz (keep-parameters)")
        }
        let figures = (written.files.figures + written.files.data + written.files.tables).map { URL(fileURLWithPath: $0).lastPathComponent }
        print("report: \(directory)/report.html (" + (figures + ["summary.json", "trials.csv", "ledger.sqlite"]).joined(separator: ", ") + ")")
        if summary.stoppedBySignal {
            print("interrupted: \(summary.counts.done + summary.counts.failed) of \(spec.trialCount) trials final; continue with: minima run \(self.spec ?? "--preset \(preset ?? "quick")") --out \(directory) --resume")
        }
    }
}

struct ExportParameters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-parameters",
        abstract: "Write a trial's initial and final weights as a NumPy .npz.",
        discussion: """
            Trains the trial again from the ledger's spec (a trial is deterministic, so the weights \
            need not be stored) and checks that it ends on the parameters the ledger recorded.
              minima export-parameters minima-out/landscape/ledger.sqlite --trial 17 --out trial-17.npz
            """)

    @Argument(help: "The ledger (ledger.sqlite of a minima run).")
    var ledger: String
    @Option(help: "The trial index.")
    var trial: Int
    @Option(help: "The .npz file to write.")
    var out: String

    func run() throws {
        do throws(ParameterExport.Failure) {
            let sha256 = try ParameterExport.write(ledgerPath: ledger, trial: trial, to: out)
            print("wrote \(out) (final parameters SHA-256 \(sha256), as the ledger recorded)")
        } catch { throw CommandFailure(error.description) }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the report files of a run from its ledger (also while it is running).",
        discussion: """
            With two or more ledgers, writes each run's report into --out/NAME/ and a combined.html \
            that puts their histograms side by side — a spin-glass run next to a network run, as \
            Choromanska et al.'s Fig. 2 does:
              minima report minima-out/spinglass/ledger.sqlite minima-out/quick/ledger.sqlite --out side-by-side
            """)

    @Argument(help: "The ledger(s) (ledger.sqlite of a minima run, or the run's output directory).", transform: Report.ledgerPath)
    var ledgers: [String]

    /// A run's output directory stands for the ledger in it.
    static func ledgerPath(_ argument: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue else { return argument }
        return URL(fileURLWithPath: argument).appendingPathComponent("ledger.sqlite").path
    }
    @Option(help: "Directory for the report files (default: the ledger's directory; required with several ledgers).")
    var out: String?

    func validate() throws {
        if ledgers.isEmpty { throw ValidationError("give at least one ledger") }
        if ledgers.count > 1 && out == nil { throw ValidationError("--out: required when combining \(ledgers.count) ledgers") }
    }

    func run() throws {
        if ledgers.count == 1 {
            let ledger = ledgers[0]
            let directory = out ?? URL(fileURLWithPath: ledger).deletingLastPathComponent().path
            let written = try ReportWriter.write(ledgerPath: ledger, to: directory)
            print(written.terminal)
            let files = written.files
            print("wrote " + ([files.html] + files.figures + files.data + [files.summary, files.trials] + files.tables).joined(separator: ", "))
            return
        }
        let path = try CombinedReport.write(ledgerPaths: ledgers, to: out!)
        print("wrote \(path)")
    }
}

/// Live progress on standard error: a redrawn table on a terminal, a plain line every few
/// seconds otherwise.
/// Called on the coordinator's thread (its owner), from the progress the scheduler keeps: no
/// ledger reads.
final class ProgressDisplay {
    let spec: ExperimentSpec
    let labels: [String]
    let interactive = isatty(STDERR_FILENO) != 0
    private var lastPlain = Date.distantPast
    private var lastDrawn = Date.distantPast
    private var linesDrawn = 0

    let remaining: RemainingTime

    init(spec: ExperimentSpec, labels: [String], workPerTrial: [Double]) {
        self.spec = spec
        self.labels = labels
        remaining = RemainingTime(priorCost: workPerTrial, restarts: spec.restarts)
    }

    func update(_ progress: CoordinatorProgress) {
        let final = progress.counts.final
        let rate = progress.seconds > 0 ? Double(progress.statistics.resultsStored) / progress.seconds : 0
        // Weighed by each point's cost (its FLOP estimate, then its measured trials); trials
        // counted as equal only before any trial has reported its time.
        let (eta, estimate) = remaining.timeLeft(progress)
        let pointsDone = progress.points.count { $0.isFinished(restarts: spec.restarts) }
        let line = String(format: "%@: %d/%d trials final (%d failed), %d/%d points done, %d running, %d workers, %.1f trials/s, ETA %@",
                          spec.name, final, spec.trialCount, progress.counts.failed, pointsDone, labels.count, progress.counts.running, progress.workers, rate,
                          eta.isFinite ? formatDuration(eta) : "–")
        if !interactive {
            if Date().timeIntervalSince(lastPlain) >= 5 {
                lastPlain = Date()
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            return
        }
        // Redrawn at most 10 times a second, however often results are committed.
        guard Date().timeIntervalSince(lastDrawn) >= 0.1 || final == spec.trialCount else { return }
        lastDrawn = Date()
        var text = linesDrawn > 0 ? "\u{1B}[\(linesDrawn)A" : ""
        var lines = [line]
        let labelWidth = max(10, labels.map(\.count).max() ?? 10)
        for (index, label) in labels.enumerated() {
            let counts = index < progress.points.count ? progress.points[index] : PointProgress()
            let done = counts.done + counts.failed
            let filled = spec.restarts > 0 ? done * 30 / spec.restarts : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
            let work = estimate.flatMap { index < $0.workPerPoint.count ? $0.workPerPoint[index] : nil }
            let state = counts.isFinished(restarts: spec.restarts) ? " done" : work.map { $0 > 0 ? " ~\(formatDuration($0)) of work left" : "" } ?? ""
            lines.append("  " + String(repeating: " ", count: max(0, labelWidth - label.count)) + label + " \(bar) \(done)/\(spec.restarts)" + (counts.failed > 0 ? " (\(counts.failed) failed)" : "") + state)
        }
        for l in lines { text += "\u{1B}[2K" + l + "\n" }
        linesDrawn = lines.count
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish(_ summary: CoordinatorSummary) {
        FileHandle.standardError.write(Data(String(format: "%@: %d done, %d failed in %@\n", spec.name, summary.counts.done, summary.counts.failed, formatDuration(summary.seconds)).utf8))
    }
}

func formatDuration(_ seconds: Double) -> String {
    if seconds < 90 { return String(format: "%.0f s", seconds) }
    if seconds < 5400 { return String(format: "%.0f min", seconds / 60) }
    return String(format: "%.1f h", seconds / 3600)
}

struct UpgradeLedger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade-ledger",
        abstract: "Make a ledger of Minima 0.1 resumable: rename its lecun-uniform to fan-in-uniform.",
        discussion: """
            Minima 0.1's lecun-uniform drew U(±1/√fan-in), the scheme now named fan-in-uniform; \
            lecun-uniform now means U(±√(3/fan-in)) as in Keras and JAX. This rewrites the spec \
            stored in the ledger (and its hash) so that a spec saying fan-in-uniform — the same \
            networks — resumes it. Results are not touched. Reports read old ledgers without it.
            """)

    @Argument(help: "The ledger to upgrade.")
    var ledger: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: ledger) else { throw CommandFailure("\(ledger): no such ledger") }
        guard let hash = try Ledger.renameLecunUniform(at: ledger, sha256: { SHA256.hex(of: Array($0.utf8)) }) else {
            print("\(ledger): nothing to upgrade (not a Minima 0.1 ledger using lecun-uniform)")
            return
        }
        print("\(ledger): its spec now says fan-in-uniform where it said lecun-uniform (spec SHA-256 \(hash)); resume it with fan-in-uniform in the spec")
    }
}
