import ZeroMQ

/// A minimal HTTP/1.0 server on a ZMQ_STREAM socket, polled by the coordinator's loop:
/// `/metrics` (Prometheus text format) and `/healthz` (`ok`). One request per connection.
final class MetricsEndpoint {
    let socket: ZMQSocket

    init(_ context: ZMQContext, host: String, port: Int) throws(CoordinatorError) {
        do {
            socket = try ZMQSocket(context, .stream)
            try socket.set(.linger, 0)
            try socket.set(.maximumMessageSize, 64 << 10)
            try socket.bind("tcp://\(host):\(port)")
        } catch {
            throw CoordinatorError(problem: "cannot serve metrics on \(host):\(port): \(error)")
        }
    }

    /// Answers every request waiting, with `metrics()` evaluated at most once.
    func answerPending(metrics: () -> String) throws(ZMQError) {
        var text: String?
        while let frames = try socket.receive(dontWait: true) {
            guard frames.count == 2, !frames[1].isEmpty else { continue }   // connect/disconnect notifications
            let request = String(decoding: frames[1].prefix(256), as: UTF8.self)
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let (status, body): (String, String)
            switch path {
            case "/healthz", "/readyz": (status, body) = ("200 OK", "ok\n")
            case "/metrics", "/":
                if text == nil { text = metrics() }
                (status, body) = ("200 OK", text!)
            default: (status, body) = ("404 Not Found", "try /metrics or /healthz\n")
            }
            let response = "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            try? socket.send([frames[0], Array(response.utf8)], dontWait: true)
            try? socket.send([frames[0], []], dontWait: true)   // close the connection
        }
    }
}

/// The Prometheus text of a coordinator's progress. Trial states partition the trials: the
/// `minima_trials` samples add up to `minima_trials_total`.
func prometheusText(_ progress: CoordinatorProgress) -> String {
    let experiment = progress.experiment.unicodeScalars.filter { $0 != "\"" && $0 != "\\" && $0.value >= 0x20 }.map(String.init).joined()
    func family(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) -> String {
        "# HELP minima_\(name) \(help)\n# TYPE minima_\(name) \(type)\n"
            + samples.map { "minima_\(name){experiment=\"\(experiment)\"\($0.0.isEmpty ? "" : "," + $0.0)} \($0.1)\n" }.joined()
    }
    let counts = progress.counts, statistics = progress.statistics
    func counter(_ name: String, _ help: String, _ value: Int) -> String { family(name, help, "counter", [("", Double(value))]) }
    return family("trials", "Trials by state (the states partition the trials).", "gauge", [
        ("state=\"pending\"", Double(counts.pending)), ("state=\"running\"", Double(counts.running)),
        ("state=\"done\"", Double(counts.done)), ("state=\"failed\"", Double(counts.failed)),
    ])
        + family("trials_total", "Trials in the experiment.", "gauge", [("", Double(counts.total))])
        + family("leases_out", "Leases held by workers (running trials plus speculative and verification copies).", "gauge", [("", Double(progress.leasesOut))])
        + family("workers_alive", "Workers connected.", "gauge", [("", Double(progress.workers))])
        + family("workers_quarantined", "Workers quarantined because their results disagreed with two others'.", "gauge", [("", Double(progress.quarantinedWorkers.count))])
        + counter("leases_issued_total", "Leases handed out (dispatch).", statistics.leasesIssued)
        + counter("results_stored_total", "Results committed to the ledger (completion).", statistics.resultsStored)
        + counter("duplicate_results_total", "Results for trials already stored.", statistics.duplicateResults)
        + counter("mismatched_results_total", "Duplicates whose bits differ from the stored result.", statistics.mismatchedDuplicates)
        + counter("verified_results_total", "Results confirmed by a second worker.", statistics.verifiedResults)
        + counter("disputed_results_total", "Results a second worker disagreed with.", statistics.disputedResults)
        + counter("rejected_results_total", "Results from workers not holding the lease.", statistics.rejectedResults)
        + counter("malformed_messages_total", "Messages dropped as malformed or out of protocol.", statistics.malformedMessages)
        + counter("workers_lost_total", "Workers declared dead.", statistics.workersLost)
        + counter("ledger_commits_total", "Group commits of the ledger.", statistics.commits)
        + family("ledger_commit_seconds_total", "Time spent committing (divide by commits for the mean latency).", "counter", [("", progress.commitSeconds)])
        + family("dispatch_rate", "Leases issued per second since start.", "gauge", [("", Double(statistics.leasesIssued) / max(1e-9, progress.seconds))])
        + family("completion_rate", "Results stored per second since start.", "gauge", [("", Double(statistics.resultsStored) / max(1e-9, progress.seconds))])
}
