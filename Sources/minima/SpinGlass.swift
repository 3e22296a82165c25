import ArgumentParser
import Foundation
import MinimaCore
import MinimaExperiment
import MinimaProtocol

struct SpinGlass: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spin-glass",
        abstract: "Descend one spherical H-spin glass in-process and print its result as JSON.",
        discussion: """
            Λ spins on the sphere Σ wᵢ² = Λ, energy H(w) = Λ^{−(H−1)/2} Σ X_{i₁…i_H} w_{i₁}⋯w_{i_H} with \
            standard normal couplings drawn from (seed, realization). The result's energy is H(w)/Λ. Example:
              minima spin-glass --order 3 --spins 100 --lr 0.05 --steps 2000 --grad-tol 1e-6 --index
            """)

    @Option(help: "H, the spins per interaction (2, 3 or 4).")
    var order = 3
    @Option(help: "Λ, the number of spins.")
    var spins = 100
    @Option(help: "Learning rate η of descent on the sphere.")
    var lr = 0.05
    @Option(help: "σ of the noise added to each step (0: projected gradient descent).")
    var noise = 0.0
    @Option(help: "Learning-rate schedule per step s: constant; step (lr·factor^⌊s/every⌋); exponential (lr·factor^s); inverse (lr/(1+factor·s)).")
    var schedule: ScheduleKind = .constant
    @Option(name: .customLong("schedule-factor"), help: "The schedule's factor, gamma or k.")
    var scheduleFactor = 0.5
    @Option(name: .customLong("schedule-every"), help: "Steps between steps of the step schedule.")
    var scheduleEvery = 1
    @Option(help: "Maximum number of descent steps.")
    var steps = 1000
    @Option(name: .customLong("grad-tol"), help: "Stop when the Riemannian gradient's norm falls below this.")
    var gradTol: Double?
    @Flag(help: "Also compute the index of the end point (dense Riemannian Hessian; Λ ≤ 1000).")
    var index = false
    @Option(help: "Experiment seed.")
    var seed: UInt64 = 7
    @Option(name: .customLong("trial-index"), help: "Trial index (keys the random start and the noise).")
    var trialIndex: UInt64 = 0
    @Option(help: "Coupling realization (default: the trial index).")
    var realization: UInt64?
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func run() throws {
        try requireSupportedCPU()
        let lrSchedule = schedule.learningRateSchedule(factor: scheduleFactor, every: scheduleEvery)
        let description = SpinGlassDescription(
            seed: seed, trialIndex: trialIndex, order: order, spins: spins, realization: realization ?? trialIndex,
            optimizer: SphereDescent(learningRate: lr, noise: noise), schedule: lrSchedule,
            stopping: StoppingRule(maxEpochs: steps, gradientTolerance: gradTol), computeIndex: index)
        do throws(TrialDescriptionError) { try description.validate() } catch {
            throw ValidationError("\(SpinGlassKind.fields.flag(of: error.field) ?? error.field): \(error.problem)")
        }
        let result = try SpinGlassRunner.run(description)
        print(try printableJSON(SpinGlassOutput(description: description, result: result), pretty: pretty))
    }
}

struct SpinGlassOutput: Codable {
    var description: SpinGlassDescription
    var result: SpinGlassResult
}
