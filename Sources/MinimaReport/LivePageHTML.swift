import Foundation
import MinimaCore
import MinimaRuntime

/// The live page's HTML. Every string that came from a spec or a peer (names, labels, worker
/// names, failure reasons) goes through ``SVGFigures/escape(_:)``.
enum LivePageHTML {
    static let e = SVGFigures.escape

    /// The script that refreshes the page: it fetches `live` (relative, so it works behind a
    /// proxy's path prefix) and replaces the fragment, until the fragment says the study is done.
    static func script(refreshSeconds: Double) -> String {
        """
        (function () {
          var live = document.getElementById('live'), note = document.getElementById('connection'), misses = 0;
          function done() { return live.querySelector('[data-state="done"]') !== null; }
          function shown() { var results = document.getElementById('results'); return results ? results.getAttribute('data-version') : ''; }
          function refresh() {
            if (done()) { note.textContent = ''; return; }
            fetch('live?have=' + encodeURIComponent(shown()), {cache: 'no-store'}).then(function (response) {
              if (!response.ok) { throw new Error('HTTP ' + response.status); }
              return response.text();
            }).then(function (html) {
              var next = document.createElement('div');
              next.innerHTML = html;
              var results = next.querySelector('#results'), current = document.getElementById('results');
              if (results && current && results.hasAttribute('data-unchanged')) { results.replaceWith(current); }
              live.replaceChildren.apply(live, Array.prototype.slice.call(next.childNodes));
              misses = 0; note.textContent = '';
              setTimeout(refresh, \(Int(refreshSeconds * 1000)));
            }).catch(function () {
              misses += 1;
              note.textContent = 'The coordinator does not answer (' + misses + (misses === 1 ? ' try' : ' tries') + '): the run may have ended or stopped. This is its last state.';
              setTimeout(refresh, \(Int(refreshSeconds * 1000)) * Math.min(misses + 1, 10));
            });
          }
          setTimeout(refresh, \(Int(refreshSeconds * 1000)));
        })();
        """
    }

    static let defaultScript = script(refreshSeconds: LivePage.Options().refreshSeconds)

    /// Only this page's own script and inline styles; nothing loaded from anywhere, no forms, no framing.
    static var contentSecurityPolicy: String {
        let hash = sha256Base64(Array(defaultScript.utf8))
        return "default-src 'none'; script-src 'sha256-\(hash)'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    static func sha256Base64(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return Data(hasher.finalize()).base64EncodedString()
    }

    static func page(fragment: String, title: String, refresh: Bool, options: LivePage.Options) -> String {
        let script = options.refreshSeconds == LivePage.Options().refreshSeconds ? defaultScript : Self.script(refreshSeconds: options.refreshSeconds)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title)) — Minima, live</title>
        \(refresh ? "<noscript><meta http-equiv=\"refresh\" content=\"\(Int(max(2, options.refreshSeconds)))\"></noscript>" : "")
        <style>
        \(HTMLReport.styles)
        .state { font-size: 17px; font-weight: bold; } .state.done { color: #1a7f37; } .state.stopping { color: #b35900; }
        .bar { background: #eee; width: 240px; height: 12px; position: relative; }
        .bar span { position: absolute; top: 0; bottom: 0; left: 0; } .bar .ok { background: #1f77b4; } .bar .bad { background: #d62728; }
        .failure td:last-child { text-align: left; font-family: monospace; white-space: pre-wrap; word-break: break-all; }
        </style></head><body>
        <div id="live">\(fragment)</div>
        <p class="meta" id="connection"></p>
        <script>\(script)</script>
        </body></html>

        """
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        if seconds < 90 { return String(format: "%.0f s", seconds) }
        if seconds < 5400 { return String(format: "%.0f min", seconds / 60) }
        return String(format: "%.1f h", seconds / 3600)
    }

    /// The coordinator's part: state, progress per sweep point, workers.
    /// `finishing`: every trial is final but the last results are still being drawn.
    static func progress(_ status: LiveStatus, study: LivePage.Study, serial: Int, finishing: Bool = false) -> String {
        let progress = status.progress, counts = progress.counts
        let rate = progress.seconds > 0 ? Double(progress.statistics.resultsStored) / progress.seconds : 0
        let (eta, estimate) = study.remaining.timeLeft(progress)
        let state: String
        if status.complete {
            state = "<p class=\"state done\" data-state=\"done\">Done: all \(counts.total) trials final (\(counts.done) done, \(counts.failed) failed) after \(duration(progress.seconds)).\(study.options.reportPath.map { " The report is written to <code>\(e($0))</code>." } ?? "")</p>"
        } else if finishing {
            state = "<p class=\"state\" data-state=\"finishing\">All \(counts.total) trials are final; drawing the final results…</p>"
        } else if status.stopping {
            state = "<p class=\"state stopping\" data-state=\"stopping\">Stopping: \(counts.final) of \(counts.total) trials final; the rest wait for the next run.</p>"
        } else {
            state = "<p class=\"state\" data-state=\"running\">Running: \(counts.final) of \(counts.total) trials final (\(counts.failed) failed), \(counts.running) running, \(counts.pending) pending · \(String(format: "%.1f", rate)) trials/s · about \(duration(eta)) left</p>"
        }
        var points = ""
        for (index, label) in study.labels.enumerated() {
            let point = index < progress.points.count ? progress.points[index] : PointProgress()
            let restarts = study.stored.spec.restarts
            let total = max(1, restarts)
            let ok = Double(point.done) / Double(total) * 100, bad = Double(point.failed) / Double(total) * 100
            let left = point.isFinished(restarts: restarts) ? "done" : estimate.flatMap { index < $0.workPerPoint.count ? "~\(duration($0.workPerPoint[index])) of work" : nil } ?? ""
            let mean = point.timedTrials > 0 ? String(format: "%.2f s", point.timedSeconds / Double(point.timedTrials)) : "–"
            points += """
            <tr><td>\(e(label))</td><td><div class="bar" title="\(point.done) done, \(point.failed) failed of \(restarts)"><span class="ok" style="width:\(String(format: "%.1f", ok))%"></span><span class="bad" style="left:\(String(format: "%.1f", ok))%;width:\(String(format: "%.1f", bad))%"></span></div></td><td>\(point.done + point.failed)/\(restarts)</td><td>\(point.failed)</td><td>\(mean)</td><td>\(left)</td></tr>

            """
        }
        var workers = ""
        for worker in status.workers {
            let rate = worker.connectedSeconds > 0 ? Double(worker.reported) / worker.connectedSeconds : 0
            let note = worker.quarantined ? "quarantined" : worker.leaving ? "leaving" : worker.silentSeconds > 10 ? "silent \(duration(worker.silentSeconds))" : "alive"
            workers += "<tr><td>\(e(worker.name))</td><td>\(note)</td><td>\(worker.threads)</td><td>\(worker.leases)</td><td>\(worker.reported)</td><td>\(String(format: "%.2f", rate))</td><td>\(duration(worker.connectedSeconds))</td></tr>\n"
        }
        let quarantined = progress.quarantinedWorkers.isEmpty ? "" : " Quarantined: " + progress.quarantinedWorkers.map { e(String($0.prefix(80))) }.joined(separator: ", ") + "."
        return """
        <h1 data-serial="\(serial)">\(e(study.stored.spec.name))</h1>
        \(state)
        <p class="meta">Coordinator at <code>\(e(status.endpoint))</code> · running \(duration(progress.seconds)) · \(progress.leasesOut) leases out · \(progress.statistics.resultsStored) results stored this session · updated \(ISO8601DateFormatter().string(from: Date()))</p>
        <h2>Progress per sweep point</h2>
        <div class="scroll"><table><tr><th>\(e(study.stored.spec.kind.name == "spin-glass" ? "spin glass" : "sweep point"))</th><th>trials</th><th>final</th><th>failed</th><th>s per trial</th><th>left</th></tr>
        \(points)</table></div>
        <h2>Workers</h2>
        <p class="meta">\(status.workers.count) connected (\(progress.threads ?? 0) threads); \(progress.statistics.workersLost) lost.\(quarantined)</p>
        \(status.workers.isEmpty ? "" : "<div class=\"scroll\"><table><tr><th>worker</th><th>state</th><th>threads</th><th>leases</th><th>reported</th><th>per s</th><th>connected</th></tr>\n\(workers)</table></div>")

        """
    }

    /// The results part: the latest failures, then the report's summary and figures so far.
    static func results(_ input: FigureInput, figures: [DrawnFigure], failures: [(trial: Int, worker: String, reason: String)]) -> String {
        let report = input.report
        var out = ""
        if !failures.isEmpty {
            out += "<h2>Latest failures</h2>\n<div class=\"scroll\"><table class=\"failure\"><tr><th>trial</th><th>worker</th><th>reason</th></tr>\n"
            for failure in failures.reversed() {
                out += "<tr><td>\(failure.trial)</td><td>\(e(String(failure.worker.prefix(80))))</td><td>\(e(String(failure.reason.prefix(500))))</td></tr>\n"
            }
            out += "</table></div>\n"
        }
        out += "<h2>Results so far</h2>\n<p class=\"meta\">\(report.done) of \(report.trials) trials done, \(report.failed) failed; drawn \(report.generatedAt) from the results committed by then, by the same code as report.html.</p>\n"
        if !report.quarantinedWorkers.isEmpty {
            out += "<p class=\"verdict\">Verification quarantined " + report.quarantinedWorkers.map { "\(e(String($0.worker.prefix(80)))) (\(e(String($0.reason.prefix(300)))))" }.joined(separator: "; ") + ".</p>\n"
        }
        return out + HTMLReport.figuresHTML(input, figures: figures)
    }
}
