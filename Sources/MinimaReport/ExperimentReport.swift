import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol
import MinimaLedger

/// One trial as reported (trials.csv).
public struct TrialRow: Sendable {
    public var trial: Int
    public var point: Int
    public var restart: Int
    public var state: String
    /// The outcome (nil: pending or failed); its kind's accessors read it (`result`, `spinGlass`).
    public var outcome: TaskOutcome?
    /// The outcome's status, as its kind reads it.
    public var status: TrialStatus?
    public var worker: String?
    public var seconds: Double?
    public var failure: String?

    public init(trial: Int, point: Int, restart: Int, state: String, outcome: TaskOutcome?, status: TrialStatus?, worker: String?, seconds: Double?, failure: String?) {
        self.trial = trial
        self.point = point
        self.restart = restart
        self.state = state
        self.outcome = outcome
        self.status = status
        self.worker = worker
        self.seconds = seconds
        self.failure = failure
    }

    /// Whether the trial ran to one of its stopping rules (not diverged, cancelled or failed).
    public var isCompleted: Bool { status == .completed }
}

public struct PointReport: Codable, Sendable {
    public var index: Int
    public var label: String
    public var hidden: [Int]
    public var parameters: Int
    public var trials: Int
    public var completed: Int
    public var diverged: Int
    public var failed: Int
    public var pending: Int
    /// Summaries of the final metrics of completed trials, by metric name (`test-loss`, …).
    public var metrics: [String: Summary]
    /// Pearson correlation between final train and test loss (Choromanska et al. 2015, Table 1).
    public var trainTestLossCorrelation: Double?
    /// Fraction of completed trials whose test loss is within ε of this point's lowest.
    public var withinEpsilonOfBest: Double?
    /// … and within ε of the lowest test loss of the whole experiment.
    public var withinEpsilonOfGlobalBest: Double?
    /// What the probes found at this point's end points (nil: no probes).
    public var probes: PointProbes?
    /// What the listed probes (``ProbeMethods``) measured here: per probe, per declared value.
    public var listedProbes: [String: [String: Summary]]?
}

/// Does the spread of final test losses shrink with network size?
public struct SpreadTest: Codable, Sendable {
    public var smallest: String
    public var largest: String
    /// Brown–Forsythe between the smallest and the largest network.
    public var brownForsytheF: Double
    public var brownForsytheP: Double
    /// Brown–Forsythe across all sweep points.
    public var allPointsF: Double?
    public var allPointsP: Double?
    /// Spearman's rank correlation of the standard deviation of test loss with parameter count.
    public var spearmanRho: Double?
    public var spearmanP: Double?
    /// Standard deviation of test loss, smallest and largest network.
    public var smallestStandardDeviation: Double
    public var largestStandardDeviation: Double
    public var narrows: Bool
}

public struct ExperimentReport: Codable, Sendable {
    public var experiment: String
    public var specSHA256: String
    public var dataset: String
    public var datasetSHA256: String
    public var restarts: Int
    public var trials: Int
    public var done: Int
    public var failed: Int
    public var pending: Int
    public var epsilon: Double
    public var bins: Int
    public var points: [PointReport]
    public var spread: SpreadTest?
    public var generatedAt: String
    /// Workers whose results two others outvoted (verification), with the evidence; their
    /// results were taken back and run again.
    public var quarantinedWorkers: [QuarantinedWorker] = []
    /// Results taken back from quarantined workers or outvoted (kept in the ledger's `disputed_results`).
    public var disputedResults = 0
    /// The metric whose distribution the report is about: `test-loss` for networks, `energy`
    /// (H(w)/Λ) for spin glasses.
    public var primaryMetric = "test-loss"
    /// Its name in sentences and axes.
    public var primaryQuantity = "final test loss"
    /// What one sweep point is: "network" or "spin glass".
    public var subject = "network"
    /// The spin glass's theoretical band (spin-glass experiments with one H).
    public var spinGlassBand: SpinGlassBand?
    /// Spearman correlation of the index with the final training loss over all probed end points.
    public var indexLossCorrelation: IndexLossCorrelation?
    /// The index threshold ε and the minimum tolerance of the spec's Hessian probe.
    public var probeEpsilon: Double?
    public var minimumTolerance: Double?
    /// The Newton searches' critical points: training error against index (nil: no search).
    public var criticalPoints: CriticalPointSummary?
    /// A linear autoencoder's searches matched to its closed-form critical points.
    public var closedForm: ClosedFormCriticalPoints?
    /// Time and work to the spec's `report.targets` per optimizer variant.
    public var timeToTarget: TimeToTarget?
    /// Epochs to the target loss per sweep point and their trend with depth (nil: no target).
    public var learningTimes: [LearningTimePoint]?
    public var learningTimeTrends: [LearningTimeTrend]?
    public var targetLoss: Double?
    /// A network study on a `teacher:` set: where the global minimum is (nil: unknown).
    public var globalMinimum: KnownGlobalMinimum?

    /// The global minimum of a realizable teacher–student study on data: a student of the
    /// teacher's depth and activation, at least as wide, with squared error and no weight decay
    /// can fit the teacher's targets exactly, so its training loss's global minimum is 0.
    public struct KnownGlobalMinimum: Codable, Sendable {
        public var value: Double
        /// A restart is at the global minimum when its final training loss is at most this.
        public var tolerance: Double
        /// Per sweep point: the fraction of completed restarts at the global minimum (nil: that
        /// point's student is not realizable — narrower or shallower than the teacher, another
        /// activation, or weight decay, whose floor is not computed).
        public var fractions: [Double?]
        /// Per sweep point: the median final training loss of the restarts that missed it.
        public var missedMedians: [Double?]
    }

    public struct QuarantinedWorker: Codable, Sendable {
        public var worker: String
        public var reason: String
        public init(worker: String, reason: String) { self.worker = worker; self.reason = reason }
    }

    /// Builds the report of an experiment from its ledger records: the common statistics here,
    /// the kind's through its ``ReportKind``.
    public static func build(stored: StoredSpec, specSHA256: String, records: [TrialRecord]) -> (ExperimentReport, [TrialRow]) {
        let spec = stored.spec
        let kind = ReportKinds.kind(of: spec)
        let decoder = MessageCodec.makeDecoder()
        var byTrial: [Int: TrialRecord] = [:]
        for record in records { byTrial[record.trial] = record }
        let rows = (0..<spec.trialCount).map { trial in TrialRow(trial: trial, record: byTrial[trial], restarts: spec.restarts, kind: kind, decoder: decoder) }
        return (build(stored: stored, specSHA256: specSHA256, rows: rows), rows)
    }

    /// Builds the report from rows already decoded (one per trial, in order): what the live
    /// page does as results arrive, decoding each record once.
    public static func build(stored: StoredSpec, specSHA256: String, rows: [TrialRow]) -> ExperimentReport {
        let spec = stored.spec
        let kind = ReportKinds.kind(of: spec)
        let points = spec.sweepPoints
        let varying = spec.varyingDimensions
        let primary: (TrialRow) -> Double? = { kind.primary($0) }
        let completed = rows.filter(\.isCompleted)
        let globalBest = completed.compactMap(primary).filter(\.isFinite).min()
        var pointReports: [PointReport] = []
        for point in points {
            let mine = rows.filter { $0.point == point.index }
            let goodRows = mine.filter(\.isCompleted)
            var metrics: [String: Summary] = [:]
            for name in spec.metrics {
                if let summary = Statistics.summarize(goodRows.compactMap { kind.metric(name, of: $0) }) { metrics[name] = summary }
            }
            let primaryValues = goodRows.compactMap(primary).filter(\.isFinite)
            let best = primaryValues.min()
            var report = PointReport(
                index: point.index, label: spec.label(of: point, varying: varying), hidden: point.hidden,
                parameters: stored.size(of: point),
                trials: mine.count, completed: goodRows.count, diverged: mine.filter { $0.status == .diverged }.count,
                failed: mine.filter { $0.state == "failed" }.count, pending: mine.filter { $0.state == "pending" }.count,
                metrics: metrics,
                withinEpsilonOfBest: best.map { b in Double(primaryValues.filter { $0 <= b + spec.report.epsilon }.count) / Double(max(1, primaryValues.count)) },
                withinEpsilonOfGlobalBest: globalBest.map { b in Double(primaryValues.filter { $0 <= b + spec.report.epsilon }.count) / Double(max(1, primaryValues.count)) })
            kind.completePoint(&report, rows: mine, all: rows, spec: spec)
            pointReports.append(report)
        }
        var spread: SpreadTest?
        let primaryMetric = kind.primaryMetric
        let measured = pointReports.filter { ($0.metrics[primaryMetric]?.count ?? 0) >= 2 }
        if let smallest = measured.min(by: { $0.parameters < $1.parameters }), let largest = measured.max(by: { $0.parameters < $1.parameters }), smallest.index != largest.index {
            let values = { (index: Int) in rows.filter { $0.point == index && $0.isCompleted }.compactMap(primary) }
            if let pair = Statistics.brownForsythe([values(smallest.index), values(largest.index)]) {
                let all = Statistics.brownForsythe(measured.map { values($0.index) })
                let rank = Statistics.spearman(measured.map { Double($0.parameters) }, measured.map { $0.metrics[primaryMetric]!.standardDeviation })
                let sSmall = smallest.metrics[primaryMetric]!.standardDeviation, sLarge = largest.metrics[primaryMetric]!.standardDeviation
                spread = SpreadTest(smallest: smallest.label, largest: largest.label, brownForsytheF: pair.statistic, brownForsytheP: pair.pValue,
                                    allPointsF: all?.statistic, allPointsP: all?.pValue, spearmanRho: rank?.rho, spearmanP: rank?.pValue,
                                    smallestStandardDeviation: sSmall, largestStandardDeviation: sLarge,
                                    narrows: sLarge < sSmall && pair.pValue < 0.05)
            }
        }
        var report = ExperimentReport(
            experiment: spec.name, specSHA256: specSHA256, dataset: spec.data.dataset, datasetSHA256: stored.datasetSHA256,
            restarts: spec.restarts, trials: spec.trialCount, done: rows.filter { $0.state == "done" }.count,
            failed: rows.filter { $0.state == "failed" }.count, pending: rows.filter { $0.state == "pending" }.count,
            epsilon: spec.report.epsilon, bins: spec.report.bins, points: pointReports, spread: spread,
            generatedAt: ISO8601DateFormatter().string(from: Date()))
        report.primaryMetric = kind.primaryMetric
        report.primaryQuantity = kind.primaryQuantity
        report.subject = kind.subject
        kind.complete(&report, spec: spec, rows: rows)
        return report
    }
}

extension TrialRow {
    /// A trial's row from its ledger record (nil: pending), its outcome decoded (or `outcome`,
    /// when the caller has it already: the record's outcome as received).
    public init(trial: Int, record: TrialRecord?, outcome received: TaskOutcome? = nil, restarts: Int, kind: any ReportKind.Type, decoder: JSONDecoder) {
        let outcome = received ?? record?.outcomeJSON.flatMap { try? decoder.decode(TaskOutcome.self, from: Data($0.utf8)) }
        self.init(trial: trial, point: trial / restarts, restart: trial % restarts, state: record?.state.rawValue ?? "pending",
                  outcome: outcome, status: outcome.flatMap(kind.status), worker: record?.worker, seconds: record?.seconds, failure: record?.failure)
    }
}

/// `trials.csv`: one row per trial — its index, sweep point and restart, then its kind's columns.
public enum TrialsCSV {
    public static func render(rows: [TrialRow], spec: ExperimentSpec) -> String {
        let points = spec.sweepPoints
        let columns = ReportKinds.kind(of: spec).columns(spec: spec)
        var lines = [(["trial", "point", "restart"] + columns.map(\.header)).joined(separator: ",")]
        lines.reserveCapacity(rows.count + 1)
        for row in rows {
            let point = points[row.point]
            lines.append((["\(row.trial)", "\(row.point)", "\(row.restart)"] + columns.map { $0.value(row, point) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
