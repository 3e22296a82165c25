import Foundation
import MinimaCore
import MinimaExperiment

/// The critical points a Newton search found (Dauphin et al. 2014, Fig. 1): their training error
/// against their index.
public struct CriticalPointSummary: Codable, Sendable {
    /// Searches run (completed Newton trials with a measured index).
    public var searches: Int
    /// … that reached ‖∇L‖ ≤ tolerance·‖∇L₀‖.
    public var converged: Int
    public var tolerance: Double
    /// Spearman's ρ of training error against index over the converged points (the paper's claim: > 0).
    public var convergedSpearmanRho: Double?
    public var convergedSpearmanP: Double?
    /// … over every search's end point, converged or not.
    public var allSpearmanRho: Double?
    public var allSpearmanP: Double?
    /// Median relative gradient norm ‖∇L‖/‖∇L₀‖ reached by the searches that did not converge.
    public var unconvergedMedianRelativeGradient: Double?
    /// How the searches that classify their end (Newton-MR's) ended, by name: converged,
    /// gradient-flat, stalled (nil: no search classified its end).
    public var ends: [String: Int]?
}

/// How long each sweep point took to reach the target loss (Saxe et al. 2014, Fig. 5).
public struct LearningTimePoint: Codable, Sendable {
    public var point: Int
    public var label: String
    /// The series it belongs to (everything that varies but the architecture) and its depth
    /// (weight layers = hidden layers + 1).
    public var series: String
    public var depth: Int
    public var trials: Int
    public var reached: Int
    /// Epochs to target over the trials that reached it (nil: none did).
    public var epochs: Summary?
    /// The median over all trials, counting a trial that never reached the target as taking
    /// forever (nil when half or more never did).
    public var censoredMedian: Double?
}

/// Does the learning time grow with depth? One line per series.
public struct LearningTimeTrend: Codable, Sendable {
    public var series: String
    public var depths: [Int]
    public var medians: [Double?]
    /// Spearman's ρ of the median epochs to target against depth (over depths where it is known).
    public var spearmanRho: Double?
    /// Median at the largest depth over median at the smallest.
    public var growth: Double?
}

public enum DynamicsReport {
    /// The label of a point without the dimensions in `dropping` (the panel or series it belongs to).
    static func label(_ point: SweepPoint, varying: Set<String>, dropping: Set<String>) -> String {
        NetworkKind.label(of: point, varying: varying.subtracting(dropping))
    }

    /// Where the completed Newton searches ended: index (exact when the probe computed the
    /// spectrum, else SLQ), training error, whether they met the relative tolerance, and the
    /// relative gradient norm they reached. Empty without a relative tolerance.
    static func searchEndPoints(spec: ExperimentSpec, rows: [TrialRow]) -> [(index: Double, error: Double, converged: Bool, relative: Double?)] {
        guard spec.stopping.relativeGradientTolerance != nil else { return [] }
        let points = spec.sweepPoints
        return rows.compactMap { row in
            guard points[row.point].optimizer?.info?.traits.contains(.criticalPoints) == true, let result = row.result, result.status == .completed,
                  let hessian = result.probes?.hessian, let index = hessian.exact?.index ?? hessian.index?.value, let error = result.train.error else { return nil }
            return (index, error, result.stopReason == .relativeGradientTolerance, result.relativeGradientNorm)
        }
    }

    static func criticalPoints(spec: ExperimentSpec, rows: [TrialRow]) -> CriticalPointSummary? {
        let searches = searchEndPoints(spec: spec, rows: rows)
        guard let tolerance = spec.stopping.relativeGradientTolerance, !searches.isEmpty else { return nil }
        let converged = searches.filter(\.converged)
        let unconverged = searches.filter { !$0.converged }.compactMap(\.relative).sorted()
        let convergedRank = Statistics.spearman(converged.map(\.index), converged.map(\.error))
        let allRank = Statistics.spearman(searches.map(\.index), searches.map(\.error))
        return CriticalPointSummary(
            searches: searches.count, converged: converged.count, tolerance: tolerance,
            convergedSpearmanRho: convergedRank?.rho, convergedSpearmanP: convergedRank?.pValue,
            allSpearmanRho: allRank?.rho, allSpearmanP: allRank?.pValue,
            unconvergedMedianRelativeGradient: unconverged.isEmpty ? nil : Statistics.percentile(unconverged, 50),
            ends: searchEnds(spec: spec, rows: rows))
    }

    /// The classified ends of the completed critical-point searches, counted by name.
    static func searchEnds(spec: ExperimentSpec, rows: [TrialRow]) -> [String: Int]? {
        var ends: [String: Int] = [:]
        for row in rows where row.isCompleted {
            if let end = row.result?.search?.end { ends[end.rawValue, default: 0] += 1 }
        }
        return ends.isEmpty ? nil : ends
    }

    static func learningTimes(spec: ExperimentSpec, rows: [TrialRow]) -> (points: [LearningTimePoint], trends: [LearningTimeTrend])? {
        guard spec.stopping.targetLoss != nil else { return nil }
        let varying = spec.varyingDimensions
        var points: [LearningTimePoint] = []
        for point in spec.sweepPoints {
            let mine = rows.filter { $0.point == point.index && $0.result != nil && $0.result?.status != .cancelled }
            let reached = mine.compactMap { $0.result?.epochsToTarget }.map(Double.init)
            let sorted = mine.map { $0.result?.epochsToTarget.map(Double.init) ?? .infinity }.sorted()
            var censored: Double?
            if !sorted.isEmpty {
                let middle = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : 0.5 * (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2])
                censored = middle.isFinite ? middle : nil
            }
            points.append(LearningTimePoint(point: point.index, label: NetworkKind.label(of: point, varying: varying),
                                            series: label(point, varying: varying, dropping: ["architecture"]), depth: point.hidden.count + 1,
                                            trials: mine.count, reached: reached.count, epochs: Statistics.summarize(reached), censoredMedian: censored))
        }
        var trends: [LearningTimeTrend] = []
        for series in orderedUnique(points.map(\.series)) {
            let line = points.filter { $0.series == series }.sorted { $0.depth < $1.depth }
            let known = line.filter { $0.censoredMedian != nil }
            let rank = Statistics.spearman(known.map { Double($0.depth) }, known.map { $0.censoredMedian! })
            var growth: Double?
            if let first = line.first?.censoredMedian, let last = line.last?.censoredMedian, first > 0 { growth = last / first }
            trends.append(LearningTimeTrend(series: series, depths: line.map(\.depth), medians: line.map(\.censoredMedian), spearmanRho: rank?.rho, growth: growth))
        }
        return (points, trends)
    }

    static func orderedUnique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    // MARK: Figures

    /// Training error against index for the Newton searches' end points, converged filled.
    static func criticalPointFigure(spec: ExperimentSpec, rows: [TrialRow], title: String) -> String? {
        let searches = searchEndPoints(spec: spec, rows: rows)
        guard !searches.isEmpty else { return nil }
        let converged = searches.filter(\.converged).map { ($0.index, $0.error) }
        let unconverged = searches.filter { !$0.converged }.map { ($0.index, $0.error) }
        return SVGFigures.scatter(labels: ["critical points (converged)", "not converged (last point)"], pairs: [converged, unconverged],
                                  title: title, xLabel: "index α (fraction of negative eigenvalues)", yLabel: "training error")
    }

    /// The training loss per epoch, median and quartiles over the restarts of each point; one
    /// panel per combination of the dimensions other than the optimizer.
    static func curveFigure(spec: ExperimentSpec, rows: [TrialRow], title: String) -> String? {
        guard spec.curve != nil else { return nil }
        let varying = spec.varyingDimensions
        var panels: [(title: String, bands: [SVGFigures.Band])] = []
        for point in spec.sweepPoints {
            let curves = rows.filter { $0.point == point.index }.compactMap { $0.result?.curve?.trainingLoss }.filter { !$0.isEmpty }
            guard !curves.isEmpty else { continue }
            let length = curves.map(\.count).max()!
            var median: [Double] = [], low: [Double] = [], high: [Double] = []
            for e in 0..<length {
                // A trial that stopped early keeps its last value (where it stopped).
                let values = curves.map { $0[min(e, $0.count - 1)] }.filter(\.isFinite).sorted()
                guard !values.isEmpty else { break }
                median.append(Statistics.percentile(values, 50)); low.append(Statistics.percentile(values, 25)); high.append(Statistics.percentile(values, 75))
            }
            let panel = label(point, varying: varying, dropping: ["optimizer"])
            let band = SVGFigures.Band(label: varying.contains("optimizer") ? (point.optimizer ?? .sgd).rawValue : NetworkKind.label(of: point, varying: varying),
                                       median: median, low: low, high: high)
            if let i = panels.firstIndex(where: { $0.title == panel }) { panels[i].bands.append(band) } else { panels.append((panel, [band])) }
        }
        guard !panels.isEmpty else { return nil }
        return SVGFigures.bands(panels: varying.contains("optimizer") ? panels : [("", panels.flatMap(\.bands))], title: title,
                                xLabel: "epoch (full-batch methods: step)", yLabel: "training loss (log scale)")
    }

    /// Median epochs to target (quartile bars) against depth, one line per series.
    static func learningTimeFigure(points: [LearningTimePoint], maximumEpochs: Int, title: String) -> String {
        let series = orderedUnique(points.map(\.series))
        let lines = series.map { name in
            points.filter { $0.series == name }.sorted { $0.depth < $1.depth }.map { p in
                SVGFigures.LinePoint(x: Double(p.depth), y: p.censoredMedian, low: p.epochs?.p25, high: p.epochs?.p75)
            }
        }
        return SVGFigures.lines(labels: series.map { $0.isEmpty ? "all" : $0 }, lines: lines, ceiling: Double(maximumEpochs), title: title,
                                xLabel: "depth (weight layers)", yLabel: "epochs to the target loss (median, quartiles)")
    }
}

