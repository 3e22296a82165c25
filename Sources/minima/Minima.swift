import ArgumentParser
import CMinimaSupport
import Foundation
import MinimaRuntime
import MinimaProtocol
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
        subcommands: [Run.self, Validate.self, Report.self, ExportParameters.self, Status.self, Train.self, SpinGlass.self, Coordinate.self, Work.self, Keygen.self, UpgradeLedger.self, Info.self])
}

/// A command that could not do its work: printed as `Error: …` (exit status 1) without the
/// usage text, which is for mistakes in the flags (thrown as `ValidationError` from `validate()`).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Refuses to run kernels the CPU cannot execute, with a message that says what to do.
func requireSupportedCPU() throws {
    if let problem = unsupportedCPUProblem() { throw CommandFailure(problem) }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the build's instruction set and whether this CPU supports it.")

    func run() throws {
        let missing = String(cString: minima_missing_cpu_features())
        print(try printableJSON([
            "instructionSet": buildInstructionSet,
            "cpuSupportsBuild": missing.isEmpty ? "yes" : "no (lacks \(missing))",
        ], pretty: true))
    }
}
