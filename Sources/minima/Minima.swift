import ArgumentParser
import CMinimaSupport
import Foundation
import MinimaCore

@main
struct Minima: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minima",
        abstract: "Random-restart studies of neural-network loss landscapes.",
        discussion: """
            Trains many small networks from random starts and compares where they end \
            (Choromanska et al. 2015, "The Loss Surfaces of Multilayer Networks").
            """,
        version: "0.1.0 (\(buildInstructionSet))",
        subcommands: [Run.self, Validate.self, Report.self, ExportParameters.self, Status.self, Train.self, SpinGlass.self, Coordinate.self, Work.self, Keygen.self, UpgradeLedger.self, Bench.self, Info.self])
}

/// A command that could not do its work: printed as `Error: …` (exit status 1) without the
/// usage text, which is for mistakes in the flags (thrown as `ValidationError` from `validate()`).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Refuses to run kernels the CPU cannot execute, with a message that says what to do.
func requireSupportedCPU() throws {
    if minima_cpu_supports_build_isa() == 0 {
        let missing = String(cString: minima_missing_cpu_features())
        throw CommandFailure("""
            this binary was built for \(buildInstructionSet) but this CPU lacks \(missing); \
            rebuild with MINIMA_ISA=x86-64-v3 (AVX2) or MINIMA_ISA=x86-64 (baseline) — results are bit-identical, only slower
            """)
    }
}

/// JSON as the CLI prints it: sorted keys, so equal values print equal text.
func encodeJSON<T: Encodable>(_ value: T, pretty: Bool) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the build's instruction set and whether this CPU supports it.")

    func run() throws {
        let missing = String(cString: minima_missing_cpu_features())
        print(try encodeJSON([
            "instructionSet": buildInstructionSet,
            "cpuSupportsBuild": missing.isEmpty ? "yes" : "no (lacks \(missing))",
        ], pretty: true))
    }
}
