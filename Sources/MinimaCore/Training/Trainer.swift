import CMinimaSupport

/// Hooks a caller can give a running trial. Both are called on the trial's thread.
public struct TrialControl: Sendable {
    /// Polled between epochs and every few thousand samples; returning true ends the trial with
    /// status ``TrialStatus/cancelled``.
    public var isCancelled: @Sendable () -> Bool
    /// Called after every epoch.
    public var onEpoch: (@Sendable (EpochReport) -> Void)?
    /// Batch-1 training fuses each first-layer update into the next forward pass (same bits,
    /// one pass over the weights instead of two). Off only to test that claim.
    package var fusesBatchOneUpdates = true

    public init(isCancelled: @escaping @Sendable () -> Bool = { false }, onEpoch: (@Sendable (EpochReport) -> Void)? = nil) {
        self.isCancelled = isCancelled
        self.onEpoch = onEpoch
    }
}

/// Progress after one epoch.
public struct EpochReport: Sendable, Codable {
    public var epoch: Int
    public var learningRate: Double
    /// Mean of the minibatch losses seen during the epoch (weights changing as it went).
    public var runningTrainingLoss: Double
    public var validation: Metrics?
    public var gradientNorm: Double?
}

/// The instruction-set level this build's kernels were compiled for (e.g. `x86-64-v4`).
public let buildInstructionSet: String = String(cString: minima_build_isa())

/// Runs trials. Stateless: every call allocates its own network and buffers, so any number of
/// trials can run at once on different threads.
public enum Trainer {
    /// Trains the network that `description` describes on `data` and reports how it ended.
    /// Throws only for a description that cannot be run (the error names the field); a trial
    /// that diverges returns status ``TrialStatus/diverged``.
    public static func run(_ description: TrialDescription, data: TrainingData, control: TrialControl = TrialControl()) throws(TrialDescriptionError) -> TrialResult {
        try run(description, data: data, control: control, keepingParameters: false).result
    }

    /// Like ``run(_:data:control:)``, and with `keepingParameters` also returns the initial and
    /// final parameters (for `.npz` files and other tools).
    public static func run(_ description: TrialDescription, data: TrainingData, control: TrialControl = TrialControl(),
                           keepingParameters: Bool) throws(TrialDescriptionError) -> (result: TrialResult, parameters: TrialParameters?) {
        try description.validate()
        try description.data.check(data)
        var run = try TrialRun(description, data: data, control: control)
        let initial = keepingParameters ? TrialParameters.Snapshot(run.network) : nil
        var result = run.train()
        if description.probes != nil && result.status != .cancelled {
            let start = ContinuousClock.now
            result.probes = run.probe()
            if result.probes == nil { result.status = .cancelled; result.stopReason = .cancelled }
            result.timing.probeSeconds = secondsElapsed(since: start)
        }
        let parameters = initial.map { TrialParameters(layers: run.network.layers, initial: $0, final: TrialParameters.Snapshot(run.network)) }
        return (result, parameters)
    }
}

/// A trial's initial and final parameters, per layer, in the logical shapes: weights
/// [outputs][inputs] row-major (PyTorch's `nn.Linear.weight`), biases [outputs].
public struct TrialParameters: Sendable {
    public struct Snapshot: Sendable {
        public var weights: [[Float]]
        public var biases: [[Float]]
        init(_ network: Network) {
            weights = network.layers.indices.map { network.weights(layer: $0) }
            biases = network.layers.indices.map { network.biases(layer: $0) }
        }
    }
    /// (outputs, inputs) of each layer.
    public var shapes: [(outputs: Int, inputs: Int)]
    public var initial: Snapshot
    public var final: Snapshot

    init(layers: [LayerGeometry], initial: Snapshot, final: Snapshot) {
        shapes = layers.map { ($0.outputs, $0.inputs) }
        self.initial = initial
        self.final = final
    }
}

/// One trial's training: its network, data split and workspaces; the optimizers' epochs drive it.
struct TrialRun {
    let description: TrialDescription
    let data: TrainingData
    let control: TrialControl
    let split: SampleSplit
    let network: Network
    let trainingWorkspace: Workspace
    let evaluationWorkspace: Workspace
    var trainingSeconds = 0.0
    /// Training seconds at each learning-curve entry (timing: outside the fingerprint).
    var curveSeconds: [Double] = []
    var evaluationSeconds = 0.0
    var samplesTrained = 0

    init(_ description: TrialDescription, data: TrainingData, control: TrialControl) throws(TrialDescriptionError) {
        self.description = description
        self.data = data
        self.control = control
        if case .values(let width) = data.train.targets, description.model.loss == .softmaxCrossEntropy {
            throw TrialDescriptionError(field: "model.loss", problem: "softmax-cross-entropy needs class labels, but \(data.train.name) has \(width) target value\(width == 1 ? "" : "s") per sample (regression); use mse")
        }
        split = try SampleSplit(selection: description.data, seed: description.seed, trialIndex: description.trialIndex,
                                trainingCount: data.train.count, testCount: data.test.count)
        network = Network(inputs: data.train.featureCount, hidden: description.model.hidden,
                          classes: data.train.outputCount, activation: description.model.activation)
        network.initialize(description.initialization, seed: description.seed, trialIndex: description.trialIndex)
        trainingWorkspace = Workspace(network: network, capacity: min(description.optimizer.batchSize, split.training.count))
        evaluationWorkspace = Workspace(network: network, capacity: 256)
    }

    /// Runs the description's probes at the current (end) parameters; nil when cancelled.
    func probe() -> ProbeResults? {
        guard let request = description.probes else { return nil }
        let samples = request.samples.map { Array(split.training.prefix($0)) } ?? split.training
        let surface = LossSurface(network: network, dataset: data.train, samples: samples, loss: description.model.loss,
                                  weightDecay: description.optimizer.weightDecay)
        var initial: UnsafeMutableBufferPointer<Float>?
        if request.paths?.initToEnd == true {
            let start = Network(inputs: network.inputs, hidden: description.model.hidden, classes: network.classes, activation: description.model.activation)
            start.initialize(description.initialization, seed: description.seed, trialIndex: description.trialIndex)
            let buffer = network.makeParameterBuffer()
            start.copyParameters(into: buffer)
            initial = buffer
        }
        defer { initial?.deallocate() }
        var partner: (index: UInt64, parameters: UnsafeMutableBufferPointer<Float>, sha256: String)?
        if let index = request.paths?.partner {
            var partnerDescription = description
            partnerDescription.trialIndex = index
            partnerDescription.probes = nil
            guard var partnerRun = try? TrialRun(partnerDescription, data: data, control: TrialControl(isCancelled: control.isCancelled)) else { return nil }
            let partnerResult = partnerRun.train()
            if partnerResult.status == .cancelled { return nil }
            let buffer = network.makeParameterBuffer()
            partnerRun.network.copyParameters(into: buffer)
            partner = (index, buffer, partnerResult.parametersSHA256)
        }
        defer { partner?.parameters.deallocate() }
        let probes = EndPointProbes(request: request, surface: surface, seed: description.seed, trialIndex: description.trialIndex,
                                    isCancelled: control.isCancelled)
        return try? probes.measure(initial: initial, partner: partner)
    }

    /// The optimizer that `spec` names, with fresh state (the description was validated, so the
    /// kind is known).
    func makeOptimizer(_ spec: OptimizerSpec) -> any OptimizerMethod {
        guard let method = OptimizerMethods.method(spec.kind) else { preconditionFailure("unvalidated optimizer kind \(spec.kind)") }
        return method.init(spec, network: network)
    }

    /// Optimizer steps in one epoch: minibatches for the minibatch methods, one for the full-batch ones.
    func stepsPerEpoch(_ optimizer: OptimizerSpec) -> Int {
        optimizer.kind.info?.traits.contains(.minibatches) == true
            ? (split.training.count + trainingWorkspace.capacity - 1) / trainingWorkspace.capacity : 1
    }

    mutating func train() -> TrialResult {
        let stopping = description.stopping
        let optimizer = description.optimizer
        let lastGood = network.makeParameterBuffer()
        let best = network.makeParameterBuffer()
        defer { lastGood.deallocate(); best.deallocate() }

        var status = TrialStatus.completed
        var reason = StopReason.maxEpochs
        var epochsRun = 0
        var keptEpoch = 0
        var bestValidationLoss = Double.infinity
        var bestEpoch = 0
        var gradientNorm: Double?
        var startGradientNorm: Double?
        var epochsToTarget: Int?
        var gradientEquivalents = 0.0, gradientEquivalentsToTarget: Double?, secondsToTarget: Double?
        var curve = description.curve.map { _ in LearningCurve() }

        /// Ends the trial after a failed epoch: diverged or cancelled, the last finite weights kept.
        func fail() {
            status = control.isCancelled() ? .cancelled : .diverged
            reason = status == .cancelled ? .cancelled : .diverged
            network.restoreParameters(from: lastGood)
        }

        var shuffleOffset = 0
        let method = makeOptimizer(optimizer)
        if let warm = description.warmStart {
            let warmMethod = makeOptimizer(warm.optimizer)
            defer { method.continueFrom(warmMethod) }
            for epoch in 0..<warm.epochs {
                network.copyParameters(into: lastGood)
                guard case .trained = warmMethod.epoch(&self, shuffle: epoch, rate: warm.optimizer.learningRate) else { fail(); break }
                if control.isCancelled() { status = .cancelled; reason = .cancelled; break }
            }
            shuffleOffset = warm.epochs
        }

        // Time to target counts the trial's optimizer only (after any warm start).
        let secondsBefore = trainingSeconds
        if status == .completed {
            var stop = recordEpoch(0, curve: &curve, work: 0, seconds: 0)
            if stop { epochsToTarget = 0; gradientEquivalentsToTarget = 0; secondsToTarget = 0; reason = .targetLoss }
            if stopping.relativeGradientTolerance != nil {
                let norm = fullGradientNorm()
                startGradientNorm = norm
                gradientNorm = norm
                if norm == 0 && !stop { reason = .relativeGradientTolerance; stop = true }
            }
            epochs: for epoch in 0 ..< (stop ? 0 : stopping.maxEpochs) {
                network.copyParameters(into: lastGood)
                let rate = description.schedule.learningRate(base: optimizer.learningRate, epoch: epoch)
                let runningLoss: Double
                switch method.epoch(&self, shuffle: shuffleOffset + epoch, rate: rate) {
                case .trained(let loss): runningLoss = loss
                case .failed: fail(); keptEpoch = epochsRun; break epochs
                case .stalled: reason = .stalled; break epochs
                }
                epochsRun = epoch + 1
                keptEpoch = epochsRun
                gradientEquivalents += method.lastEpochCost

                var report = EpochReport(epoch: epochsRun, learningRate: rate, runningTrainingLoss: runningLoss)
                if !split.validation.isEmpty {
                    let metrics = evaluate(split.validation, in: data.train)
                    report.validation = metrics
                    if metrics.loss < bestValidationLoss {
                        bestValidationLoss = metrics.loss
                        bestEpoch = epochsRun
                        network.copyParameters(into: best)
                    }
                }
                if stopping.gradientTolerance != nil || stopping.relativeGradientTolerance != nil {
                    let norm = method.exactGradientNorm ?? fullGradientNorm()
                    report.gradientNorm = norm
                    gradientNorm = norm
                    if let tolerance = stopping.gradientTolerance, norm < tolerance { reason = .gradientTolerance }
                    if let relative = stopping.relativeGradientTolerance, let start = startGradientNorm, norm <= relative * start {
                        reason = .relativeGradientTolerance
                    }
                }
                control.onEpoch?(report)
                if recordEpoch(epochsRun, curve: &curve, work: gradientEquivalents, seconds: trainingSeconds - secondsBefore) {
                    epochsToTarget = epochsRun
                    gradientEquivalentsToTarget = gradientEquivalents
                    secondsToTarget = trainingSeconds - secondsBefore
                    reason = .targetLoss
                    break epochs
                }
                if let patience = stopping.earlyStoppingPatience, epochsRun - bestEpoch >= patience {
                    reason = .earlyStopping
                }
                if reason != .maxEpochs { break epochs }
                if control.isCancelled() { status = .cancelled; reason = .cancelled; break epochs }
            }
        }
        if stopping.earlyStoppingPatience != nil && bestEpoch > 0 && status == .completed {
            network.restoreParameters(from: best)
            keptEpoch = bestEpoch
        }
        let train = evaluate(split.training, in: data.train)
        let validation = split.validation.isEmpty ? nil : evaluate(split.validation, in: data.train)
        let test = evaluate(split.test, in: data.test)
        let tracksGradient = stopping.gradientTolerance != nil || stopping.relativeGradientTolerance != nil
        // The last epoch's norm is that of the kept weights unless they were restored (diverged,
        // cancelled, early stopping) or no epoch measured it (a stall or target at the start).
        if tracksGradient && (status != .completed || reason == .earlyStopping || gradientNorm == nil) {
            gradientNorm = fullGradientNorm()
        }
        var result = TrialResult(
            status: status, stopReason: reason, epochs: epochsRun, train: train, validation: validation, test: test,
            gradientNorm: gradientNorm, keptEpoch: keptEpoch, parametersSHA256: network.parametersSHA256(),
            timing: .init(trainingSeconds: trainingSeconds, evaluationSeconds: evaluationSeconds,
                          samplesPerSecond: trainingSeconds > 0 ? Double(samplesTrained) / trainingSeconds : 0,
                          instructionSet: buildInstructionSet))
        result.epochsToTarget = epochsToTarget
        result.stepsToTarget = epochsToTarget.map { $0 * stepsPerEpoch(optimizer) }
        result.gradientEquivalentsToTarget = gradientEquivalentsToTarget
        result.timing.secondsToTarget = secondsToTarget
        if curve != nil { result.timing.curveSeconds = curveSeconds }
        result.startGradientNorm = startGradientNorm
        result.curve = curve
        result.search = method.criticalPointSearch(tolerance: stopping.relativeGradientTolerance ?? 1e-6)
        return result
    }

    /// Appends the curve's entry after `epochs` epochs of the trial's optimizer (with its work and
    /// training seconds so far); true when the training loss has reached the target.
    mutating func recordEpoch(_ epochs: Int, curve: inout LearningCurve?, work: Double, seconds: Double) -> Bool {
        var trainingLoss: Double?
        // Taken out of the optional while it grows, so the appends do not copy the whole curve.
        if var entries = curve.take() {
            entries.gradientEquivalents.appendCreating(work)
            curveSeconds.append(seconds)
            let train = evaluate(split.training, in: data.train), test = evaluate(split.test, in: data.test)
            // (A regression set has no error rate: its error curves stay empty.)
            entries.trainingLoss.append(train.loss); if let error = train.error { entries.trainingError.append(error) }
            entries.testLoss.append(test.loss); if let error = test.error { entries.testError.append(error) }
            if description.curve?.gradientNorm == true { entries.gradientNorm.appendCreating(fullGradientNorm()) }
            if let probe = description.curve?.index { entries.index.appendCreating(index(probe)) }
            curve = entries
            trainingLoss = train.loss
        }
        guard let target = description.stopping.targetLoss else { return false }
        return (trainingLoss ?? evaluate(split.training, in: data.train).loss) <= target
    }

    /// One full-batch gradient step: the gradient of the mean loss over all training samples
    /// (summed block by block in order), then `rule` on every weight and bias. Returns the loss
    /// where the step started, or nil when it or a weight stopped being finite.
    mutating func fullBatchEpoch<Rule: UpdateRule>(rule: inout Rule) -> Double? {
        let start = ContinuousClock.now
        defer { trainingSeconds += secondsElapsed(since: start) }
        let gradient = network.makeParameterBuffer()
        defer { gradient.deallocate() }
        let loss = accumulateGradient(into: gradient)
        guard loss.isFinite else { return nil }
        rule.beginStep()
        let p = network.parameters.baseAddress!, g = UnsafePointer(gradient.baseAddress!)
        for layer in network.layers {
            for offset in stride(from: layer.weightOffset, to: layer.biasOffset, by: Lanes.scalarCount) {
                rule.apply(g.lanes(at: offset), parameters: p, offset: offset, decays: true)
            }
            for offset in stride(from: layer.biasOffset, to: layer.biasOffset + layer.outputsPadded, by: Lanes.scalarCount) {
                rule.apply(g.lanes(at: offset), parameters: p, offset: offset, decays: false)
            }
        }
        samplesTrained += split.training.count
        return network.allParametersFinite ? loss : nil
    }

    /// The training objective with its Hessian-vector products, for the Newton methods and the
    /// curve's index (made on first use).
    var curvatureSurface: LossSurface?
    mutating func trainingSurface() -> LossSurface {
        if let curvatureSurface { return curvatureSurface }
        let surface = LossSurface(network: network, dataset: data.train, samples: split.training, loss: description.model.loss,
                                  weightDecay: description.optimizer.weightDecay)
        curvatureSurface = surface
        return surface
    }

    /// The index of the Hessian at the current point, as `probe` measures it (exact when it
    /// computes the spectrum, else SLQ; NaN when neither).
    mutating func index(_ probe: HessianProbe) -> Double {
        let start = ContinuousClock.now
        defer { evaluationSeconds += secondsElapsed(since: start) }
        let probes = EndPointProbes(request: ProbeRequest(hessian: probe), surface: trainingSurface(), seed: description.seed,
                                    trialIndex: description.trialIndex, isCancelled: control.isCancelled)
        guard let hessian = (try? probes.measure(initial: nil, partner: nil))?.hessian else { return .nan }
        return hessian.exact?.index ?? hessian.index?.value ?? .nan
    }

    /// One pass over the shuffled training samples. Returns the mean minibatch loss, or nil when
    /// a loss or weight stopped being finite or the trial was cancelled.
    mutating func trainEpoch<Rule: UpdateRule>(_ epoch: Int, rule: inout Rule) -> Double? {
        let start = ContinuousClock.now
        defer { trainingSeconds += secondsElapsed(since: start) }
        var order = split.training
        var stream = RandomStream(seed: description.seed, trial: description.trialIndex, purpose: .epochShuffle, substream: UInt32(epoch))
        stream.shuffle(&order)
        let batchSize = trainingWorkspace.capacity
        let loss = description.model.loss
        var total = LossEvaluation()
        var batchStart = 0
        var samplesSinceCheck = 0
        if batchSize == 1 && control.fusesBatchOneUpdates && network.canFuseFirstLayer {
            return trainEpochFusingFirstLayer(order, rule: &rule)
        }
        while batchStart < order.count {
            let rows = min(batchSize, order.count - batchStart)
            trainingWorkspace.load(order[batchStart ..< batchStart + rows], from: data.train)
            let nextStart = batchStart + rows
            trainingWorkspace.prefetch(order[nextStart ..< min(nextStart + batchSize, order.count)], from: data.train)
            network.forward(trainingWorkspace, rows: rows)
            let before = total.lossSum
            network.evaluateLoss(loss, trainingWorkspace, rows: rows, deltaScale: 1 / Float(rows), into: &total)
            if !total.lossSum.isFinite || !(total.lossSum >= before) { return nil }
            rule.beginStep()
            network.backward(trainingWorkspace, rows: rows, rule: rule)
            batchStart += rows
            samplesTrained += rows
            samplesSinceCheck += rows
            if samplesSinceCheck >= 8192 {
                samplesSinceCheck = 0
                if control.isCancelled() { return nil }
            }
        }
        if !network.allParametersFinite { return nil }
        return total.lossSum / Double(order.count)
    }

    /// Batch-1 epoch with each first-layer update deferred into the next sample's forward pass.
    /// The step's rule is begun before the backward pass of its sample and used, unchanged, for
    /// the deferred first-layer update in the next sample's forward pass.
    private mutating func trainEpochFusingFirstLayer<Rule: UpdateRule>(_ order: [Int32], rule: inout Rule) -> Double? {
        let first = network.layers[0]
        let pendingInput = allocateAligned(Float.self, count: first.inputsPadded)
        let pendingDelta = allocateAligned(Float.self, count: first.outputsPadded)
        defer { pendingInput.deallocate(); pendingDelta.deallocate() }
        let loss = description.model.loss
        var total = LossEvaluation()
        var pending = false
        func flush() {
            if pending { network.applyFirstLayerUpdate(input: UnsafePointer(pendingInput.baseAddress!), delta: UnsafePointer(pendingDelta.baseAddress!), rule: rule) }
            pending = false
        }
        for index in order.indices {
            trainingWorkspace.load(order[index ... index], from: data.train)
            if index + 1 < order.count { trainingWorkspace.prefetch(order[index + 1 ... index + 1], from: data.train) }
            if pending {
                network.forwardApplyingPendingUpdate(trainingWorkspace, pendingInput: UnsafePointer(pendingInput.baseAddress!),
                                                     pendingDelta: UnsafePointer(pendingDelta.baseAddress!), rule: rule)
                pending = false
            } else {
                network.forward(trainingWorkspace, rows: 1)
            }
            let before = total.lossSum
            network.evaluateLoss(loss, trainingWorkspace, rows: 1, deltaScale: 1, into: &total)
            if !total.lossSum.isFinite || !(total.lossSum >= before) { return nil }
            rule.beginStep()
            network.backward(trainingWorkspace, rows: 1, rule: rule, deferFirstLayerWeights: true)
            _ = pendingInput.update(fromContentsOf: UnsafeBufferPointer(rebasing: trainingWorkspace.activations[0][0 ..< first.inputsPadded]))
            _ = pendingDelta.update(fromContentsOf: UnsafeBufferPointer(rebasing: trainingWorkspace.deltas[0][0 ..< first.outputsPadded]))
            pending = true
            samplesTrained += 1
            if index & 8191 == 8191 && control.isCancelled() { flush(); return nil }
        }
        flush()
        if !network.allParametersFinite { return nil }
        return total.lossSum / Double(order.count)
    }

    /// Mean loss and error rate of the current weights on `samples` of `dataset`.
    mutating func evaluate(_ samples: [Int32], in dataset: Dataset) -> Metrics {
        let start = ContinuousClock.now
        defer { evaluationSeconds += secondsElapsed(since: start) }
        var total = LossEvaluation()
        var index = 0
        while index < samples.count {
            let rows = min(evaluationWorkspace.capacity, samples.count - index)
            evaluationWorkspace.load(samples[index ..< index + rows], from: dataset)
            network.forward(evaluationWorkspace, rows: rows)
            network.evaluateLoss(description.model.loss, evaluationWorkspace, rows: rows, deltaScale: nil, into: &total)
            index += rows
        }
        let count = max(samples.count, 1)
        return Metrics(loss: total.lossSum / Double(count), error: dataset.hasTargetValues ? nil : Double(total.errors) / Double(count), samples: samples.count)
    }

    /// gradient += ∇ of the mean loss over all training samples (no weight decay), summed block
    /// by block in order; returns that mean loss.
    mutating func accumulateGradient(into gradient: UnsafeMutableBufferPointer<Float>) -> Double {
        let samples = split.training
        var total = LossEvaluation()
        var index = 0
        let scale = 1 / Float(samples.count)
        while index < samples.count {
            let rows = min(evaluationWorkspace.capacity, samples.count - index)
            evaluationWorkspace.load(samples[index ..< index + rows], from: data.train)
            network.forward(evaluationWorkspace, rows: rows)
            network.evaluateLoss(description.model.loss, evaluationWorkspace, rows: rows, deltaScale: scale, into: &total)
            network.backward(evaluationWorkspace, rows: rows, rule: AccumulateGradient(), destination: gradient.baseAddress!)
            index += rows
        }
        return total.lossSum / Double(samples.count)
    }

    /// ‖∇‖ of the mean training loss (plus the weight-decay term) over all training samples.
    mutating func fullGradientNorm() -> Double {
        let start = ContinuousClock.now
        defer { evaluationSeconds += secondsElapsed(since: start) }
        let gradient = network.makeParameterBuffer()
        defer { gradient.deallocate() }
        _ = accumulateGradient(into: gradient)
        let decay = Float(description.optimizer.weightDecay)
        var sumOfSquares = 0.0
        for layer in network.layers {
            for o in 0..<layer.outputs {
                for i in 0..<layer.inputs {
                    let index = layer.weightIndex(output: o, input: i)
                    let g = Double(gradient[index] + decay * network.parameters[index])
                    sumOfSquares += g * g
                }
                let g = Double(gradient[layer.biasOffset + o])
                sumOfSquares += g * g
            }
        }
        return sumOfSquares.squareRoot()
    }
}

/// Seconds from `start` to now.
public func secondsElapsed(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

extension DataSelection {
    /// Refuses `data` when the selection names another dataset by its SHA-256.
    func check(_ data: TrainingData, field: String = "data.datasetSHA256") throws(TrialDescriptionError) {
        if let expected = datasetSHA256, expected != data.train.contentSHA256 {
            throw TrialDescriptionError(field: field, problem: "expects dataset \(expected) but was given \(data.train.name) with SHA-256 \(data.train.contentSHA256)")
        }
    }
}

extension Optional where Wrapped == [Double] {
    /// Appends in place, starting the list when there is none (an optional curve column).
    mutating func appendCreating(_ value: Double) {
        if self == nil { self = [] }
        self!.append(value)
    }
}
