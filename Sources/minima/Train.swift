import ArgumentParser
import Foundation
import MinimaCore
import MinimaData
import MinimaExperiment
import MinimaProtocol

extension Activation: ExpressibleByArgument {}
extension LossFunction: ExpressibleByArgument {}
extension InitScheme: ExpressibleByArgument {}

extension ScheduleKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

enum SubsetSampling: String, ExpressibleByArgument, CaseIterable {
    case first, random
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one network in-process and print its result as JSON.",
        discussion: """
            The trial is fully determined by the flags: the same flags give the same bits on any \
            machine running the same build. Example:
              minima train --hidden 100 --activation relu --batch 10 --lr 0.1 --epochs 1 --seed 7
            """)

    @Option(help: "Dataset: \(DatasetSource.expected) (mnist10 is shipped in the binary; docs/DATA.md).")
    var data = "mnist10"
    @Option(name: .customLong("train-subset"), help: "Train on N samples of the training set (default: all).")
    var trainSubset: Int?
    @Option(name: .customLong("subset-sampling"), help: "How --train-subset picks samples: first (in file order) or random (seeded).")
    var subsetSampling: SubsetSampling = .first
    @Option(help: "Hold out N of the training samples for validation (needed by --patience).")
    var validation = 0
    @Option(name: .customLong("test-limit"), help: "Evaluate on the first N test samples only.")
    var testLimit: Int?

    @Option(help: "Hidden layer widths, comma-separated, input side first (e.g. 100 or 200,100; 0 for none).")
    var hidden = "100"
    @Option(help: "Hidden-layer activation: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")).")
    var activation: Activation = .relu
    @Option(help: "Loss: \(LossFunction.allCases.map(\.rawValue).joined(separator: ", ")).")
    var loss: LossFunction = .softmaxCrossEntropy
    @Option(help: ArgumentHelp("Weight initialization (biases start at 0).", discussion: InitScheme.allCases.map { "\($0.rawValue): \($0.formula)" }.joined(separator: "; ") + "."))
    var `init`: InitScheme = .fanInUniform
    @Option(name: .customLong("init-scale"), help: "Bound (uniform), standard deviation (gaussian) or gain (the others).")
    var initScale = 1.0

    @Option(help: ArgumentHelp("Optimizer.", discussion: OptimizerKind.allCases.compactMap { kind in kind.info.map { "\(kind): \($0.summary)" } }.joined(separator: "; ") + "."))
    var optimizer: OptimizerKind = .sgd
    @Option(name: .customLong("optimizer-setting"), help: ArgumentHelp("An optimizer's own setting, name=value (repeatable), e.g. beta2=0.99 for adam.",
                                                                       discussion: Self.optimizerSettingsHelp))
    var optimizerSettings: [String] = []
    @Option(name: .customLong("krylov-dimension"), help: "Newton methods: Lanczos vectors k per step.")
    var krylovDimension: Int?
    @Option(help: "Newton methods: the damping values tried each step, comma-separated (default 0,0.001,0.003,0.01,0.03,0.1,0.3,1).")
    var damping: String?
    @Option(name: .customLong("warm-start-epochs"), help: "Epochs of SGD (--warm-start-lr, --warm-start-batch) before the optimizer takes over.")
    var warmStartEpochs: Int?
    @Option(name: .customLong("warm-start-lr"), help: "The warm start's learning rate.")
    var warmStartLR = 0.05
    @Option(name: .customLong("warm-start-batch"), help: "The warm start's minibatch size.")
    var warmStartBatch = 10
    @Option(help: "Minibatch size.")
    var batch = 10
    @Option(help: "Learning rate.")
    var lr = 0.1
    @Option(help: "Momentum μ (0 for plain SGD).")
    var momentum = 0.0
    @Flag(help: "Use Nesterov momentum.")
    var nesterov = false
    @Option(name: .customLong("weight-decay"), help: "L2 weight decay λ (weights only).")
    var weightDecay = 0.0
    @Option(help: "Learning-rate schedule per epoch e: constant; step (lr·factor^⌊e/every⌋); exponential (lr·factor^e); inverse (lr/(1+factor·e)).")
    var schedule: ScheduleKind = .constant
    @Option(name: .customLong("schedule-factor"), help: "The schedule's factor, gamma or k.")
    var scheduleFactor = 0.5
    @Option(name: .customLong("schedule-every"), help: "Epochs between steps of the step schedule.")
    var scheduleEvery = 1

    @Option(help: "Maximum number of epochs.")
    var epochs = 1
    @Option(name: .customLong("grad-tol"), help: "Stop when the full-batch gradient norm falls below this.")
    var gradTol: Double?
    @Option(help: "Early stopping: epochs without validation improvement before stopping.")
    var patience: Int?
    @Option(name: .customLong("target-loss"), help: "Stop when the training loss reaches this; the result records epochs and steps to target.")
    var targetLoss: Double?
    @Option(name: .customLong("relative-grad-tol"), help: "Stop when ‖∇L‖ falls below this × its value when the optimizer started (critical-point searches).")
    var relativeGradTol: Double?
    @Flag(help: "Record the learning curve (training and test loss and error per epoch).")
    var curve = false
    @Flag(name: .customLong("curve-gradient-norm"), help: "… with the gradient norm per epoch.")
    var curveGradientNorm = false
    @Flag(name: .customLong("curve-index"), help: "… with the Hessian's index per epoch (exact below --exact-below parameters, else SLQ with the probe flags).")
    var curveIndex = false

    @Option(help: "Experiment seed.")
    var seed: UInt64 = 7
    @Option(name: .customLong("trial-index"), help: "Trial index within the experiment (keys the random streams with the seed).")
    var trialIndex: UInt64 = 0

    @OptionGroup(title: "Probes of the end point (after training)")
    var probes: ProbeOptions

    @Option(name: .customLong("save-parameters"), help: ArgumentHelp("Write the initial and final parameters to this NumPy .npz file.", valueName: "FILE.npz"))
    var saveParameters: String?

    @Option(help: "Run the trial described by this JSON file (as printed under \"description\") instead of the flags.")
    var description: String?
    @Flag(help: "Print each epoch's progress to standard error.")
    var progress = false
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func trialDescription() throws -> TrialDescription {
        if let description {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: description)) } catch {
                throw CommandFailure("\(description): cannot read: \(error.localizedDescription)")
            }
            do { return try JSONDecoder().decode(TrialDescription.self, from: bytes) } catch {
                throw CommandFailure("\(description): not a trial description: \(MessageCodec.describe(error, in: bytes))")
            }
        }
        let widths = try hidden.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int in
            guard let width = Int(part.trimmingCharacters(in: .whitespaces)), width >= 0 else {
                throw ValidationError("--hidden: '\(part)' is not a width (expected comma-separated positive integers, e.g. 100 or 200,100)")
            }
            return width
        }.filter { $0 > 0 }
        var krylov: KrylovSettings?
        if optimizer.isSecondOrder {
            var settings = KrylovSettings()
            if let krylovDimension { settings.dimension = krylovDimension }
            if let damping {
                settings.damping = try damping.split(separator: ",").map { part in
                    guard let value = Double(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--damping: '\(part)' is not a number (expected comma-separated values ≥ 0, e.g. 0,0.01,0.1,1)")
                    }
                    return value
                }
            }
            krylov = settings
        } else if krylovDimension != nil || damping != nil {
            throw ValidationError("--krylov-dimension and --damping apply to --optimizer newton or saddle-free-newton")
        }
        let subset: TrainingSubset = trainSubset.map { subsetSampling == .first ? .first($0) : .sample($0) } ?? .all
        let lrSchedule = schedule.learningRateSchedule(factor: scheduleFactor, every: scheduleEvery)
        return TrialDescription(
            seed: seed, trialIndex: trialIndex,
            data: DataSelection(dataset: data, trainingSubset: subset, validationCount: validation, testLimit: testLimit),
            model: ModelSpec(hidden: widths, activation: activation, loss: loss),
            initialization: Initialization(scheme: self.`init`, scale: initScale),
            optimizer: OptimizerSpec(kind: optimizer, batchSize: batch, learningRate: lr, momentum: momentum, nesterov: nesterov,
                                     weightDecay: weightDecay, krylov: krylov, settings: try parsedOptimizerSettings()),
            schedule: lrSchedule,
            stopping: StoppingRule(maxEpochs: epochs, gradientTolerance: gradTol, earlyStoppingPatience: patience,
                                   targetLoss: targetLoss, relativeGradientTolerance: relativeGradTol),
            probes: try probes.request(),
            warmStart: warmStartEpochs.map { WarmStart(epochs: $0, optimizer: OptimizerSpec(batchSize: warmStartBatch, learningRate: warmStartLR)) },
            curve: curve || curveGradientNorm || curveIndex
                ? CurveRequest(gradientNorm: curveGradientNorm, index: curveIndex ? probes.hessianProbe ?? HessianProbe(exactBelow: probes.exactBelow, epsilon: probes.epsilon) : nil)
                : nil)
    }

    /// `--optimizer-setting name=value`, each once.
    func parsedOptimizerSettings() throws -> [String: Double] {
        var settings: [String: Double] = [:]
        for text in optimizerSettings {
            let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]) else {
                throw ValidationError("--optimizer-setting: '\(text)' is not name=value (e.g. beta2=0.99)")
            }
            guard settings.updateValue(value, forKey: parts[0]) == nil else { throw ValidationError("--optimizer-setting: \(parts[0]) is given twice") }
        }
        return settings
    }

    static var optimizerSettingsHelp: String {
        OptimizerKind.allCases.compactMap { kind -> String? in
            guard let settings = kind.info?.settings, !settings.isEmpty else { return nil }
            return "\(kind): " + settings.map { "\($0.name) (\($0.summary); default \($0.defaultValue))" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    func run() throws {
        try requireSupportedCPU()
        var trial = try trialDescription()
        do throws(TrialDescriptionError) { try trial.validate() } catch { throw ValidationError(flagName(for: error)) }
        let data: TrainingData
        do throws(DataError) { data = try DatasetSource(parsing: trial.data.dataset).load() } catch { throw CommandFailure(error.description) }
        if trial.data.datasetSHA256 == nil { trial.data.datasetSHA256 = data.train.contentSHA256 }
        var control = TrialControl()
        if progress {
            control.onEpoch = { report in
                let line = (try? printableJSON(report, pretty: false)) ?? "{}"
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        let wallStart = Date()
        let result: TrialResult
        let parameters: TrialParameters?
        do throws(TrialDescriptionError) {
            (result, parameters) = try Trainer.run(trial, data: data, control: control, keepingParameters: saveParameters != nil)
        } catch { throw CommandFailure(flagName(for: error)) }
        if let saveParameters, let parameters {
            do throws(DataError) { try NumPyArchive.write(NumPyArchive.arrays(of: parameters), to: saveParameters) } catch {
                throw CommandFailure("--save-parameters: \(error.description)")
            }
        }
        let output = TrainOutput(description: trial, result: result, wallSeconds: Date().timeIntervalSince(wallStart))
        print(try printableJSON(output, pretty: pretty))
    }
}

/// `minima train`'s probe flags.
struct ProbeOptions: ParsableArguments {
    @Flag(name: .customLong("hessian"), help: "Probe the Hessian: extreme eigenvalues by Lanczos, and with --density-probes the spectral density and index.")
    var hessian = false
    @Option(help: "How many of the largest and smallest eigenvalues to resolve.")
    var extremes = 5
    @Option(name: .customLong("density-probes"), help: "Rademacher vectors for stochastic Lanczos quadrature (0: no density or index).")
    var densityProbes = 8
    @Option(name: .customLong("density-steps"), help: "Lanczos steps per quadrature vector.")
    var densitySteps = 80
    @Option(name: .customLong("exact-below"), help: "Also compute the exact spectrum for networks of at most this many parameters (0: never).")
    var exactBelow = 0
    @Option(help: "The index counts eigenvalues below −epsilon·λmax.")
    var epsilon = 0.01
    @Option(name: .customLong("probe-samples"), help: "Probe on the first N training samples of the trial (default: all of them).")
    var probeSamples: Int?
    @Option(name: .customLong("path-points"), help: "Points on the line from the initial parameters to the end point (0: no path).")
    var pathPoints = 0
    @Option(name: .customLong("path-partner"), help: "Also the line to the end point of this trial index (trained here too).")
    var pathPartner: UInt64?
    @Option(name: .customLong("probe"), help: ArgumentHelp("A listed probe and its settings, NAME or NAME:key=value,… (repeatable). \(ProbeOptions.listedHelp)", valueName: "probe"))
    var listed: [String] = []

    static var listedHelp: String {
        ProbeMethods.infos.map { probe in
            "\(probe.name): \(probe.summary); " + probe.settings.map { "\($0.name) (\($0.summary); default \($0.defaultValue))" }.joined(separator: ", ")
        }.joined(separator: ". ")
    }

    /// `--probe NAME:key=value,…`, each probe once, each setting declared (ranges are checked
    /// with the rest of the description, naming `probes.NAME.key`).
    func listedRequests() throws -> [String: ProbeSettings]? {
        var requests: [String: ProbeSettings] = [:]
        for text in listed {
            let (name, rest) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
            guard let info = ProbeMethods.info(named: name) else { throw ValidationError("--probe: unknown probe '\(name)'; this build has \(ProbeMethods.names)") }
            var given: [String: Double] = [:]
            for pair in rest.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let value = Double(parts[1]) else { throw ValidationError("--probe \(name): '\(pair)' is not key=value (e.g. \(info.settings.first?.name ?? "points")=21)") }
                guard info.settings.contains(where: { $0.name == parts[0] }) else {
                    throw ValidationError("--probe \(name): no setting '\(parts[0])'; it takes \(info.settings.map(\.name).joined(separator: ", "))")
                }
                given[parts[0]] = value
            }
            guard requests.updateValue(ProbeSettings.complete(given, for: info), forKey: name) == nil else { throw ValidationError("--probe: \(name) is given twice") }
        }
        return requests.isEmpty ? nil : requests
    }

    /// The Hessian probe the flags describe (nil without --hessian).
    var hessianProbe: HessianProbe? {
        hessian ? HessianProbe(extremes: extremes, density: densityProbes > 0 ? DensityProbe(probes: densityProbes, steps: densitySteps) : nil,
                               exactBelow: exactBelow, epsilon: epsilon) : nil
    }

    func request() throws -> ProbeRequest? {
        let paths = pathPoints > 0 || pathPartner != nil ? PathProbe(points: pathPoints > 0 ? pathPoints : 41, initToEnd: pathPoints > 0, partner: pathPartner) : nil
        let listed = try listedRequests()
        guard hessianProbe != nil || paths != nil || probeSamples != nil || listed != nil else { return nil }
        return ProbeRequest(samples: probeSamples, hessian: hessianProbe, paths: paths, registered: listed)
    }
}

struct TrainOutput: Codable {
    var description: TrialDescription
    var result: TrialResult
    var wallSeconds: Double
}

/// A description's validation error under the flag that sets the field (NetworkKind.fields).
func flagName(for error: TrialDescriptionError) -> String {
    "\(NetworkKind.fields.flag(of: error.field) ?? error.field): \(error.problem)"
}
