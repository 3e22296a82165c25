import ArgumentParser
import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaProtocol
import MinimaReport
import MinimaRuntime

/// A spec resolved against its dataset: everything a coordinator needs to hand out its trials.
struct ResolvedExperiment {
    var spec: ExperimentSpec
    var text: String
    var stored: StoredSpec
    var plan: ExperimentPlan

    /// Reads `path` (or the preset), validates it and loads its dataset (to learn its hash and shape).
    static func load(path: String?, preset: String?) throws -> ResolvedExperiment {
        let text: String
        let spec: ExperimentSpec
        do throws(SpecError) {
            if let path {
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw SpecError(file: path, line: nil, column: nil, field: "", problem: "cannot read the file")
                }
                text = contents
                spec = try SpecParser.parse(yaml: contents, file: path)
            } else {
                let name = preset ?? "quick"
                guard let contents = Presets.text(name) else {
                    throw SpecError(file: "--preset", line: nil, column: nil, field: "", problem: "unknown preset '\(name)'; the presets are \(Presets.names.joined(separator: ", "))")
                }
                text = contents + "\n"
                spec = try SpecParser.parse(yaml: contents, file: "preset \(name)")
            }
        } catch { throw ValidationError(error.description) }
        let data: TrainingData
        do throws(DataError) { data = try DatasetSource(parsing: spec.data.dataset).load() } catch {
            throw ValidationError("data.dataset: \(error.description)")
        }
        if let samples = spec.data.trainingSamples, samples > data.train.count {
            throw ValidationError("data.training-samples: asks for \(samples) samples but \(spec.data.dataset) has \(data.train.count)")
        }
        let stored = StoredSpec(spec: spec, datasetSHA256: data.train.contentSHA256, inputs: data.train.featureCount, classes: data.train.classCount)
        let points = spec.sweepPoints
        let hash = data.train.contentSHA256
        let plan = ExperimentPlan(name: spec.name, specJSON: stored.canonicalJSON, trialCount: spec.trialCount) { index in
            .train(spec.trialDescription(index, point: points[spec.pointIndex(ofTrial: index)], datasetSHA256: hash))
        }
        return ResolvedExperiment(spec: spec, text: text, stored: stored, plan: plan)
    }

    /// Floating-point work of the whole experiment (6 FLOP per weight per training sample, 2 per
    /// evaluated sample), and the samples it trains on.
    var workEstimate: (gigaflops: Double, trainingSamples: Double) {
        let training = Double(spec.data.trainingSamples ?? 60000) - Double(spec.data.validationSamples)
        let test = Double(spec.data.testSamples ?? 10000)
        var flops = 0.0, samples = 0.0
        for point in spec.sweepPoints {
            let parameters = Double(point.parameterCount(inputs: stored.inputs, classes: stored.classes))
            let trained = training * Double(point.epochs)
            flops += Double(spec.restarts) * (6 * parameters * trained + 2 * parameters * (training + test + Double(spec.data.validationSamples) * Double(point.epochs)))
            samples += Double(spec.restarts) * trained
        }
        return (flops / 1e9, samples)
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an experiment spec without running it.",
        discussion: "Prints the sweep and the number of trials, or one line naming file, line, field and problem.")

    @Argument(help: "The spec file (YAML).")
    var spec: String

    func run() throws {
        let experiment = try ResolvedExperiment.load(path: spec, preset: nil)
        print("\(spec): valid — '\(experiment.spec.name)', \(experiment.spec.sweepPoints.count) sweep points × \(experiment.spec.restarts) restarts = \(experiment.spec.trialCount) trials")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment on this machine and write its report (the main job).",
        discussion: """
            Starts a coordinator and local worker processes, shows progress, and writes the \
            ledger, trials.csv, summary.json, histograms.svg, spread.svg, scatter.svg and \
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
    @Option(help: "Local worker processes (default: this machine's cores).")
    var workers: Int?
    @Option(help: "Output directory (default: minima-out/NAME).")
    var out: String?
    @Flag(help: "Continue the run already in --out (finished trials are kept).")
    var resume = false
    @Flag(name: .customLong("dry-run"), help: "Print the sweep, the trial count and an estimate of the work; run nothing.")
    var dryRun = false
    @Option(name: .customLong("time-limit"), help: "Seconds a trial may run before its lease expires.")
    var timeLimit: Double?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics (/metrics) and a health check (/healthz) on this port.")
    var metricsPort: Int?
    @Option(help: "Also let remote workers join: bind this endpoint instead of a private loopback port (see minima coordinator for CURVE).")
    var bind: String?

    func run() throws {
        try requireSupportedCPU()
        if spec != nil && preset != nil { throw ValidationError("give a spec file or --preset, not both") }
        let experiment = try ResolvedExperiment.load(path: spec, preset: preset)
        let spec = experiment.spec
        let points = spec.sweepPoints
        let varying = spec.varyingDimensions
        if dryRun {
            let work = experiment.workEstimate
            print("experiment '\(spec.name)': \(points.count) sweep points × \(spec.restarts) restarts = \(spec.trialCount) trials")
            for point in points {
                print("  point \(point.index): \(point.label(varying: varying)) — \(point.parameterCount(inputs: experiment.stored.inputs, classes: experiment.stored.classes)) parameters, \(point.epochs) epochs, batch \(point.batchSize)")
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
            throw ValidationError("\(directory) already holds a run (\(counts.map { "\($0.done + $0.failed) of \($0.total) trials final" } ?? "unreadable ledger")); pass --resume to continue it, or choose another --out")
        }
        if resume && !FileManager.default.fileExists(atPath: ledgerPath) {
            throw ValidationError("--resume: \(directory) holds no run to resume (no ledger.sqlite)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try experiment.text.write(toFile: directory + "/spec.yaml", atomically: true, encoding: .utf8)

        StopSignal.install()
        var configuration = CoordinatorConfiguration(endpoint: bind ?? "tcp://127.0.0.1:*", ledgerPath: ledgerPath)
        configuration.trialTimeLimitSeconds = timeLimit
        configuration.metricsPort = metricsPort
        let coordinator: Coordinator
        do { coordinator = try Coordinator(plan: experiment.plan, configuration: configuration, log: RateLimitedLog(prefix: "minima run", perSecond: 0)) } catch let error as LedgerError {
            throw ValidationError(error.description)
        } catch let error as CoordinatorError {
            throw ValidationError(error.problem)
        }
        let count = workers ?? ProcessInfo.processInfo.activeProcessorCount
        guard count >= 1 else { throw ValidationError("--workers: must be ≥ 1") }
        let local = LocalWorkers()
        coordinator.onBound = { endpoint in
            FileHandle.standardError.write(Data("minima run: coordinator at \(endpoint) (minima status \(endpoint)); \(count) local workers; output in \(directory)\n".utf8))
            local.start(count: count, endpoint: endpoint, threads: 1, prefetch: 1, quiet: true)
        }
        let display = ProgressDisplay(spec: spec, labels: points.map { $0.label(varying: varying) }, ledgerPath: ledgerPath)
        coordinator.onProgress = { display.update($0) }
        let summary = try coordinator.run()
        local.waitOrTerminate(seconds: 5)
        display.finish(summary)
        let written = try ReportWriter.write(ledgerPath: ledgerPath, to: directory)
        print(TerminalReport.render(report: written.report, rows: written.rows))
        print("report: \(directory)/report.html (histograms.svg, spread.svg, scatter.svg, summary.json, trials.csv, ledger.sqlite)")
        if summary.stoppedBySignal {
            print("interrupted: \(summary.counts.done + summary.counts.failed) of \(spec.trialCount) trials final; continue with: minima run \(self.spec ?? "--preset \(preset ?? "quick")") --out \(directory) --resume")
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the report files of a run from its ledger (also while it is running).")

    @Argument(help: "The ledger (ledger.sqlite of a minima run).")
    var ledger: String
    @Option(help: "Directory for the report files (default: the ledger's directory).")
    var out: String?

    func run() throws {
        let directory = out ?? URL(fileURLWithPath: ledger).deletingLastPathComponent().path
        do {
            let (report, rows, files) = try ReportWriter.write(ledgerPath: ledger, to: directory)
            print(TerminalReport.render(report: report, rows: rows))
            print("wrote \(files.html), \(files.histograms), \(files.spread), \(files.scatter), \(files.summary), \(files.trials)")
        } catch let error as LedgerError {
            throw ValidationError(error.description)
        }
    }
}

/// Live progress on standard error: a redrawn table on a terminal, a plain line every few
/// seconds otherwise.
final class ProgressDisplay: @unchecked Sendable {
    let spec: ExperimentSpec
    let labels: [String]
    let ledgerPath: String
    let interactive = isatty(STDERR_FILENO) != 0
    private var lastPlain = Date.distantPast
    private var linesDrawn = 0
    private var reader: Ledger?

    init(spec: ExperimentSpec, labels: [String], ledgerPath: String) {
        self.spec = spec
        self.labels = labels
        self.ledgerPath = ledgerPath
    }

    func update(_ progress: CoordinatorProgress) {
        let final = progress.counts.done + progress.counts.failed
        let rate = progress.seconds > 0 ? Double(progress.summary.resultsStored) / progress.seconds : 0
        let eta = rate > 0 ? Double(progress.counts.pending) / rate : .infinity
        let line = String(format: "%@: %d/%d trials final (%d failed), %d in flight, %d workers, %.1f trials/s, ETA %@",
                          spec.name, final, spec.trialCount, progress.counts.failed, progress.inFlight, progress.workers, rate,
                          eta.isFinite ? formatDuration(eta) : "–")
        if !interactive {
            if Date().timeIntervalSince(lastPlain) >= 5 {
                lastPlain = Date()
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            return
        }
        if reader == nil { reader = try? Ledger(existingAt: ledgerPath) }
        let perPoint = (try? reader?.countsByGroup(groupSize: spec.restarts)) ?? [:]
        var text = linesDrawn > 0 ? "\u{1B}[\(linesDrawn)A" : ""
        var lines = [line]
        let labelWidth = max(10, labels.map(\.count).max() ?? 10)
        for (index, label) in labels.enumerated() {
            let counts = perPoint[index] ?? (0, 0)
            let done = counts.done + counts.failed
            let filled = spec.restarts > 0 ? done * 30 / spec.restarts : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
            lines.append("  " + String(repeating: " ", count: max(0, labelWidth - label.count)) + label + " \(bar) \(done)/\(spec.restarts)" + (counts.failed > 0 ? " (\(counts.failed) failed)" : ""))
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
