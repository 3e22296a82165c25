import Foundation

/// A single HTML page with the summary table, the spread test and the figures inline: it opens
/// offline and refers to nothing outside itself.
public enum HTMLReport {
    static func format(_ value: Double?, digits: Int = 4) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    /// Where the spin glass's energies sit relative to its theoretical band.
    static func bandText(_ report: ExperimentReport) -> String {
        guard let band = report.spinGlassBand else { return "" }
        let medians = report.points.map { "\($0.label): median \(format($0.metrics["energy"]?.median))" }.joined(separator: "; ")
        return "<p>Theory for H = \(band.order) (Auffinger, Ben Arous & Černý 2013): ground state −E₀ ≈ \(format(band.groundState, digits: 3)), threshold −E∞ = \(format(band.threshold, digits: 3)); "
            + "low critical points concentrate between them as Λ → ∞. Here: \(SVGFigures.escape(medians)).</p>"
    }

    /// The end-point section: a table per sweep point and the probe figures.
    static func probeSection(report: ExperimentReport, figures: Figures) -> String {
        guard let probeFigures = figures.probes else { return "" }
        let e = SVGFigures.escape
        var rows = ""
        for p in report.points {
            guard let probes = p.probes else { continue }
            rows += """
            <tr><td>\(e(p.label))</td><td>\(probes.probed)</td><td>\(format(probes.gradientNorm?.median))</td><td>\(format(probes.lambdaMax?.median))</td>
            <td>\(format(probes.lambdaMin?.median))</td><td>\(format(probes.index?.mean))</td><td>\(format(probes.exactIndex?.mean))</td>
            <td>\(format(probes.minimumFraction.map { $0 * 100 }, digits: 1))%</td><td>\(format(probes.indexLossSpearman, digits: 2))</td>
            <td>\(format(probes.initToEndMonotone.map { $0 * 100 }, digits: 0))%</td><td>\(format(probes.initToEndBarrier?.median))</td>
            <td>\(format(probes.betweenRestartsBarrier?.median))</td></tr>

            """
        }
        let correlation = report.indexLossCorrelation.map {
            "Across \($0.points) end points, Spearman's ρ between index and final training loss is \(format($0.spearmanRho, digits: 2)) (p = \(String(format: "%.3g", $0.spearmanP)))."
        } ?? ""
        return """
        <h2>What are the end points?</h2>
        <p>Each trial's end point was probed on its training samples: the gradient norm, the Hessian's extreme eigenvalues (Lanczos with full
        reorthogonalization), its spectral density and index α — the fraction of eigenvalues below −ε·λmax, ε = \(format(report.probeEpsilon, digits: 3)) —
        by stochastic Lanczos quadrature, and the loss along straight lines. An end point counts as a minimum when λmin ≥ −\(format(report.minimumTolerance, digits: 3))·λmax. \(correlation)</p>
        <div class="scroll"><table><tr><th>network</th><th>probed</th><th>‖∇L‖ median</th><th>λmax median</th><th>λmin median</th><th>index α mean</th><th>exact α mean</th><th>minima</th><th>ρ(α, train loss)</th><th>start→end monotone</th><th>barrier init→end median</th><th>barrier restart↔restart median</th></tr>
        \(rows)</table></div>
        <figure>\(probeFigures.index)<figcaption>Each end point's index α against its final training loss (the form of Dauphin et al.'s Fig. 1): high-error critical points should have high index.</figcaption></figure>
        <figure>\(probeFigures.spectra)<figcaption>The Hessian's spectral density at the end points, averaged per size, on a log scale: the spike at zero, the bulk and the outliers; mass left of zero is the index.</figcaption></figure>
        <figure>\(probeFigures.eigenvalues)<figcaption>The smallest eigenvalue over the largest per end point: at or above −tolerance, a minimum.</figcaption></figure>
        <figure>\(probeFigures.barriers)<figcaption>Loss barriers along straight lines from the start to the end point and between two restarts' end points.</figcaption></figure>
        """
    }

    /// Critical points, learning curves and learning times (Dauphin et al. 2014; Saxe et al. 2014).
    static func dynamicsSection(report: ExperimentReport, figures: Figures) -> String {
        let e = SVGFigures.escape
        var html = ""
        if let c = report.criticalPoints, let figure = figures.criticalPoints {
            html += """
            <h2>Critical points: is error higher where the index is higher?</h2>
            <p>\(c.searches) Newton searches (attracted to critical points of any index) from points on SGD trajectories; \(c.converged) reached
            ‖∇L‖ ≤ \(String(format: "%.0e", c.tolerance))·‖∇L₀‖\(c.unconvergedMedianRelativeGradient.map { "; the others stopped at a median ‖∇L‖/‖∇L₀‖ = " + String(format: "%.1e", $0) + " (near-critical points, drawn hollow)" } ?? "").
            Spearman's ρ of training error against index α: \(format(c.allSpearmanRho, digits: 2)) over all \(c.searches) end points (p = \(c.allSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))\(c.converged >= 3 ? ", \(format(c.convergedSpearmanRho, digits: 2)) over the converged ones (p = \(c.convergedSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))" : "").</p>
            <figure>\(figure)<figcaption>Each search's end point: its index α (the fraction of the Hessian's eigenvalues below −ε·λmax) against its training error — Dauphin et al.'s Fig. 1: critical points of high error are saddles of high index; the minima (α = 0) have the lowest error.</figcaption></figure>

            """
        }
        if let curves = figures.curves {
            html += """
            <h2>Learning curves</h2>
            <figure>\(curves)<figcaption>Training loss per epoch (a full-batch method's epoch is one step), median and interquartile band over the restarts; panels share the starting points, so optimizers are compared from the same places.</figcaption></figure>

            """
        }
        if let times = report.learningTimes, let trends = report.learningTimeTrends, let figure = figures.learningTime {
            var rows = ""
            for t in times {
                rows += "<tr><td>\(e(t.label))</td><td>\(t.depth)</td><td>\(t.reached)/\(t.trials)</td><td>\(format(t.censoredMedian, digits: 1))</td><td>\(format(t.epochs?.p25, digits: 1))</td><td>\(format(t.epochs?.p75, digits: 1))</td></tr>\n"
            }
            let trendText = trends.map { "\(e($0.series.isEmpty ? "all" : $0.series)): ρ(depth, epochs) = \(format($0.spearmanRho, digits: 2)), deepest/shallowest = \(format($0.growth, digits: 2))×" }.joined(separator: "; ")
            html += """
            <h2>Learning time against depth</h2>
            <p>Epochs until the training loss first reached \(format(report.targetLoss)). \(trendText).</p>
            <figure>\(figure)<figcaption>Median epochs to the target loss (bars: quartiles) against depth, one line per initialization and activation — Saxe et al.'s claim: flat for orthogonal initialization, growing with depth for scaled Gaussian. Open circles on the dashed line: half or more of the restarts never reached the target.</figcaption></figure>
            <div class="scroll"><table><tr><th>sweep point</th><th>depth</th><th>reached</th><th>median epochs</th><th>p25</th><th>p75</th></tr>
            \(rows)</table></div>

            """
        }
        return html
    }

    public static func render(report: ExperimentReport, figures: Figures) -> String {
        let e = SVGFigures.escape
        var rows = ""
        let isSpinGlass = report.primaryMetric == "energy"
        for p in report.points {
            let loss = p.metrics[report.primaryMetric]
            let train = isSpinGlass ? p.metrics["gradient-norm"] : p.metrics["train-loss"], error = isSpinGlass ? p.metrics["index"] : p.metrics["test-error"]
            rows += """
            <tr><td>\(e(p.label))</td><td>\(p.parameters)</td><td>\(p.completed)</td><td>\(p.diverged)</td><td>\(p.failed)</td><td>\(p.pending)</td>
            <td>\(format(loss?.mean))</td><td>\(format(loss?.standardDeviation))</td><td>\(format(loss?.minimum))</td><td>\(format(loss?.p5))</td>
            <td>\(format(loss?.p25))</td><td>\(format(loss?.median))</td><td>\(format(loss?.p75))</td><td>\(format(loss?.p95))</td><td>\(format(loss?.maximum))</td>
            <td>\(format(train?.mean))</td><td>\(format(error?.mean))</td><td>\(format(p.trainTestLossCorrelation, digits: 3))</td>
            <td>\(format(p.withinEpsilonOfBest.map { $0 * 100 }, digits: 1))%</td></tr>

            """
        }
        var spreadText = "<p>Not enough completed trials for a test of spread yet.</p>"
        if let s = report.spread {
            spreadText = """
            <p>Standard deviation of the \(e(report.primaryQuantity)): \(format(s.smallestStandardDeviation)) for \(e(s.smallest)), \(format(s.largestStandardDeviation)) for \(e(s.largest)).
            Brown–Forsythe test of equal spread between them: F = \(format(s.brownForsytheF, digits: 2)), p = \(String(format: "%.3g", s.brownForsytheP)).
            Across all sizes: F = \(format(s.allPointsF, digits: 2)), p = \(s.allPointsP.map { String(format: "%.3g", $0) } ?? "–").
            Spearman rank correlation of spread with parameter count: ρ = \(format(s.spearmanRho, digits: 2)) (p = \(s.spearmanP.map { String(format: "%.3g", $0) } ?? "–")).</p>
            <p class="verdict">\(s.narrows ? "The spread narrows as the \(report.subject == "network" ? "networks" : "spin glasses") grow." : "No significant narrowing of the spread (yet).")</p>
            \(bandText(report))
            """
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(e(report.experiment)) — Minima report</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        table { border-collapse: collapse; font-size: 13px; } th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
        .scroll { max-width: 100%; overflow-x: auto; } svg { max-width: 100%; height: auto; }
        figcaption { color: #444; font-size: 13px; max-width: 760px; }
        th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
        .verdict { font-weight: bold; } figure { margin: 1.5em 0; } .meta { color: #666; font-size: 13px; }
        </style></head><body>
        <h1>\(e(report.experiment))</h1>
        <p class="meta">\(report.trials) trials (\(report.restarts) random restarts per \(report.subject)): \(report.done) done, \(report.failed) failed, \(report.pending) pending.
        Dataset \(e(report.dataset)) (SHA-256 \(report.datasetSHA256.prefix(16))…); spec SHA-256 \(report.specSHA256.prefix(16))…; generated \(report.generatedAt).</p>
        \(report.quarantinedWorkers.isEmpty ? "" : "<p class=\"verdict\">Verification quarantined " + report.quarantinedWorkers.map { "\(e($0.worker)) (\(e($0.reason)))" }.joined(separator: "; ") + ": their \(report.disputedResults) results were taken back and the trials run again on other workers.</p>")
        <h2>Does the band of \(isSpinGlass ? "final energies" : "final losses") narrow as the \(isSpinGlass ? "spin glasses" : "networks") grow?</h2>
        \(spreadText)
        <figure>\(figures.distributions)<figcaption>The \(e(report.primaryQuantity)) of every \(report.subject), one colour per size, as densities on shared bins: the band moves and narrows as the \(isSpinGlass ? "spin glasses" : "networks") grow\(isSpinGlass ? "; the dashed lines are the ground state and the threshold of the theory" : "").</figcaption></figure>
        <figure>\(figures.histograms)<figcaption>The same values stacked per size on shared bins (left) and each on its own range (right), so that the narrow bands of the largest sizes are more than one bar wide.</figcaption></figure>
        <h2>Summary of the \(e(report.primaryQuantity))</h2>
        <div class="scroll"><table><tr><th>\(report.subject)</th><th>\(isSpinGlass ? "spins Λ" : "parameters")</th><th>completed</th><th>diverged</th><th>failed</th><th>pending</th><th>mean</th><th>std</th><th>min</th><th>p5</th><th>p25</th><th>median</th><th>p75</th><th>p95</th><th>max</th><th>\(isSpinGlass ? "‖gradient‖ mean" : "train loss mean")</th><th>\(isSpinGlass ? "index mean" : "test error mean")</th><th>corr(train, test)</th><th>within ε=\(report.epsilon) of best</th></tr>
        \(rows)</table></div>
        <figure>\(figures.spread)<figcaption>The spread (standard deviation and interquartile range) of the \(e(report.primaryQuantity)) against size, on a log scale: it falls where the band narrows.</figcaption></figure>
        <figure>\(figures.scatter)<figcaption>\(isSpinGlass ? "Each end point's energy against the norm of its Riemannian gradient: how close to a critical point each descent stopped." : "Each network's final training loss against its test loss: how well the training loss predicts the test loss at each size.")</figcaption></figure>
        \(probeSection(report: report, figures: figures))
        \(dynamicsSection(report: report, figures: figures))
        <p class="meta">Made by Minima. Choromanska, Henaff, Mathieu, Ben Arous, LeCun: The Loss Surfaces of Multilayer Networks (AISTATS 2015).</p>
        </body></html>

        """
    }
}

/// The report for a terminal: a histogram per network in block characters, the summary table
/// and the verdict.
public enum TerminalReport {
    static let blocks: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func render(report: ExperimentReport, rows: [TrialRow], width: Int = 60) -> String {
        let isSpinGlass = report.primaryMetric == "energy"
        let values = report.points.map { point in rows.filter { $0.point == point.index && $0.isCompleted }.compactMap { isSpinGlass ? $0.spinGlass?.energy : $0.result?.test.loss } }
        let bins = max(10, min(width, 60))
        let (low, high, counts) = SVGFigures.sharedBins(values, bins: bins)
        let labelWidth = max(12, report.points.map(\.label.count).max() ?? 12)
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }
        var out = "\(report.experiment): \(report.primaryQuantity), \(report.restarts) restarts per \(report.subject) (shared bins \(HTMLReport.format(low)) … \(HTMLReport.format(high)))\n"
        for (i, point) in report.points.enumerated() {
            let peak = max(1, counts[i].max() ?? 1)
            let bars = String(counts[i].map { count in blocks[count == 0 ? 0 : max(1, Int((Double(count) / Double(peak) * 8).rounded()))] })
            out += "\(pad(point.label, labelWidth)) │\(bars)│ \(values[i].count) runs\n"
        }
        out += isSpinGlass
            ? "\n\(pad("spin glass", labelWidth))  done  mean E/Λ     std      min      p5     p50     p95      max  ‖grad‖ mean  index mean\n"
            : "\n\(pad("network", labelWidth))  done  mean loss    std      min      p5     p50     p95      max  test err  corr(tr,te)\n"
        for point in report.points {
            let loss = point.metrics[report.primaryMetric]
            out += pad(point.label, labelWidth) + "  " + pad("\(point.completed)", 4)
            for value in [loss?.mean, loss?.standardDeviation, loss?.minimum, loss?.p5, loss?.median, loss?.p95, loss?.maximum] {
                out += " " + pad(HTMLReport.format(value), 8)
            }
            if isSpinGlass {
                out += " " + pad(HTMLReport.format(point.metrics["gradient-norm"]?.mean, digits: 6), 12) + " " + pad(HTMLReport.format(point.metrics["index"]?.mean), 11) + "\n"
            } else {
                out += " " + pad(HTMLReport.format(point.metrics["test-error"]?.mean), 9) + " " + pad(HTMLReport.format(point.trainTestLossCorrelation, digits: 3), 11) + "\n"
            }
        }
        if let s = report.spread {
            out += "\nspread of \(isSpinGlass ? "energy" : "test loss"): std \(HTMLReport.format(s.smallestStandardDeviation)) (\(s.smallest)) → \(HTMLReport.format(s.largestStandardDeviation)) (\(s.largest)); "
            out += "Brown–Forsythe p = \(String(format: "%.3g", s.brownForsytheP)); Spearman ρ(spread, size) = \(HTMLReport.format(s.spearmanRho, digits: 2))\n"
            out += s.narrows ? "→ the band of \(isSpinGlass ? "final energies" : "final losses") narrows as the \(isSpinGlass ? "spin glasses" : "networks") grow.\n" : "→ no significant narrowing (yet).\n"
        }
        if let band = report.spinGlassBand {
            out += String(format: "theory (H = %d): ground state −E₀ ≈ %.3f, threshold −E∞ = %.3f\n", band.order, band.groundState ?? .nan, band.threshold)
        }
        if report.points.contains(where: { $0.probes != nil }) {
            out += "\nend points (index α: fraction of Hessian eigenvalues below −\(HTMLReport.format(report.probeEpsilon, digits: 3))·λmax):\n"
            out += "\(pad("network", labelWidth))  probed  ‖∇L‖ med  λmax med  λmin med   index α   exact α  minima  ρ(α,loss)  monotone  barrier r↔r\n"
            for point in report.points {
                guard let probes = point.probes else { continue }
                out += pad(point.label, labelWidth) + "  " + pad("\(probes.probed)", 6)
                for value in [probes.gradientNorm?.median, probes.lambdaMax?.median, probes.lambdaMin?.median, probes.index?.mean, probes.exactIndex?.mean] {
                    out += " " + pad(HTMLReport.format(value), 9)
                }
                out += " " + pad(HTMLReport.format(probes.minimumFraction.map { $0 * 100 }, digits: 0) + "%", 7)
                out += " " + pad(HTMLReport.format(probes.indexLossSpearman, digits: 2), 10)
                out += " " + pad(HTMLReport.format(probes.initToEndMonotone.map { $0 * 100 }, digits: 0) + "%", 9)
                out += " " + pad(HTMLReport.format(probes.betweenRestartsBarrier?.median), 12) + "\n"
            }
            if let c = report.indexLossCorrelation {
                out += "Spearman ρ(index, training loss) = \(HTMLReport.format(c.spearmanRho, digits: 2)) over all \(c.points) end points (p = \(String(format: "%.3g", c.spearmanP))); monotone: share of start→end lines along which the loss only falls\n"
            }
        }
        if let c = report.criticalPoints {
            out += "\ncritical points: \(c.searches) Newton searches, \(c.converged) reached ‖∇L‖ ≤ \(String(format: "%.0e", c.tolerance))·‖∇L₀‖"
                + (c.unconvergedMedianRelativeGradient.map { ", the others a median \(String(format: "%.1e", $0))" } ?? "") + "\n"
            out += "Spearman ρ(index, training error) = \(HTMLReport.format(c.allSpearmanRho, digits: 2)) over all (p = \(c.allSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))"
                + (c.converged >= 3 ? ", \(HTMLReport.format(c.convergedSpearmanRho, digits: 2)) over the converged" : "") + "\n"
        }
        if let times = report.learningTimes, let trends = report.learningTimeTrends {
            out += "\nepochs to training loss \(HTMLReport.format(report.targetLoss)) (median; – : half or more never reached it)\n"
            for trend in trends {
                let medians = zip(trend.depths, trend.medians).map { "depth \($0): \($1.map { HTMLReport.format($0, digits: 1) } ?? "–")" }.joined(separator: ", ")
                out += "  \(trend.series.isEmpty ? "all" : trend.series): \(medians); ρ(depth, epochs) = \(HTMLReport.format(trend.spearmanRho, digits: 2))\n"
            }
            _ = times
        }
        for quarantined in report.quarantinedWorkers {
            out += "verification quarantined worker \(quarantined.worker): \(quarantined.reason)\n"
        }
        if !report.quarantinedWorkers.isEmpty { out += "\(report.disputedResults) results taken back and run again on other workers\n" }
        return out
    }
}
