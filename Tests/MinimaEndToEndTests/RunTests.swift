import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MinimaLedger
import MinimaRuntime
import Testing
#if canImport(Glibc)
import Glibc
#endif

func writeSpec(_ text: String, in directory: URL, name: String = "spec.yaml") throws -> String {
    let path = directory.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

let reducedQuick = """
name: reduced
seed: 2015
restarts: 6
data: {dataset: mnist10, training-samples: 3000, test-samples: 1000}
model: {width: [5, 40]}
optimizer: {batch-size: 50, learning-rate: 0.1}
schedule: {kind: inverse, k: 1}
stopping: {epochs: 2}
report: {bins: 12}
"""

@Suite("minima run, end to end", .serialized)
struct RunTests {
    @Test func aReducedQuickRunGoesThroughWorkerProcessesAndWritesTheReport() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec(reducedQuick, in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try minima(["run", spec, "--workers", "2", "--out", out])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("n1 = 5") && run.standardOutput.contains("n1 = 40") && run.standardOutput.contains("│"))
        #expect(run.standardOutput.contains("spread of test loss"))
        for file in ["ledger.sqlite", "trials.csv", "summary.json", "distributions.svg", "histograms.svg", "spread.svg", "scatter.svg", "report.html", "spec.yaml"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        let records = try Ledger(existingAt: out + "/ledger.sqlite").allRecords()
        #expect(records.count == 12 && records.allSatisfy { $0.state == .done })
        #expect(Set(records.compactMap(\.worker)).count == 2, "both local worker processes trained")
        for svg in ["histograms.svg", "spread.svg", "scatter.svg"] {
            #expect(XMLParser(contentsOf: URL(fileURLWithPath: out + "/" + svg))!.parse(), "\(svg) is not well-formed")
        }
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        #expect((summary["points"] as? [Any])?.count == 2 && summary["done"] as? Int == 12)

        // The same spec again into the same directory is refused; minima report regenerates the files.
        let again = try minima(["run", spec, "--workers", "1", "--out", out])
        #expect(again.status != 0 && again.standardError.contains("already holds a run"))
        try FileManager.default.removeItem(atPath: out + "/report.html")
        let report = try minima(["report", out + "/ledger.sqlite"])
        #expect(report.status == 0, "\(report.standardError)")
        #expect(FileManager.default.fileExists(atPath: out + "/report.html"))
    }

    @Test func aRunWithProbesReportsTheEndPointsAndKeepsTheChosenParameters() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec(reducedQuick.replacingOccurrences(of: "restarts: 6", with: "restarts: 4") + """

            probes:
              samples: 500
              hessian: {extremes: 2, density: {probes: 2, steps: 15}, exact-below: 600}
              paths: {points: 5, between-restarts: 1}
            keep-parameters: {restarts: 1}
            """, in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try minima(["run", spec, "--workers", "2", "--out", out])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("end points (index α"))
        for file in ["index.svg", "spectra.svg", "eigenvalues.svg", "barriers.svg", "parameters/trial-0.npz", "parameters/trial-4.npz"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/parameters/trial-1.npz"), "only restart 0 of each point is kept")
        for svg in ["index.svg", "spectra.svg", "eigenvalues.svg", "barriers.svg"] {
            #expect(XMLParser(contentsOf: URL(fileURLWithPath: out + "/" + svg))!.parse(), "\(svg) is not well-formed")
        }
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("What are the end points?"))
        // Every trial has its probe columns; n1 = 5 (565 parameters) also its exact spectrum.
        let csv = try String(contentsOfFile: out + "/trials.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = csv[0]
        let column = { (name: String) in header.firstIndex(of: name)! }
        #expect(csv.count == 9)
        for row in csv.dropFirst() {
            #expect(Double(row[column("lambda_max")]) != nil && Double(row[column("index")]) != nil && Double(row[column("gradient_norm")]) != nil)
            #expect(Double(row[column("exact_index")]) != nil || row[column("hidden")] == "40")
        }
        #expect(csv.dropFirst().filter { !$0[column("partner")].isEmpty }.map { $0[column("partner")] } == ["1", "5"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let points = try #require(summary["points"] as? [[String: Any]])
        #expect(points.allSatisfy { ($0["probes"] as? [String: Any])?["partnerMismatches"] as? Int == 0 })

        // Any trial's parameters, trained again and checked against the ledger.
        let exported = directory.appendingPathComponent("trial-6.npz").path
        let export = try minima(["export-parameters", out + "/ledger.sqlite", "--trial", "6", "--out", exported])
        #expect(export.status == 0, "\(export.standardError)")
        #expect(export.standardOutput.contains(csv[7][column("parameters_sha256")]))
        let shapes = try minimaPython("-c", ["import sys, numpy; z = numpy.load(sys.argv[1]); print(z['final/layer0/weight'].shape, z['final/layer1/weight'].shape)", exported])
        #expect(shapes.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "(40, 100) (10, 40)", "\(shapes.standardError)")
        let outside = try minima(["export-parameters", out + "/ledger.sqlite", "--trial", "8", "--out", exported])
        #expect(outside.status != 0 && outside.standardError.contains("--trial 8: the experiment has trials 0...7"))
    }

    @Test func aSpinGlassRunReportsItsEnergiesAndSitsBesideANetworkRun() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec("""
            name: glass
            kind: spin-glass
            seed: 2015
            restarts: 12
            spin-glass: {order: 3, spins: [20, 60], couplings: shared, index: true}
            optimizer: {learning-rate: 0.2}
            stopping: {steps: 3000, gradient-tolerance: 1e-5}
            report: {bins: 20}
            """, in: directory)
        let out = directory.appendingPathComponent("glass").path
        let run = try minima(["run", spec, "--workers", "2", "--out", out])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("Λ = 20") && run.standardOutput.contains("Λ = 60") && run.standardOutput.contains("theory (H = 3)"))
        let csv = try String(contentsOfFile: out + "/trials.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let energy = csv[0].firstIndex(of: "energy")!, index = csv[0].firstIndex(of: "index")!, deviation = csv[0].firstIndex(of: "sphere_deviation")!
        #expect(csv.count == 25)
        for row in csv.dropFirst() {
            #expect((Double(row[energy]) ?? 0) < -1.2 && Double(row[index]) == 0 && (Double(row[deviation]) ?? 1) <= 1e-6)
        }
        let svg = try String(contentsOfFile: out + "/histograms.svg", encoding: .utf8)
        #expect(svg.contains("threshold −E∞ = -1.633") && svg.contains("ground state −E₀"))
        #expect(XMLParser(contentsOf: URL(fileURLWithPath: out + "/histograms.svg"))!.parse())

        // Beside a network run, in one page.
        let network = directory.appendingPathComponent("network").path
        let networkRun = try minima(["run", try writeSpec(reducedQuick, in: directory, name: "network.yaml"), "--workers", "2", "--out", network])
        #expect(networkRun.status == 0, "\(networkRun.standardError)")
        let combined = directory.appendingPathComponent("combined").path
        let both = try minima(["report", out + "/ledger.sqlite", network + "/ledger.sqlite", "--out", combined])
        #expect(both.status == 0, "\(both.standardError)")
        let page = try String(contentsOfFile: combined + "/combined.html", encoding: .utf8)
        #expect(page.contains("final energy H(w)/Λ") && page.contains("final test loss") && page.contains("glass/report.html") && page.contains("reduced/report.html"))
        let alone = try minima(["report", out + "/ledger.sqlite", network + "/ledger.sqlite"])
        #expect(alone.status != 0 && alone.standardError.contains("--out: required when combining 2 ledgers"))
    }

    /// Where is the global minimum? A teacher-student study through worker processes: every
    /// restart against the known global minimum 0, per (k, n), in the terminal, trials.csv and
    /// the figures.
    @Test func aTeacherStudentRunMeasuresTheFractionAtTheGlobalMinimum() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec("""
            name: ts
            kind: teacher-student
            seed: 2018
            restarts: 12
            teacher-student: {teacher-units: [6, 10], student-units: [k, 2k]}
            """, in: directory)
        let out = directory.appendingPathComponent("ts").path
        let run = try minima(["run", spec, "--workers", "2", "--out", out])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("k = 10, n = 20") && run.standardOutput.contains("global  spurious"), "\(run.standardOutput)")
        let csv = try String(contentsOfFile: out + "/trials.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = csv[0]
        let ending = header.firstIndex(of: "ending")!, loss = header.firstIndex(of: "loss")!, k = header.firstIndex(of: "teacher_units")!
        let n = header.firstIndex(of: "student_units")!, recovered = header.firstIndex(of: "recovered_units")!
        #expect(csv.count == 49)
        for row in csv.dropFirst() {
            // Global: the loss within the tolerance and every teacher unit found; otherwise measurably above it.
            if row[ending] == "global" { #expect(Double(row[loss])! <= 1e-5 && row[recovered] == row[k]) } else { #expect(Double(row[loss])! > 1e-3) }
            // Twice as many units as the teacher: every restart reaches the global minimum.
            if Int(row[n]) == 2 * Int(row[k])! { #expect(row[ending] == "global") }
        }
        for figure in ["global-fraction.svg", "endings.svg"] {
            #expect(XMLParser(contentsOf: URL(fileURLWithPath: out + "/" + figure))!.parse(), "\(figure)")
        }
        let page = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(page.contains("spurious-minimum") && page.contains("global minimum F = 0"))
    }

    /// A network study on teacher data knows where the global minimum is for the students that
    /// can fit the teacher, and says how many restarts reached it.
    @Test func aNetworkStudyOnTeacherDataCountsTheRestartsAtTheGlobalMinimum() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec("""
            name: teacher-net
            seed: 3
            restarts: 4
            data: {dataset: "teacher:inputs=6,hidden=2,train=200,test=50"}
            model: {width: [1, 24], activation: relu, loss: mse}
            optimizer: {batch-size: 200, learning-rate: 0.2, momentum: 0.9}
            stopping: {epochs: 600}
            """, in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try minima(["run", spec, "--workers", "2", "--out", out])
        #expect(run.status == 0, "\(run.standardError)")
        // n1 = 1 cannot fit a teacher of 2 units: not listed; n1 = 24 can.
        #expect(run.standardOutput.contains("global minimum 0 (teacher data, realizable students)"), "\(run.standardOutput)")
        let notes = run.standardOutput.components(separatedBy: "global minimum 0 (teacher data").last ?? ""
        #expect(!notes.contains("n1 = 1  ") && notes.contains("n1 = 24  "), "\(notes)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        let known = summary?["globalMinimum"] as? [String: Any]
        #expect(known?["tolerance"] as? Double == 1e-4 && (known?["fractions"] as? [Any])?.count == 2)
        #expect(try String(contentsOfFile: out + "/histograms.svg", encoding: .utf8).contains("global minimum 0"))
    }

    @Test func anInterruptedRunResumesWithoutRerunningFinishedTrials() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec(reducedQuick.replacingOccurrences(of: "restarts: 6", with: "restarts: 40"), in: directory)
        let out = directory.appendingPathComponent("out").path
        let first = try BackgroundProcess(minimaBinary, ["run", spec, "--workers", "2", "--out", out], in: directory, label: "first")
        let ledger = out + "/ledger.sqlite"
        #expect(waitUntil(seconds: 60) { ((try? Ledger(existingAt: ledger).counts().done) ?? 0) >= 15 })
        first.signal(SIGINT)
        #expect(first.wait(seconds: 30) == 0, "\(first.errors)")
        #expect(first.output.contains("interrupted") && first.output.contains("--resume"), "\(first.output)")
        let before = try Ledger(existingAt: ledger).allRecords()
        #expect(before.count >= 15 && before.count < 80)
        let resumed = try minima(["run", spec, "--workers", "2", "--out", out, "--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let after = try Ledger(existingAt: ledger).allRecords()
        #expect(after.count == 80 && after.allSatisfy { $0.state == .done })
        let afterByTrial = Dictionary(uniqueKeysWithValues: after.map { ($0.trial, $0) })
        for record in before { #expect(afterByTrial[record.trial] == record, "trial \(record.trial) finished before the interruption and was not touched") }
    }

    @Test func dryRunAndValidateDescribeTheSweepWithoutRunning() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try writeSpec(reducedQuick, in: directory)
        let dry = try minima(["run", spec, "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.standardOutput.contains("2 sweep points × 6 restarts = 12 trials") && dry.standardOutput.contains("GFLOP"))
        let paper = try minima(["run", "--preset", "choromanska2015", "--dry-run"])
        #expect(paper.standardOutput.contains("5 sweep points × 1000 restarts = 5000 trials"))
        #expect(try minima(["validate", spec]).standardOutput.contains("valid"))
        let broken = try writeSpec(reducedQuick.replacingOccurrences(of: "learning-rate: 0.1", with: "learning-rate: 0.1, momentum: 2"), in: directory, name: "broken.yaml")
        let invalid = try minima(["validate", broken])
        #expect(invalid.status != 0)
        #expect(invalid.standardError.contains("broken.yaml:6:") && invalid.standardError.contains("optimizer.momentum: expected a number ≥ 0.0 and < 1.0, got 2"), "\(invalid.standardError)")
    }
}

@Suite("Ledgers of Minima 0.1, through the command line", .serialized)
struct OldLedgerTests {
    /// A real ledger written by `minima run` of Minima 0.1 (format 1, its spec saying lecun-uniform).
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MinimaLedgerTests/Fixtures/ledgers/format1-run").standardized

    @Test func aMinima01RunIsReportedRefusedUpgradedAndResumedWithoutRerunningAnything() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let ledger = out.appendingPathComponent("ledger.sqlite").path
        try FileManager.default.copyItem(atPath: Self.fixture.path + ".sqlite", toPath: ledger)
        let before = try fingerprints(ledger)
        #expect(before.count == 6)

        let report = try minima(["report", ledger])
        #expect(report.status == 0, "an old ledger is read as it is: \(report.standardError)")

        let oldSpec = try String(contentsOfFile: Self.fixture.path + ".yaml", encoding: .utf8)
        let newSpec = try writeSpec(oldSpec.replacingOccurrences(of: "lecun-uniform", with: "fan-in-uniform"), in: directory)
        let refused = try minima(["run", newSpec, "--workers", "1", "--out", out.path, "--resume"])
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("Error: "), "a runtime failure, not a usage error: \(refused.standardError)")
        #expect(!refused.standardError.contains("USAGE"))

        let stillOld = try minima(["run", try writeSpec(oldSpec, in: directory, name: "old.yaml"), "--workers", "1", "--out", out.path, "--resume"])
        #expect(stillOld.status == 1 && stillOld.standardError.contains("minima upgrade-ledger"), "\(stillOld.standardError)")

        let upgrade = try minima(["upgrade-ledger", ledger])
        #expect(upgrade.status == 0 && upgrade.standardOutput.contains("now says fan-in-uniform"), "\(upgrade.standardOutput)\(upgrade.standardError)")
        let resumed = try minima(["run", newSpec, "--workers", "1", "--out", out.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try fingerprints(ledger) == before, "nothing was rerun and nothing changed")
    }
}
