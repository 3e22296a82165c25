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
    public var worker: String?
    public var seconds: Double?
    public var failure: String?
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
    /// Spearman correlation of the index with the final training loss over all probed end points.
    public var indexLossCorrelation: IndexLossCorrelation?
    /// The index threshold ε and the minimum tolerance of the spec's Hessian probe.
    public var probeEpsilon: Double?
    public var minimumTolerance: Double?

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
            var result: TrialResult?
            if let json = record?.outcomeJSON, let outcome = try? decoder.decode(TaskOutcome.self, from: Data(json.utf8)), case .trained(let trained) = outcome {
                result = trained
            }
            rows.append(TrialRow(trial: trial, point: trial / spec.restarts, restart: trial % spec.restarts, state: record?.state.rawValue ?? "pending",
                                 result: result, worker: record?.worker, seconds: record?.seconds, failure: record?.failure))
        }
        let completed = rows.filter { $0.result?.status == .completed }
        let globalBest = completed.map { $0.result!.test.loss }.filter(\.isFinite).min()
        var pointReports: [PointReport] = []
        for point in points {
            let mine = rows.filter { $0.point == point.index }
            let good = mine.compactMap { $0.result?.status == .completed ? $0.result : nil }
            var metrics: [String: Summary] = [:]
            let extract: [String: (TrialResult) -> Double?] = [
                "test-loss": { $0.test.loss }, "train-loss": { $0.train.loss }, "test-error": { $0.test.error }, "train-error": { $0.train.error },
                "validation-loss": { $0.validation?.loss }, "validation-error": { $0.validation?.error },
            ]
            for name in spec.metrics {
                if let summary = Statistics.summarize(good.compactMap { extract[name]?($0) }) { metrics[name] = summary }
            }
            let testLosses = good.map(\.test.loss).filter(\.isFinite)
            let best = testLosses.min()
            pointReports.append(PointReport(
                index: point.index, label: point.label(varying: varying), hidden: point.hidden,
                parameters: point.parameterCount(inputs: stored.inputs, classes: stored.classes),
                trials: mine.count, completed: good.count, diverged: mine.filter { $0.result?.status == .diverged }.count,
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
        let measured = pointReports.filter { ($0.metrics["test-loss"]?.count ?? 0) >= 2 }
        if let smallest = measured.min(by: { $0.parameters < $1.parameters }), let largest = measured.max(by: { $0.parameters < $1.parameters }), smallest.index != largest.index {
            let losses = { (index: Int) in rows.filter { $0.point == index && $0.result?.status == .completed }.map { $0.result!.test.loss } }
            if let pair = Statistics.brownForsythe([losses(smallest.index), losses(largest.index)]) {
                let all = Statistics.brownForsythe(measured.map { losses($0.index) })
                let rank = Statistics.spearman(measured.map { Double($0.parameters) }, measured.map { $0.metrics["test-loss"]!.standardDeviation })
                let sSmall = smallest.metrics["test-loss"]!.standardDeviation, sLarge = largest.metrics["test-loss"]!.standardDeviation
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
        return (withProbes, rows)
    }
}

public enum TrialsCSV {
    /// One row per trial, with the sweep point's settings and the final metrics.
    public static func render(rows: [TrialRow], spec: ExperimentSpec) -> String {
        let points = spec.sweepPoints
        var lines = ["trial,point,restart,hidden,activation,loss,init,init_scale,batch_size,learning_rate,momentum,nesterov,weight_decay,epochs_max,"
                     + "state,status,stop_reason,epochs,train_loss,train_error,test_loss,test_error,validation_loss,validation_error,worker,seconds,parameters_sha256,failure,"
                     + "probe_samples,probe_loss,gradient_norm,lambda_max,lambda_min,index,index_standard_error,exact_index,is_minimum,lanczos_steps,"
                     + "barrier_init_to_end,partner,barrier_to_partner,probe_seconds"]
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
            ]
            lines.append((fields + probeFields).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
