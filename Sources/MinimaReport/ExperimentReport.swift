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
    public var result: TrialResult?
    /// The outcome of a spin-glass trial (instead of ``result``).
    public var spinGlass: SpinGlassResult? = nil
    public var worker: String?
    public var seconds: Double?
    public var failure: String?

    /// Whether the trial ran to one of its stopping rules (not diverged, cancelled or failed).
    public var isCompleted: Bool { result?.status == .completed || spinGlass?.status == .completed }
}

/// The theoretical landmarks of the spherical H-spin glass's energy per spin (Auffinger, Ben
/// Arous & Černý 2013): the ground state −E₀ and the threshold −E∞ = −2√((H−1)/H) above which
/// critical points are almost all saddles and near which the local minima concentrate.
public struct SpinGlassBand: Codable, Sendable {
    public var order: Int
    /// −E∞.
    public var threshold: Double
    /// −E₀, where known (H = 2: equal to −E∞; H = 3: −1.657; H = 4: −1.7545).
    public var groundState: Double?

    public init(order: Int) {
        self.order = order
        threshold = -2 * (Double(order - 1) / Double(order)).squareRoot()
        groundState = switch order { case 2: threshold; case 3: -1.657; case 4: -1.7545; default: nil }
    }
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
    /// Epochs to the target loss per sweep point and their trend with depth (nil: no target).
    public var learningTimes: [LearningTimePoint]?
    public var learningTimeTrends: [LearningTimeTrend]?
    public var targetLoss: Double?

    public struct QuarantinedWorker: Codable, Sendable {
        public var worker: String
        public var reason: String
        public init(worker: String, reason: String) { self.worker = worker; self.reason = reason }
    }

    /// Builds the report of an experiment from its ledger records.
    public static func build(stored: StoredSpec, specSHA256: String, records: [TrialRecord]) -> (ExperimentReport, [TrialRow]) {
        let spec = stored.spec
        let points = spec.sweepPoints
        let varying = spec.varyingDimensions
        let decoder = MessageCodec.makeDecoder()
        var byTrial: [Int: TrialRecord] = [:]
        for record in records { byTrial[record.trial] = record }
        var rows: [TrialRow] = []
        rows.reserveCapacity(spec.trialCount)
        for trial in 0..<spec.trialCount {
            let record = byTrial[trial]
            var result: TrialResult?, glass: SpinGlassResult?
            if let json = record?.outcomeJSON, let outcome = try? decoder.decode(TaskOutcome.self, from: Data(json.utf8)) {
                if case .trained(let trained) = outcome { result = trained }
                if case .spinGlass(let descended) = outcome { glass = descended }
            }
            rows.append(TrialRow(trial: trial, point: trial / spec.restarts, restart: trial % spec.restarts, state: record?.state.rawValue ?? "pending",
                                 result: result, spinGlass: glass, worker: record?.worker, seconds: record?.seconds, failure: record?.failure))
        }
        let primaryMetric = spec.spinGlass == nil ? "test-loss" : "energy"
        let primary: (TrialRow) -> Double? = { row in spec.spinGlass == nil ? row.result?.test.loss : row.spinGlass?.energy }
        let completed = rows.filter(\.isCompleted)
        let globalBest = completed.compactMap(primary).filter(\.isFinite).min()
        var pointReports: [PointReport] = []
        for point in points {
            let mine = rows.filter { $0.point == point.index }
            let good = mine.compactMap { $0.result?.status == .completed ? $0.result : nil }
            let goodRows = mine.filter(\.isCompleted)
            var metrics: [String: Summary] = [:]
            let extract: [String: (TrialRow) -> Double?] = [
                "test-loss": { $0.result?.test.loss }, "train-loss": { $0.result?.train.loss }, "test-error": { $0.result?.test.error },
                "train-error": { $0.result?.train.error }, "validation-loss": { $0.result?.validation?.loss }, "validation-error": { $0.result?.validation?.error },
                "energy": { $0.spinGlass?.energy }, "gradient-norm": { $0.spinGlass?.gradientNorm }, "index": { $0.spinGlass?.index },
            ]
            for name in spec.metrics {
                if let summary = Statistics.summarize(goodRows.compactMap { extract[name]?($0) }) { metrics[name] = summary }
            }
            let testLosses = goodRows.compactMap(primary).filter(\.isFinite)
            let best = testLosses.min()
            pointReports.append(PointReport(
                index: point.index, label: point.label(varying: varying), hidden: point.hidden,
                parameters: point.parameterCount(inputs: stored.inputs, classes: stored.classes),
                trials: mine.count, completed: goodRows.count, diverged: mine.filter { $0.result?.status == .diverged || $0.spinGlass?.status == .diverged }.count,
                failed: mine.filter { $0.state == "failed" }.count, pending: mine.filter { $0.state == "pending" }.count,
                metrics: metrics, trainTestLossCorrelation: Statistics.pearson(good.map(\.train.loss), good.map(\.test.loss)),
                withinEpsilonOfBest: best.map { b in Double(testLosses.filter { $0 <= b + spec.report.epsilon }.count) / Double(max(1, testLosses.count)) },
                withinEpsilonOfGlobalBest: globalBest.map { b in Double(testLosses.filter { $0 <= b + spec.report.epsilon }.count) / Double(max(1, testLosses.count)) },
                probes: PointProbes.build(good) { partner in Int(exactly: partner).flatMap { $0 < rows.count ? rows[$0].result?.parametersSHA256 : nil } }))
        }
        let indexed = completed.compactMap { row -> (Double, Double)? in
            guard let index = row.result?.probes?.hessian?.index?.value, let loss = row.result?.train.loss else { return nil }
            return (index, loss)
        }
        let correlation = Statistics.spearman(indexed.map(\.0), indexed.map(\.1)).map { IndexLossCorrelation(points: indexed.count, spearmanRho: $0.rho, spearmanP: $0.pValue) }
        var spread: SpreadTest?
        let measured = pointReports.filter { ($0.metrics[primaryMetric]?.count ?? 0) >= 2 }
        if let smallest = measured.min(by: { $0.parameters < $1.parameters }), let largest = measured.max(by: { $0.parameters < $1.parameters }), smallest.index != largest.index {
            let losses = { (index: Int) in rows.filter { $0.point == index && $0.isCompleted }.compactMap(primary) }
            if let pair = Statistics.brownForsythe([losses(smallest.index), losses(largest.index)]) {
                let all = Statistics.brownForsythe(measured.map { losses($0.index) })
                let rank = Statistics.spearman(measured.map { Double($0.parameters) }, measured.map { $0.metrics[primaryMetric]!.standardDeviation })
                let sSmall = smallest.metrics[primaryMetric]!.standardDeviation, sLarge = largest.metrics[primaryMetric]!.standardDeviation
                spread = SpreadTest(smallest: smallest.label, largest: largest.label, brownForsytheF: pair.statistic, brownForsytheP: pair.pValue,
                                    allPointsF: all?.statistic, allPointsP: all?.pValue, spearmanRho: rank?.rho, spearmanP: rank?.pValue,
                                    smallestStandardDeviation: sSmall, largestStandardDeviation: sLarge,
                                    narrows: sLarge < sSmall && pair.pValue < 0.05)
            }
        }
        let report = ExperimentReport(
            experiment: spec.name, specSHA256: specSHA256, dataset: spec.data.dataset, datasetSHA256: stored.datasetSHA256,
            restarts: spec.restarts, trials: spec.trialCount, done: rows.filter { $0.state == "done" }.count,
            failed: rows.filter { $0.state == "failed" }.count, pending: rows.filter { $0.state == "pending" }.count,
            epsilon: spec.report.epsilon, bins: spec.report.bins, points: pointReports, spread: spread,
            generatedAt: ISO8601DateFormatter().string(from: Date()))
        var withProbes = report
        withProbes.indexLossCorrelation = correlation
        withProbes.probeEpsilon = spec.probes?.hessian?.epsilon
        withProbes.minimumTolerance = spec.probes?.hessian?.minimumTolerance
        withProbes.criticalPoints = DynamicsReport.criticalPoints(spec: spec, rows: rows)
        if let times = DynamicsReport.learningTimes(spec: spec, rows: rows) {
            withProbes.learningTimes = times.points
            withProbes.learningTimeTrends = times.trends
            withProbes.targetLoss = spec.stopping.targetLoss
        }
        if let glass = spec.spinGlass {
            withProbes.primaryMetric = "energy"
            withProbes.primaryQuantity = "final energy H(w)/Λ"
            withProbes.subject = "spin glass"
            if glass.order.count == 1 { withProbes.spinGlassBand = SpinGlassBand(order: glass.order[0]) }
        }
        return (withProbes, rows)
    }
}

public enum TrialsCSV {
    /// One row per trial, with the sweep point's settings and the final metrics.
    public static func render(rows: [TrialRow], spec: ExperimentSpec) -> String {
        let points = spec.sweepPoints
        if let glass = spec.spinGlass {
            var lines = ["trial,point,restart,order,spins,couplings,learning_rate,noise,steps_max,state,status,stop_reason,steps,energy,gradient_norm,index,"
                         + "hessian_min,hessian_max,sphere_deviation,worker,seconds,point_sha256,failure"]
            func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
            func quote(_ text: String?) -> String {
                guard let text else { return "" }
                return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            for row in rows {
                let p = points[row.point], r = row.spinGlass
                let fields: [String] = [
                    "\(row.trial)", "\(row.point)", "\(row.restart)", "\(p.order ?? 0)", "\(p.spins ?? 0)", glass.couplings.rawValue, "\(p.learningRate)",
                    "\(p.noise ?? 0)", "\(p.epochs)", row.state, r?.status.rawValue ?? "", r?.stopReason.rawValue ?? "", r.map { "\($0.steps)" } ?? "",
                    number(r?.energy), number(r?.gradientNorm), number(r?.index), number(r?.hessianMinimum), number(r?.hessianMaximum),
                    number(r?.sphereDeviation), quote(row.worker), number(row.seconds), r?.pointSHA256 ?? "", quote(row.failure),
                ]
                lines.append(fields.joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        }
        var lines = ["trial,point,restart,hidden,activation,loss,init,init_scale,batch_size,learning_rate,momentum,nesterov,weight_decay,epochs_max,"
                     + "state,status,stop_reason,epochs,train_loss,train_error,test_loss,test_error,validation_loss,validation_error,worker,seconds,parameters_sha256,failure,"
                     + "probe_samples,probe_loss,gradient_norm,lambda_max,lambda_min,index,index_standard_error,exact_index,is_minimum,lanczos_steps,"
                     + "barrier_init_to_end,partner,barrier_to_partner,probe_seconds,optimizer,warm_start_epochs,epochs_to_target,steps_to_target,start_gradient_norm,relative_gradient_norm"]
        func number(_ value: Double?) -> String { value.map { $0.isFinite ? "\($0)" : "\($0)" } ?? "" }
        func quote(_ text: String?) -> String {
            guard let text else { return "" }
            return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        for row in rows {
            let p = points[row.point]
            let r = row.result
            let fields: [String] = [
                "\(row.trial)", "\(row.point)", "\(row.restart)", p.hidden.map(String.init).joined(separator: "x"), p.activation.rawValue, p.loss.rawValue,
                p.initScheme.rawValue, "\(p.initScale)", "\(p.batchSize)", "\(p.learningRate)", "\(p.momentum)", "\(p.nesterov)", "\(p.weightDecay)", "\(p.epochs)",
                row.state, r?.status.rawValue ?? "", r?.stopReason.rawValue ?? "", r.map { "\($0.epochs)" } ?? "",
                number(r?.train.loss), number(r?.train.error), number(r?.test.loss), number(r?.test.error),
                number(r?.validation?.loss), number(r?.validation?.error), quote(row.worker), number(row.seconds), r?.parametersSHA256 ?? "", quote(row.failure),
            ]
            let probes = r?.probes, hessian = probes?.hessian, partner = probes?.paths?.toPartner
            let probeFields: [String] = [
                probes.map { "\($0.samples)" } ?? "", number(probes?.loss), number(probes?.gradientNorm), number(hessian?.lambdaMax), number(hessian?.lambdaMin),
                number(hessian?.index?.value), number(hessian?.index?.standardError), number(hessian?.exact?.index),
                hessian.map { "\($0.isMinimum)" } ?? "", hessian.map { "\($0.lanczosSteps)" } ?? "",
                number(probes?.paths?.initToEnd?.barrier), partner.map { "\($0.partner)" } ?? "", number(partner?.profile.barrier), number(r?.timing.probeSeconds),
                (p.optimizer ?? .sgd).rawValue, p.warmStartEpochs.map { "\($0)" } ?? "", r?.epochsToTarget.map { "\($0)" } ?? "",
                r?.stepsToTarget.map { "\($0)" } ?? "", number(r?.startGradientNorm), number(r?.relativeGradientNorm),
            ]
            lines.append((fields + probeFields).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
