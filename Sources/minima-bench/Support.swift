import ArgumentParser
import Foundation
import MinimaCore
import MinimaRuntime

/// Repeated measurements of one cell: the median is what a benchmark reports, the extremes show
/// the spread (machines here are shared and noisy).
struct Timings {
    private(set) var samples: [Double] = []

    init(samples: [Double] = []) { self.samples = samples }

    mutating func append(_ sample: Double) { samples.append(sample) }

    /// The middle sample (the upper middle for an even count, as every benchmark here has done).
    var median: Double { samples.sorted()[samples.count / 2] }
    var minimum: Double { samples.min() ?? .nan }
    var maximum: Double { samples.max() ?? .nan }
    /// (max − min) / median.
    var relativeSpread: Double { (maximum - minimum) / median }
}

/// The one way the benchmarks read a list flag: comma-separated integers, each in `range`.
func integerList(_ text: String, flag: String, what: String, in range: ClosedRange<Int>) throws -> [Int] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = items.compactMap { Int($0) }.filter(range.contains)
    guard !items.isEmpty, values.count == items.count else {
        throw ValidationError("\(flag): expected comma-separated \(what) in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
    }
    return values
}

/// A failure to report in one line (not a usage error).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Refuses to run kernels the CPU cannot execute.
func requireSupportedCPU() throws {
    if let problem = unsupportedCPUProblem() { throw BenchFailure(problem) }
}

/// The CPU's model name, for the JSON of every benchmark.
func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}

/// The `minima` binary beside this one (the dispatch benchmark's local workers run it).
var minimaExecutable: URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("minima")
}
