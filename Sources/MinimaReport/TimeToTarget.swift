import Foundation
import MinimaCore
import MinimaExperiment

/// Time and work to several training losses, per optimizer at its best learning rate: the
/// answer to "is a Hessian method practical?" measured as users decide it. Read from the learning
/// curves: entry e holds the training loss after e epochs (steps) of the optimizer, its work in
/// gradient-equivalents so far (deterministic) and its training seconds so far (timing).
public struct TimeToTarget: Codable, Sendable {
    public var targets: [Double]
    /// How FLOP are counted: gradient-equivalents × 6 × parameters × training samples (the
    /// `--dry-run` rule for a pass over the samples).
    public var flopRule: String
    public var panels: [Panel]

    /// One network (everything that varies except the optimizer variant and its learning rate).
    public struct Panel: Codable, Sendable {
        public var label: String
        public var parameters: Int
        public var rows: [Row]
        /// Per target: the fastest Newton-type row against the fastest first-order row.
        public var verdicts: [Verdict]
    }

    /// One optimizer variant at its best learning rate.
    public struct Row: Codable, Sendable {
        public var variant: String
        public var kind: String
        /// The learning rate chosen (nil: the optimizer takes none) and the grid it came from.
        public var learningRate: Double?
        public var learningRates: [Double]
        public var restarts: Int
        /// Per target: restarts that reached it, and the medians over all restarts (a restart
        /// that never reached it counts as taking forever; nil when half or more never did).
        public var reached: [Int]
        public var work: [Double?]
        public var flop: [Double?]
        public var seconds: [Double?]
    }

    public struct Verdict: Codable, Sendable {
        public var target: Double
        public var newton: String?
        public var firstOrder: String?
        /// Newton's median over the first-order method's (below 1: Newton is faster); nil when
        /// either never reached the target in half its restarts.
        public var secondsRatio: Double?
        public var flopRatio: Double?
    }

    static func build(spec: ExperimentSpec, report: ExperimentReport, rows: [TrialRow]) -> TimeToTarget? {
        guard let targets = spec.report.targets, spec.curve != nil else { return nil }
        let varying = spec.varyingDimensions
        let points = spec.sweepPoints
        let samples = spec.data.trainingSamples.map(Double.init)
        var panelOrder: [String] = []
        var members: [String: [SweepPoint]] = [:]
        for point in points {
            let label = DynamicsReport.label(point, varying: varying, dropping: ["variant", "variant-lr", "optimizer", "lr", "momentum"])
            if members[label] == nil { panelOrder.append(label) }
            members[label, default: []].append(point)
        }
        var panels: [Panel] = []
        for label in panelOrder {
            let group = members[label]!
            let parameters = group.first.map { report.points[$0.index].parameters } ?? 0
            // Variants in spec order: a variant is its name (or the kind without variants, with momentum).
            var variantOrder: [String] = []
            var byVariant: [String: [SweepPoint]] = [:]
            for point in group {
                let kind = point.optimizer ?? .sgd
                let name = point.variantName ?? (kind.rawValue + (point.momentum > 0 ? " momentum \(point.momentum)" : ""))
                if byVariant[name] == nil { variantOrder.append(name) }
                byVariant[name, default: []].append(point)
            }
            var panelRows: [Row] = []
            for name in variantOrder {
                let candidates = byVariant[name]!
                let measured = candidates.map { point in
                    (point, measure(rows.filter { $0.point == point.index }, targets: targets))
                }
                // The best learning rate: the fastest (median work) to the lowest target any
                // candidate reaches in half its restarts.
                var best = measured[0]
                for t in targets.indices.sorted(by: { targets[$0] < targets[$1] }) {
                    let finite = measured.filter { $0.1.work[t] != nil }
                    if let fastest = finite.min(by: { $0.1.work[t]! < $1.1.work[t]! }) { best = fastest; break }
                }
                let kind = best.0.optimizer ?? .sgd
                var row = best.1
                row.variant = name
                row.kind = kind.rawValue
                row.learningRate = kind.takesLearningRate ? best.0.learningRate : nil
                row.learningRates = kind.takesLearningRate ? candidates.map(\.learningRate) : []
                row.flop = row.work.map { work in work.flatMap { w in samples.map { w * 6 * Double(parameters) * $0 } } }
                panelRows.append(row)
            }
            var verdicts: [Verdict] = []
            for (t, target) in targets.enumerated() {
                let isNewton = { (row: Row) in OptimizerKind(row.kind).isSecondOrder }
                let newton = panelRows.filter(isNewton).filter { $0.seconds[t] != nil }.min { $0.seconds[t]! < $1.seconds[t]! }
                let first = panelRows.filter { !isNewton($0) }.filter { $0.seconds[t] != nil }.min { $0.seconds[t]! < $1.seconds[t]! }
                var verdict = Verdict(target: target, newton: newton?.variant, firstOrder: first?.variant)
                if let newton, let first {
                    verdict.secondsRatio = newton.seconds[t]! / first.seconds[t]!
                    if let a = newton.flop[t], let b = first.flop[t] { verdict.flopRatio = a / b }
                }
                verdicts.append(verdict)
            }
            panels.append(Panel(label: label, parameters: parameters, rows: panelRows, verdicts: verdicts))
        }
        return TimeToTarget(targets: targets, flopRule: "FLOP = gradient-equivalents × 6 × parameters × training samples" + (samples == nil ? " (not given: data.training-samples is not set)" : ""), panels: panels)
    }

    /// The medians of one sweep point's completed restarts per target.
    static func measure(_ rows: [TrialRow], targets: [Double]) -> Row {
        let curves = rows.compactMap { row -> (loss: [Double], work: [Double], seconds: [Double])? in
            guard row.isCompleted, let result = row.result, let curve = result.curve, let work = curve.gradientEquivalents,
                  let seconds = result.timing.curveSeconds else { return nil }
            return (curve.trainingLoss, work, seconds)
        }
        var row = Row(variant: "", kind: "", learningRate: nil, learningRates: [], restarts: curves.count, reached: [], work: [], flop: [], seconds: [])
        for target in targets {
            var works: [Double] = [], seconds: [Double] = []
            for curve in curves {
                if let e = curve.loss.firstIndex(where: { $0 <= target }), e < curve.work.count, e < curve.seconds.count {
                    works.append(curve.work[e]); seconds.append(curve.seconds[e])
                } else {
                    works.append(.infinity); seconds.append(.infinity)
                }
            }
            row.reached.append(works.filter(\.isFinite).count)
            row.work.append(censoredMedian(works))
            row.seconds.append(censoredMedian(seconds))
        }
        return row
    }

    static func censoredMedian(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : 0.5 * (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2])
        return middle.isFinite ? middle : nil
    }

    // MARK: Presentation

    static func value(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)g", $0) } ?? "–" }

    func terminalLines() -> String {
        var out = "\ntime to target (median over restarts, each optimizer at its best learning rate; \(flopRule)):\n"
        for panel in panels {
            out += "\(panel.label.isEmpty ? "all" : panel.label) (\(panel.parameters) parameters)\n"
            out += TerminalReport.pad("optimizer", 26) + targets.map { TerminalReport.pad("loss ≤ \(Self.value($0))", 26) }.joined() + "\n"
            for row in panel.rows {
                out += TerminalReport.pad(row.variant + (row.learningRate.map { " (lr \(Self.value($0)))" } ?? ""), 26)
                for t in targets.indices {
                    out += TerminalReport.pad("\(row.reached[t])/\(row.restarts) \(Self.value(row.seconds[t])) s \(Self.value(row.work[t])) ge", 26)
                }
                out += "\n"
            }
            for v in panel.verdicts {
                guard let newton = v.newton, let first = v.firstOrder, let ratio = v.secondsRatio else {
                    out += "  loss ≤ \(Self.value(v.target)): \(v.newton == nil ? "no Newton method" : "no first-order method") reached it in half its restarts\n"
                    continue
                }
                out += "  loss ≤ \(Self.value(v.target)): \(newton) \(ratio < 1 ? "wins" : "loses") against \(first), \(Self.value(ratio < 1 ? 1 / ratio : ratio, 2))× in seconds"
                    + (v.flopRatio.map { ", \(Self.value($0 < 1 ? 1 / $0 : $0, 2))× \($0 < 1 ? "fewer" : "more") FLOP" } ?? "") + "\n"
            }
        }
        return out
    }

    func html() -> String {
        let e = SVGFigures.escape
        var out = """
        <h2>Time to target: is a Hessian method practical?</h2>
        <p>For each optimizer at its best learning rate from its grid (the fastest to the lowest target it reaches in half its restarts), the median
        over restarts of the training seconds, the work in gradient-equivalents (a pass over the training samples = 1; a Hessian-vector product = 2 on its
        share of the samples) and the FLOP (\(e(flopRule))) until the training loss first reached each target. A restart that never reached a target
        counts as taking forever; “–” means half or more never did.</p>

        """
        for panel in panels {
            out += "<h3>\(e(panel.label.isEmpty ? "all" : panel.label)) (\(panel.parameters) parameters)</h3>\n<div class=\"scroll\"><table><tr><th>optimizer</th><th>learning rate (grid)</th>"
            for target in targets { out += "<th>loss ≤ \(Self.value(target)): reached</th><th>seconds</th><th>gradient-eq.</th><th>FLOP</th>" }
            out += "</tr>\n"
            for row in panel.rows {
                out += "<tr><td>\(e(row.variant))</td><td>\(row.learningRate.map { Self.value($0) + " (" + row.learningRates.map { Self.value($0) }.joined(separator: ", ") + ")" } ?? "–")</td>"
                for t in targets.indices {
                    out += "<td>\(row.reached[t])/\(row.restarts)</td><td>\(Self.value(row.seconds[t]))</td><td>\(Self.value(row.work[t]))</td><td>\(Self.value(row.flop[t]))</td>"
                }
                out += "</tr>\n"
            }
            out += "</table></div>\n<ul>\n"
            for v in panel.verdicts {
                if let newton = v.newton, let first = v.firstOrder, let ratio = v.secondsRatio {
                    out += "<li>loss ≤ \(Self.value(v.target)): <b>\(e(newton)) \(ratio < 1 ? "wins" : "loses")</b> against \(e(first)): \(Self.value(ratio < 1 ? 1 / ratio : ratio, 2))× \(ratio < 1 ? "less" : "more") time"
                        + (v.flopRatio.map { ", \(Self.value($0 < 1 ? 1 / $0 : $0, 2))× \($0 < 1 ? "fewer" : "more") FLOP" } ?? "") + "</li>\n"
                } else {
                    out += "<li>loss ≤ \(Self.value(v.target)): \(v.newton == nil ? "no Newton method" : "no first-order method") reached it in half its restarts</li>\n"
                }
            }
            out += "</ul>\n"
        }
        return out
    }
}
