import ArgumentParser
import Foundation
import MinimaProtocol
import MinimaCore

/// `minima bench spinglass`: energy-and-gradient evaluations of the spherical 3-spin glass per
/// second, one thread, with the FLOP and byte rates.
struct SpinGlassBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spinglass",
        abstract: "Spin-glass energy+gradient evaluations per second (H = 3), one thread.",
        discussion: "4 FLOP and 4 bytes per stored coupling (C(Λ+2, 3) of them) per evaluation; the median of --repeats timed batches.")

    @Option(help: "Λ values, comma-separated.")
    var spins = "100,250,500"
    @Option(help: "Timed batches per Λ (the median is reported).")
    var repeats = 7
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        try requireSupportedCPU()
        var cells: [SpinGlassBenchCell] = []
        for n in try integerList(spins, flag: "--spins", what: "spin counts", in: 2...1_000_000) {
            let generation = ContinuousClock.now
            let couplings = SpinGlassCouplings(order: 3, spins: n, seed: 1, realization: 0)
            let generationSeconds = secondsElapsed(since: generation)
            var stream = RandomStream(seed: 1, trial: 0, purpose: .testing)
            var w = (0..<n).map { _ in stream.nextGaussian() }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            w = w.map { $0 * Double(n).squareRoot() / norm }
            var gradient = [Double](repeating: 0, count: n)
            var sink = 0.0
            func evaluate() { sink += w.withUnsafeBufferPointer { wp in gradient.withUnsafeMutableBufferPointer { couplings.energy(wp.baseAddress!, gradient: $0.baseAddress!) } } }
            evaluate()
            // Batches of about 0.2 s.
            let probe = ContinuousClock.now
            evaluate()
            let perBatch = max(1, Int(0.2 / max(secondsElapsed(since: probe), 1e-6)))
            var rates: [Double] = []
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                for _ in 0..<perBatch { evaluate() }
                rates.append(Double(perBatch) / secondsElapsed(since: start))
            }
            let rate = Timings(samples: rates).median
            let stored = Double(SpinGlassCouplings.count(order: 3, spins: n))
            cells.append(SpinGlassBenchCell(
                spins: n, couplings: Int(stored), evaluationsPerSecond: rate, gflops: 4 * stored * rate / 1e9,
                gigabytesPerSecond: 4 * stored * rate / 1e9, couplingGenerationSeconds: generationSeconds,
                minimumEvaluationsPerSecond: rates.first!, maximumEvaluationsPerSecond: rates.last!))
            FileHandle.standardError.write(Data("Λ=\(n): \(String(format: "%.1f", rate)) evaluations/s, \(String(format: "%.1f", 4 * stored * rate / 1e9)) GFLOP/s (energy \(sink.isFinite ? "finite" : "not finite"))\n".utf8))
        }
        let report = SpinGlassBenchReport(benchmark: "spinglass", order: 3, instructionSet: buildInstructionSet, threads: 1, repeats: repeats,
                                          statistic: "median", cpu: cpuModelName(), cells: cells)
        print(try printableJSON(report, pretty: pretty))
    }
}

struct SpinGlassBenchCell: Codable {
    var spins: Int
    var couplings: Int
    var evaluationsPerSecond: Double
    var gflops: Double
    var gigabytesPerSecond: Double
    var couplingGenerationSeconds: Double
    var minimumEvaluationsPerSecond: Double
    var maximumEvaluationsPerSecond: Double
}

struct SpinGlassBenchReport: Codable {
    var benchmark: String
    var order: Int
    var instructionSet: String
    var threads: Int
    var repeats: Int
    var statistic: String
    var cpu: String
    var cells: [SpinGlassBenchCell]
}
