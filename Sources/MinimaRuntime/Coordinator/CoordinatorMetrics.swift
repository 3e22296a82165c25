import Prometheus

/// The coordinator's metrics in a swift-prometheus registry, brought up to date from its
/// progress when scraped. Trial states partition the trials: the `minima_trials` samples add up
/// to `minima_trials_total`.
final class CoordinatorMetrics {
    private let registry = PrometheusCollectorRegistry()
    private let experiment: String
    private var gauges: [String: Gauge] = [:]
    private var counters: [String: (counter: Counter, exported: Int)] = [:]
    private var commitSeconds: Counter
    private var exportedCommitSeconds = 0.0

    init(experiment: String) {
        self.experiment = experiment
        commitSeconds = registry.makeCounter(descriptor: Self.name("ledger_commit_seconds_total", "Time spent committing (divide by commits for the mean latency)."),
                                             labels: [("experiment", experiment)])
    }

    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "minima", metricName: name, unitName: "", helpText: help)
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined()
        if let gauge = gauges[key] { return gauge }
        let gauge = registry.makeGauge(descriptor: Self.name(name, help), labels: [("experiment", experiment)] + labels)
        gauges[key] = gauge
        return gauge
    }

    /// Counters grow by what the statistics grew since the last scrape (they only grow).
    private func count(_ name: String, _ help: String, _ value: Int) {
        var entry = counters[name] ?? (registry.makeCounter(descriptor: Self.name(name, help), labels: [("experiment", experiment)]), 0)
        if value > entry.exported { entry.counter.increment(by: Int64(value - entry.exported)); entry.exported = value }
        counters[name] = entry
    }

    /// The Prometheus text format of `progress`.
    func text(_ progress: CoordinatorProgress) -> String {
        let counts = progress.counts, statistics = progress.statistics
        let help = "Trials by state (the states partition the trials)."
        gauge("trials", help, [("state", "pending")]).set(Double(counts.pending))
        gauge("trials", help, [("state", "running")]).set(Double(counts.running))
        gauge("trials", help, [("state", "done")]).set(Double(counts.done))
        gauge("trials", help, [("state", "failed")]).set(Double(counts.failed))
        gauge("trials_total", "Trials in the experiment.").set(Double(counts.total))
        if !progress.points.isEmpty {
            gauge("sweep_points_total", "Sweep points in the experiment.").set(Double(progress.points.count))
            gauge("sweep_points_done", "Sweep points whose trials are all final.").set(Double(progress.pointsDone.count))
            for (index, point) in progress.points.enumerated() {
                gauge("sweep_point_trials_final", "Final trials (done or failed) per sweep point.", [("point", "\(index)")]).set(Double(point.done + point.failed))
            }
        }
        gauge("leases_out", "Leases held by workers (running trials plus speculative and verification copies).").set(Double(progress.leasesOut))
        gauge("workers_alive", "Workers connected.").set(Double(progress.workers))
        gauge("workers_quarantined", "Workers quarantined because their results disagreed with two others'.").set(Double(progress.quarantinedWorkers.count))
        gauge("dispatch_rate", "Leases issued per second since start.").set(Double(statistics.leasesIssued) / max(1e-9, progress.seconds))
        gauge("completion_rate", "Results stored per second since start.").set(Double(statistics.resultsStored) / max(1e-9, progress.seconds))
        count("leases_issued_total", "Leases handed out (dispatch).", statistics.leasesIssued)
        count("results_stored_total", "Results committed to the ledger (completion).", statistics.resultsStored)
        count("duplicate_results_total", "Results for trials already stored.", statistics.duplicateResults)
        count("mismatched_results_total", "Duplicates whose bits differ from the stored result.", statistics.mismatchedDuplicates)
        count("verified_results_total", "Results confirmed by a second worker.", statistics.verifiedResults)
        count("disputed_results_total", "Results a second worker disagreed with.", statistics.disputedResults)
        count("rejected_results_total", "Results from workers not holding the lease.", statistics.rejectedResults)
        count("malformed_messages_total", "Messages dropped as malformed or out of protocol.", statistics.malformedMessages)
        count("workers_lost_total", "Workers declared dead.", statistics.workersLost)
        count("ledger_commits_total", "Group commits of the ledger.", statistics.commits)
        if progress.commitSeconds > exportedCommitSeconds {
            commitSeconds.increment(by: progress.commitSeconds - exportedCommitSeconds)
            exportedCommitSeconds = progress.commitSeconds
        }
        return registry.emitToString()
    }
}
