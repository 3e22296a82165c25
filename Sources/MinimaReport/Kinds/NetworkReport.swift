import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol

/// The network kind's report: final losses and errors, the end-point probes, the Newton
/// searches' critical points, learning curves and learning times.
public enum NetworkReport: ReportKind {
    public static let name = NetworkKind.name
    public static let primaryMetric = "test-loss"
    public static let primaryQuantity = "final test loss"
    public static let shortQuantity = "test loss"
    public static let bandNoun = "final losses"
    public static let subject = "network"
    public static let subjects = "networks"
    public static let sizeName = "parameters"

    public static func status(of outcome: TaskOutcome) -> TrialStatus? { outcome.as(TrialResult.self)?.status }

    public static func metric(_ name: String, of row: TrialRow) -> Double? {
        guard let result = row.result else { return nil }
        switch name {
        case "test-loss": return result.test.loss
        case "train-loss": return result.train.loss
        case "test-error": return result.test.error
        case "train-error": return result.train.error
        case "validation-loss": return result.validation?.loss
        case "validation-error": return result.validation?.error
        default: return nil
        }
    }

    public static func completePoint(_ point: inout PointReport, rows: [TrialRow], all: [TrialRow], spec: ExperimentSpec) {
        let good = rows.compactMap { $0.result?.status == .completed ? $0.result : nil }
        point.trainTestLossCorrelation = Statistics.pearson(good.map(\.train.loss), good.map(\.test.loss))
        point.probes = PointProbes.build(good) { partner in Int(exactly: partner).flatMap { $0 < all.count ? all[$0].result?.parametersSHA256 : nil } }
        point.listedProbes = ListedProbeReport.summaries(good)
    }

    public static func complete(_ report: inout ExperimentReport, spec: ExperimentSpec, rows: [TrialRow]) {
        let indexed = rows.filter(\.isCompleted).compactMap { row -> (Double, Double)? in
            guard let index = row.result?.probes?.hessian?.index?.value, let loss = row.result?.train.loss else { return nil }
            return (index, loss)
        }
        report.indexLossCorrelation = Statistics.spearman(indexed.map(\.0), indexed.map(\.1)).map { IndexLossCorrelation(points: indexed.count, spearmanRho: $0.rho, spearmanP: $0.pValue) }
        report.probeEpsilon = spec.probes?.hessian?.epsilon
        report.minimumTolerance = spec.probes?.hessian?.minimumTolerance
        report.criticalPoints = DynamicsReport.criticalPoints(spec: spec, rows: rows)
        report.closedForm = ClosedFormCriticalPoints.build(spec: spec, rows: rows)
        report.timeToTarget = TimeToTarget.build(spec: spec, report: report, rows: rows)
        report.globalMinimum = knownGlobalMinimum(spec: spec, rows: rows)
        if let times = DynamicsReport.learningTimes(spec: spec, rows: rows) {
            report.learningTimes = times.points
            report.learningTimeTrends = times.trends
            report.targetLoss = spec.stopping.targetLoss
        }
    }

    /// On a `teacher:` set, which sweep points can reach zero training loss and how many restarts
    /// did (training loss ≤ 10⁻⁴).
    static func knownGlobalMinimum(spec: ExperimentSpec, rows: [TrialRow]) -> ExperimentReport.KnownGlobalMinimum? {
        guard spec.data.dataset.hasPrefix("teacher:"),
              let teacher = try? TeacherDescription(parsing: String(spec.data.dataset.dropFirst("teacher:".count))),
              teacher.targets == .values else { return nil }
        let tolerance = 1e-4
        var fractions: [Double?] = [], medians: [Double?] = []
        for point in spec.sweepPoints {
            let realizable = point.loss == .meanSquaredError && point.weightDecay == 0 && point.activation == teacher.activation
                && point.hidden.count == teacher.hidden.count && zip(point.hidden, teacher.hidden).allSatisfy { $0 >= $1 }
            let losses = rows.filter { $0.point == point.index && $0.isCompleted }.compactMap { $0.result?.train.loss }
            guard realizable, !losses.isEmpty else { fractions.append(nil); medians.append(nil); continue }
            fractions.append(Double(losses.filter { $0 <= tolerance }.count) / Double(losses.count))
            let missed = losses.filter { $0 > tolerance }.sorted()
            medians.append(missed.isEmpty ? nil : missed[missed.count / 2])
        }
        guard fractions.contains(where: { $0 != nil }) else { return nil }
        return .init(value: 0, tolerance: tolerance, fractions: fractions, missedMedians: medians)
    }

    public static func markers(_ report: ExperimentReport) -> [(value: Double, label: String)] {
        report.globalMinimum == nil ? [] : [(0, "global minimum 0 (a realizable student of the teacher)")]
    }

    public static func spreadNote(_ report: ExperimentReport) -> String {
        guard let known = report.globalMinimum else { return "" }
        let parts = zip(report.points, zip(known.fractions, known.missedMedians)).compactMap { point, value -> String? in
            guard let fraction = value.0 else { return nil }
            return "\(point.label): \(HTMLReport.format(fraction, digits: 3)) at it" + (value.1.map { ", the others at a median training loss of \(HTMLReport.format($0))" } ?? "")
        }
        return "<p>The data come from a teacher network, so a student at least as wide (same depth and activation, squared error, no weight decay) can fit them exactly: the global minimum of the training loss is 0. Restarts whose final training loss is at most \(HTMLReport.format(known.tolerance)): \(SVGFigures.escape(parts.joined(separator: "; ")))."
            + " Sweep points not listed are not realizable (narrower or shallower than the teacher, another activation, or weight decay — whose floor is not computed).</p>"
    }

    static func globalMinimumNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        guard let known = report.globalMinimum else { return "" }
        var lines = "global minimum 0 (teacher data, realizable students): restarts with final training loss ≤ \(HTMLReport.format(known.tolerance))\n"
        for (point, value) in zip(report.points, zip(known.fractions, known.missedMedians)) {
            guard let fraction = value.0 else { continue }
            lines += "\(TerminalReport.pad(point.label, labelWidth))  \(HTMLReport.format(fraction, digits: 3)) at it" + (value.1.map { "; the others: median training loss \(HTMLReport.format($0))" } ?? "") + "\n"
        }
        return lines
    }

    public static let summaryColumns: [(header: String, value: @Sendable (PointReport) -> Double?)] = [
        ("train loss mean", { $0.metrics["train-loss"]?.mean }), ("test error mean", { $0.metrics["test-error"]?.mean }),
    ]

    public static func terminalHeader(labelWidth: Int) -> String {
        "\(TerminalReport.pad("network", labelWidth))  done  mean loss    std      min      p5     p50     p95      max  test err  corr(tr,te)\n"
    }

    public static func terminalColumns(_ point: PointReport) -> String {
        " " + TerminalReport.pad(HTMLReport.format(point.metrics["test-error"]?.mean), 9) + " " + TerminalReport.pad(HTMLReport.format(point.trainTestLossCorrelation, digits: 3), 11) + "\n"
    }

    public static func terminalNotes(_ report: ExperimentReport, labelWidth: Int) -> String {
        let pad = TerminalReport.pad
        var out = globalMinimumNotes(report, labelWidth: labelWidth)
        if let closedForm = report.closedForm { out += closedForm.terminalLines(labelWidth: labelWidth) }
        if let times = report.timeToTarget { out += times.terminalLines() }
        if report.points.contains(where: { $0.probes != nil }) {
            out += "\nend points (index α: fraction of Hessian eigenvalues below −\(report.probeEpsilon.map { String(format: "%g", $0) } ?? "–")·λmax):\n"
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
                + (c.unconvergedMedianRelativeGradient.map { ", the others a median \(String(format: "%.1e", $0))" } ?? "")
                + (c.ends.map { "; ends: " + $0.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") } ?? "") + "\n"
            out += "Spearman ρ(index, training error) = \(HTMLReport.format(c.allSpearmanRho, digits: 2)) over all (p = \(c.allSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))"
                + (c.converged >= 3 ? ", \(HTMLReport.format(c.convergedSpearmanRho, digits: 2)) over the converged" : "") + "\n"
        }
        if report.learningTimes != nil, let trends = report.learningTimeTrends {
            out += "\nepochs to training loss \(HTMLReport.format(report.targetLoss)) (median; – : half or more never reached it)\n"
            for trend in trends {
                let medians = zip(trend.depths, trend.medians).map { "depth \($0): \($1.map { HTMLReport.format($0, digits: 1) } ?? "–")" }.joined(separator: ", ")
                out += "  \(trend.series.isEmpty ? "all" : trend.series): \(medians); ρ(depth, epochs) = \(HTMLReport.format(trend.spearmanRho, digits: 2))\n"
            }
        }
        out += ListedProbeReport.terminalNotes(report, labelWidth: labelWidth)
        return out
    }
}

extension TrialRow {
    /// The outcome of a network trial.
    public var result: TrialResult? { outcome?.as(TrialResult.self) }
}

// MARK: - trials.csv

extension NetworkReport {
    public static func columns(spec: ExperimentSpec) -> [ReportColumn] {
        typealias C = ReportColumn
        let number = ReportColumn.number, quote = ReportColumn.quote
        return [
            C("hidden") { _, p in p.hidden.map(String.init).joined(separator: "x") }, C("activation") { _, p in p.activation.rawValue },
            C("loss") { _, p in p.loss.rawValue }, C("init") { _, p in p.initScheme.rawValue }, C("init_scale") { _, p in "\(p.initScale)" },
            C("batch_size") { _, p in "\(p.batchSize)" }, C("learning_rate") { _, p in "\(p.learningRate)" }, C("momentum") { _, p in "\(p.momentum)" },
            C("nesterov") { _, p in "\(p.nesterov)" }, C("weight_decay") { _, p in "\(p.weightDecay)" }, C("epochs_max") { _, p in "\(p.epochs)" },
            C("state") { row, _ in row.state }, C("status") { row, _ in row.result?.status.rawValue ?? "" },
            C("stop_reason") { row, _ in row.result?.stopReason.rawValue ?? "" }, C("epochs") { row, _ in row.result.map { "\($0.epochs)" } ?? "" },
            C("train_loss") { row, _ in number(row.result?.train.loss) }, C("train_error") { row, _ in number(row.result?.train.error) },
            C("test_loss") { row, _ in number(row.result?.test.loss) }, C("test_error") { row, _ in number(row.result?.test.error) },
            C("validation_loss") { row, _ in number(row.result?.validation?.loss) }, C("validation_error") { row, _ in number(row.result?.validation?.error) },
            C("worker") { row, _ in quote(row.worker) }, C("seconds") { row, _ in number(row.seconds) },
            C("parameters_sha256") { row, _ in row.result?.parametersSHA256 ?? "" }, C("failure") { row, _ in quote(row.failure) },
            C("probe_samples") { row, _ in row.result?.probes.map { "\($0.samples)" } ?? "" }, C("probe_loss") { row, _ in number(row.result?.probes?.loss) },
            C("gradient_norm") { row, _ in number(row.result?.probes?.gradientNorm) },
            C("lambda_max") { row, _ in number(row.result?.probes?.hessian?.lambdaMax) }, C("lambda_min") { row, _ in number(row.result?.probes?.hessian?.lambdaMin) },
            C("index") { row, _ in number(row.result?.probes?.hessian?.index?.value) },
            C("index_standard_error") { row, _ in number(row.result?.probes?.hessian?.index?.standardError) },
            C("exact_index") { row, _ in number(row.result?.probes?.hessian?.exact?.index) },
            C("is_minimum") { row, _ in row.result?.probes?.hessian.map { "\($0.isMinimum)" } ?? "" },
            C("lanczos_steps") { row, _ in row.result?.probes?.hessian.map { "\($0.lanczosSteps)" } ?? "" },
            C("barrier_init_to_end") { row, _ in number(row.result?.probes?.paths?.initToEnd?.barrier) },
            C("partner") { row, _ in row.result?.probes?.paths?.toPartner.map { "\($0.partner)" } ?? "" },
            C("barrier_to_partner") { row, _ in number(row.result?.probes?.paths?.toPartner?.profile.barrier) },
            C("probe_seconds") { row, _ in number(row.result?.timing.probeSeconds) },
            C("optimizer") { _, p in (p.optimizer ?? .sgd).rawValue }, C("warm_start_epochs") { _, p in p.warmStartEpochs.map { "\($0)" } ?? "" },
            C("epochs_to_target") { row, _ in row.result?.epochsToTarget.map { "\($0)" } ?? "" },
            C("steps_to_target") { row, _ in row.result?.stepsToTarget.map { "\($0)" } ?? "" },
            C("gradient_equivalents_to_target") { row, _ in number(row.result?.gradientEquivalentsToTarget) },
            C("seconds_to_target") { row, _ in number(row.result?.timing.secondsToTarget) },
            C("start_gradient_norm") { row, _ in number(row.result?.startGradientNorm) },
            C("relative_gradient_norm") { row, _ in number(row.result?.relativeGradientNorm) },
            C("search_end") { row, _ in row.result?.search?.end.rawValue ?? "" },
            C("search_kernel_fraction") { row, _ in number(row.result?.search?.kernelFraction) },
        ] + ListedProbeReport.columns(spec: spec)
    }
}

// MARK: - Figures

extension NetworkReport {
    public static var figures: [Figure] { [scatter, index, spectra, eigenvalues, barriers, criticalPoints, closedForm, timeToTarget, curves, learningTime] + ListedProbeReport.figures }

    /// The completed trials' results per sweep point.
    static func results(_ input: FigureInput) -> [[TrialResult]] { input.completedRows.map { $0.compactMap(\.result) } }

    /// The probed end points' results and Hessian probes per sweep point; nil when no trial was probed.
    static func hessians(_ input: FigureInput) -> [[(TrialResult, HessianResults)]]? {
        let completed = results(input)
        guard completed.contains(where: { $0.contains { $0.probes != nil } }) else { return nil }
        return completed.map { $0.compactMap { result in result.probes?.hessian.map { (result, $0) } } }
    }

    static let scatter = Figure(
        file: "scatter.svg",
        draw: { input in
            SVGFigures.scatter(labels: input.labels, pairs: results(input).map { $0.map { ($0.train.loss, $0.test.loss) } },
                               title: "\(input.report.experiment): final train against test loss")
        },
        caption: { _ in "Each network's final training loss against its test loss: how well the training loss predicts the test loss at each size." })

    static let index = Figure(
        file: "index.svg",
        draw: { input in
            hessians(input).map { hessians in
                SVGFigures.indexAgainstLoss(labels: input.labels, pairs: hessians.map { $0.compactMap { pair in pair.1.index.map { ($0.value, pair.0.train.loss) } } },
                                            title: "\(input.report.experiment): index of the end points against training loss")
            }
        },
        caption: { _ in "Each end point's index α against its final training loss (the form of Dauphin et al.'s Fig. 1): high-error critical points should have high index." },
        before: { input in probeSection(input.report) })

    static let spectra = Figure(
        file: "spectra.svg",
        draw: { input in
            hessians(input).map { hessians in
                SVGFigures.spectralDensities(labels: input.labels, densities: hessians.map { $0.compactMap(\.1.density) },
                                             title: "\(input.report.experiment): Hessian spectral density at the end points")
            }
        },
        caption: { _ in "The Hessian's spectral density at the end points, averaged per size, on a log scale: the spike at zero, the bulk and the outliers; mass left of zero is the index." })

    static let eigenvalues = Figure(
        file: "eigenvalues.svg",
        draw: { input in
            hessians(input).map { hessians in
                SVGFigures.histograms(
                    labels: input.labels, values: hessians.map { $0.map { $0.1.lambdaMin / abs($0.1.lambdaMax) } }, bins: input.report.bins,
                    quantity: "λmin / λmax (a minimum has λmin/λmax ≥ −tolerance)", title: "\(input.report.experiment): smallest over largest Hessian eigenvalue per end point")
            }
        },
        caption: { _ in "The smallest eigenvalue over the largest per end point: at or above −tolerance, a minimum." })

    static let barriers = Figure(
        file: "barriers.svg",
        draw: { input in
            guard hessians(input) != nil else { return nil }
            return SVGFigures.histograms(
                labels: input.labels.flatMap { ["\($0): init → end", "\($0): restart ↔ restart"] },
                values: results(input).flatMap { group in [group.compactMap { $0.probes?.paths?.initToEnd?.barrier }, group.compactMap { $0.probes?.paths?.toPartner?.profile.barrier }] },
                bins: input.report.bins, quantity: "barrier: max loss on the line − mean of its ends",
                title: "\(input.report.experiment): loss barriers along straight lines")
        },
        caption: { _ in "Loss barriers along straight lines from the start to the end point and between two restarts' end points." })

    static let criticalPoints = Figure(
        file: "criticalpoints.svg",
        draw: { input in
            guard input.report.criticalPoints != nil else { return nil }
            return DynamicsReport.criticalPointFigure(spec: input.spec, rows: input.rows, title: "\(input.report.experiment): training error against index of the points Newton's method found")
        },
        caption: { _ in "Each search's end point: its index α (the fraction of the Hessian's eigenvalues below −ε·λmax) against its training error — Dauphin et al.'s Fig. 1: critical points of high error are saddles of high index; the minima (α = 0) have the lowest error." },
        before: { input in criticalPointText(input.report) })

    static let closedForm = Figure(
        file: "closed-form.svg",
        draw: { input in input.report.closedForm?.figure(title: "\(input.report.experiment): the critical points found against the closed form") },
        caption: { _ in "Training loss against index: every closed-form critical point of the linear autoencoder (the first sweep point's width) and those the searches converged to and matched." },
        before: { input in input.report.closedForm?.html() ?? "" })

    static let timeToTarget = Figure(
        file: "time-to-target.svg",
        draw: { input in
            guard let times = input.report.timeToTarget else { return nil }
            let series = times.panels.flatMap { panel in panel.rows.map { row in
                (label: (times.panels.count > 1 ? panel.label + ": " : "") + row.variant,
                 pairs: times.targets.indices.compactMap { t in row.seconds[t].map { (times.targets[t], $0) } })
            } }
            return SVGFigures.scatter(labels: series.map(\.label), pairs: series.map(\.pairs),
                                      title: "\(input.report.experiment): seconds to reach each training loss (medians)", xLabel: "target training loss", yLabel: "median training seconds")
        },
        caption: { _ in "Median training seconds until the training loss first reached each target, per optimizer at its best learning rate (a target missing for an optimizer: half or more of its restarts never reached it)." },
        before: { input in input.report.timeToTarget?.html() ?? "" })

    static let curves = Figure(
        file: "curves.svg",
        draw: { input in DynamicsReport.curveFigure(spec: input.spec, rows: input.rows, title: "\(input.report.experiment): learning curves (median and quartiles over restarts)") },
        caption: { _ in "Training loss per epoch (a full-batch method's epoch is one step), median and interquartile band over the restarts; panels share the starting points, so optimizers are compared from the same places." },
        before: { _ in "<h2>Learning curves</h2>\n" })

    static let learningTime = Figure(
        file: "learning-time.svg",
        draw: { input in
            guard let times = input.report.learningTimes, input.report.learningTimeTrends != nil else { return nil }
            return DynamicsReport.learningTimeFigure(points: times, maximumEpochs: input.spec.stopping.epochs.max() ?? 1,
                                                     title: "\(input.report.experiment): epochs to reach training loss \(input.report.targetLoss.map { SVGFigures.format($0) } ?? "") against depth")
        },
        caption: { _ in "Median epochs to the target loss (bars: quartiles) against depth, one line per initialization and activation — Saxe et al.'s claim: flat for orthogonal initialization, growing with depth for scaled Gaussian. Open circles on the dashed line: half or more of the restarts never reached the target." },
        before: { input in
            let e = SVGFigures.escape, report = input.report
            let trendText = (report.learningTimeTrends ?? []).map { "\(e($0.series.isEmpty ? "all" : $0.series)): ρ(depth, epochs) = \(HTMLReport.format($0.spearmanRho, digits: 2)), deepest/shallowest = \(HTMLReport.format($0.growth, digits: 2))×" }.joined(separator: "; ")
            return "<h2>Learning time against depth</h2>\n<p>Epochs until the training loss first reached \(HTMLReport.format(report.targetLoss)). \(trendText).</p>\n"
        },
        after: { input in
            let e = SVGFigures.escape, format = HTMLReport.format
            var rows = ""
            for t in input.report.learningTimes ?? [] {
                rows += "<tr><td>\(e(t.label))</td><td>\(t.depth)</td><td>\(t.reached)/\(t.trials)</td><td>\(format(t.censoredMedian, 1))</td><td>\(format(t.epochs?.p25, 1))</td><td>\(format(t.epochs?.p75, 1))</td></tr>\n"
            }
            return "<div class=\"scroll\"><table><tr><th>sweep point</th><th>depth</th><th>reached</th><th>median epochs</th><th>p25</th><th>p75</th></tr>\n\(rows)</table></div>\n"
        })

    /// The end-point section's heading, explanation and table (before the first probe figure).
    static func probeSection(_ report: ExperimentReport) -> String {
        let e = SVGFigures.escape, format = HTMLReport.format
        var rows = ""
        for p in report.points {
            guard let probes = p.probes else { continue }
            rows += """
            <tr><td>\(e(p.label))</td><td>\(probes.probed)</td><td>\(format(probes.gradientNorm?.median, 4))</td><td>\(format(probes.lambdaMax?.median, 4))</td>
            <td>\(format(probes.lambdaMin?.median, 4))</td><td>\(format(probes.index?.mean, 4))</td><td>\(format(probes.exactIndex?.mean, 4))</td>
            <td>\(format(probes.minimumFraction.map { $0 * 100 }, 1))%</td><td>\(format(probes.indexLossSpearman, 2))</td>
            <td>\(format(probes.initToEndMonotone.map { $0 * 100 }, 0))%</td><td>\(format(probes.initToEndBarrier?.median, 4))</td>
            <td>\(format(probes.betweenRestartsBarrier?.median, 4))</td></tr>

            """
        }
        let correlation = report.indexLossCorrelation.map {
            "Across \($0.points) end points, Spearman's ρ between index and final training loss is \(format($0.spearmanRho, 2)) (p = \(String(format: "%.3g", $0.spearmanP)))."
        } ?? ""
        return """
        <h2>What are the end points?</h2>
        <p>Each trial's end point was probed on its training samples: the gradient norm, the Hessian's extreme eigenvalues (Lanczos with full
        reorthogonalization), its spectral density and index α — the fraction of eigenvalues below −ε·λmax, ε = \(report.probeEpsilon.map { String(format: "%g", $0) } ?? "–") —
        by stochastic Lanczos quadrature, and the loss along straight lines. An end point counts as a minimum when λmin ≥ −\(format(report.minimumTolerance, 3))·λmax. \(correlation)</p>
        <div class="scroll"><table><tr><th>network</th><th>probed</th><th>‖∇L‖ median</th><th>λmax median</th><th>λmin median</th><th>index α mean</th><th>exact α mean</th><th>minima</th><th>ρ(α, train loss)</th><th>start→end monotone</th><th>barrier init→end median</th><th>barrier restart↔restart median</th></tr>
        \(rows)</table></div>

        """
    }

    /// The critical points' heading and paragraph (Dauphin et al. 2014).
    static func criticalPointText(_ report: ExperimentReport) -> String {
        guard let c = report.criticalPoints else { return "" }
        let format = HTMLReport.format
        return """
        <h2>Critical points: is error higher where the index is higher?</h2>
        <p>\(c.ends.map { "How the searches ended: " + $0.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + " (gradient-flat: the gradient lies in the Hessian's near-kernel, so Newton steps cannot lower it; search_end in trials.csv). " } ?? "")\(c.searches) Newton searches (attracted to critical points of any index) from points on SGD trajectories; \(c.converged) reached
        ‖∇L‖ ≤ \(String(format: "%.0e", c.tolerance))·‖∇L₀‖\(c.unconvergedMedianRelativeGradient.map { "; the others stopped at a median ‖∇L‖/‖∇L₀‖ = " + String(format: "%.1e", $0) + " (near-critical points, drawn hollow)" } ?? "").
        Spearman's ρ of training error against index α: \(format(c.allSpearmanRho, 2)) over all \(c.searches) end points (p = \(c.allSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))\(c.converged >= 3 ? ", \(format(c.convergedSpearmanRho, 2)) over the converged ones (p = \(c.convergedSpearmanP.map { String(format: "%.2g", $0) } ?? "–"))" : "").</p>

        """
    }
}
