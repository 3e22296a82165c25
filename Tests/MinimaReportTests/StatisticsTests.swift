import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MinimaCore
import MinimaExperiment
import MinimaReport
import MinimaLedger
import Testing

@Suite("Statistics against hand-computed values")
struct StatisticsTests {
    @Test func summaryOfASmallSample() throws {
        // values 1…5, 10: mean 25/6; sample variance = Σ(x − mean)² / 5 = 50.8333/5.
        let summary = try #require(Statistics.summarize([5, 1, 4, 2, 10, 3, .nan]))
        #expect(summary.count == 6)
        #expect(abs(summary.mean - 25.0 / 6.0) < 1e-12)
        #expect(abs(summary.standardDeviation - (50.833333333333336 / 5).squareRoot()) < 1e-12)
        #expect(summary.minimum == 1 && summary.maximum == 10)
        #expect(summary.median == 3.5)
        #expect(abs(summary.p25 - 2.25) < 1e-12 && abs(summary.p75 - 4.75) < 1e-12)   // numpy.percentile, linear
        #expect(abs(summary.p5 - 1.25) < 1e-12 && abs(summary.p95 - 8.75) < 1e-12)
    }

    @Test func pearsonAndSpearman() throws {
        #expect(abs(try #require(Statistics.pearson([1, 2, 3, 4], [2, 4, 6, 8])) - 1) < 1e-12)
        #expect(abs(try #require(Statistics.pearson([1, 2, 3, 4], [4, 3, 2, 1])) + 1) < 1e-12)
        // x = 1…5, y = 2, 1, 4, 3, 5: Σxy = 53, r = (53 − 45)/10 = 0.8.
        #expect(abs(try #require(Statistics.pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])) - 0.8) < 1e-12)
        #expect(Statistics.ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        let monotone = try #require(Statistics.spearman([1, 10, 100, 1000, 10000], [5, 4, 3, 2, 1]))
        #expect(monotone.rho == -1)
        #expect(abs(monotone.pValue - 2.0 / 120.0) < 1e-12, "exact: 2 of the 120 permutations are as extreme")
    }

    @Test func brownForsytheMatchesAHandComputation() throws {
        // Group A = 1, 2, 3 (median 2, |dev| 1, 0, 1); group B = 2, 4, 9 (median 4, |dev| 2, 0, 5).
        // Deviation means 2/3 and 7/3, grand 3/2: between = 3(5/6)² · 2 = 25/6; within = 2/3 + 38/3 = 40/3.
        // F = (25/6) / ((40/3) / 4) = 1.25 with (1, 4) degrees of freedom.
        let result = try #require(Statistics.brownForsythe([[1, 2, 3], [2, 4, 9]]))
        #expect(abs(result.statistic - 1.25) < 1e-12)
        // P(F(1,4) ≥ 1.25) = P(|t₄| ≥ √1.25) = 0.32616…
        #expect(abs(result.pValue - 0.3261565) < 1e-5)
    }

    @Test func incompleteBetaAndDistributions() {
        #expect(abs(Statistics.regularizedIncompleteBeta(0.5, 2, 2) - 0.5) < 1e-12)
        #expect(abs(Statistics.regularizedIncompleteBeta(0.3, 1, 1) - 0.3) < 1e-12)
        #expect(abs(Statistics.studentTTwoSided(2.0, 10) - 0.0733880) < 1e-6)
        #expect(abs(Statistics.fSurvival(4.0, 2, 20) - pow(1.4, -10)) < 1e-12, "F(2, d) has the closed form (1 + 2f/d)^(-d/2)")
    }
}

@Suite("Report files")
struct ReportFileTests {
    func sampleReport() throws -> (ExperimentReport, [TrialRow], ExperimentSpec) {
        let spec = try SpecParser.parse(yaml: "name: sample\nrestarts: 6\nmodel: {width: [4, 16]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}", file: "s")
        var stream = RandomStream(seed: 1, trial: 0, purpose: .testing)
        var records: [TrialRecord] = []
        for trial in 0..<12 where trial != 11 {
            let spread = trial < 6 ? 0.2 : 0.02
            let test = 0.5 + spread * stream.nextGaussian(), train = test - 0.05
            let result = TrialResult(status: .completed, stopReason: .maxEpochs, epochs: 1, train: Metrics(loss: train, error: 0.1, samples: 100),
                                     validation: nil, test: Metrics(loss: test, error: 0.12, samples: 50), gradientNorm: nil, keptEpoch: 1,
                                     parametersSHA256: "x", timing: .init(trainingSeconds: 1, evaluationSeconds: 0, samplesPerSecond: 1, instructionSet: "t"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let json = #"{"kind":"trained","result":"# + String(decoding: try encoder.encode(result), as: UTF8.self) + "}"
            records.append(TrialRecord(trial: trial, state: .done, attempts: 1, worker: "w", seconds: 1, outcomeJSON: json, fingerprint: "f", failure: nil))
        }
        let stored = StoredSpec(spec: spec, datasetSHA256: "d", inputs: 100, classes: 10)
        let (report, rows) = ExperimentReport.build(stored: stored, specSHA256: "s", records: records)
        return (report, rows, spec)
    }

    @Test func aQuarantinedWorkerIsNamedInTheReportFromTheLedger() throws {
        let spec = try SpecParser.parse(yaml: "name: sample\nrestarts: 2\nmodel: {width: [4]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}", file: "s")
        let stored = StoredSpec(spec: spec, datasetSHA256: "d", inputs: 100, classes: 10)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try Ledger(path: directory + "/ledger.sqlite",
                                experiment: StoredExperiment(name: "sample", specJSON: stored.canonicalJSON, specSHA256: "h", trialCount: 2))
        var batch = LedgerBatch()
        batch.records = [TrialRecord(trial: 0, state: .done, attempts: 1, worker: "bad", seconds: 1, outcomeJSON: #"{"kind":"noop"}"#, fingerprint: "x", failure: nil)]
        _ = try ledger.commit(batch)
        batch = LedgerBatch()
        batch.quarantines = [Quarantine(worker: "bad", reason: "trial 0: outvoted by two workers")]
        _ = try ledger.commit(batch)
        let written = try ReportWriter.write(ledgerPath: directory + "/ledger.sqlite", to: directory)
        let (report, files) = (written.report, written.files)
        #expect(report.quarantinedWorkers.map(\.worker) == ["bad"] && report.disputedResults == 1)
        #expect(try String(contentsOfFile: files.html, encoding: .utf8).contains("Verification quarantined bad (trial 0: outvoted by two workers)"))
        #expect(try String(contentsOfFile: files.summary, encoding: .utf8).contains(#""quarantinedWorkers""#))
        #expect(written.terminal.contains("verification quarantined worker bad"))
    }

    @Test func aggregationCountsStatesAndFindsTheNarrowing() throws {
        let (report, rows, _) = try sampleReport()
        #expect(rows.count == 12 && report.done == 11 && report.pending == 1)
        #expect(report.points.map(\.completed) == [6, 5])
        #expect(report.points.map(\.parameters) == [100 * 4 + 4 + 4 * 10 + 10, 100 * 16 + 16 + 16 * 10 + 10])
        let spread = try #require(report.spread)
        #expect(spread.smallestStandardDeviation > spread.largestStandardDeviation)
        #expect(abs((report.points[0].trainTestLossCorrelation ?? 0) - 1) < 1e-9, "train = test − 0.05 exactly")
    }

    @Test func svgFilesParseAsXMLAndTheHTMLIsSelfContained() throws {
        let (report, rows, spec) = try sampleReport()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try ReportWriter.write(report: report, rows: rows, spec: spec, to: directory)
        #expect(files.figures.map { URL(fileURLWithPath: $0).lastPathComponent } == ["distributions.svg", "histograms.svg", "spread.svg", "scatter.svg"])
        for svg in files.figures {
            let parser = XMLParser(contentsOf: URL(fileURLWithPath: svg))!
            #expect(parser.parse(), "\(svg) is not well-formed XML: \(String(describing: parser.parserError))")
        }
        let html = try String(contentsOfFile: files.html, encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Brown–Forsythe"))
        for external in ["src=", "<link", "<script", "url(", "@import"] { #expect(!html.contains(external), "report.html refers to something outside itself: \(external)") }
        #expect(!html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"), "no external links")
        let csv = try String(contentsOfFile: files.trials, encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 13 && csv[0].hasPrefix("trial,point,restart,hidden"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files.summary))) as? [String: Any]
        #expect((summary?["points"] as? [Any])?.count == 2)
        let terminal = TerminalReport.render(report: report, rows: rows, spec: spec)
        #expect(terminal.contains("n1 = 4") && terminal.contains("│"))
    }
}
