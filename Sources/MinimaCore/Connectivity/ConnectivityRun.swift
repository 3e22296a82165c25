/// Runs connectivity trials: trains both ends, measures the straight line between them, fits
/// and measures each curve. Stateless; every call allocates its own networks and buffers.
public enum ConnectivityRunner {
    /// Throws only for a description that cannot run (the error names the field).
    public static func run(_ description: ConnectivityDescription, data: TrainingData, control: TrialControl = TrialControl()) throws(TrialDescriptionError) -> ConnectivityResult {
        try description.validate()
        try description.ends.data.check(data, field: "ends.data.datasetSHA256")
        var timing = ConnectivityResult.Timing(trainingSeconds: 0, fitSeconds: 0, evaluationSeconds: 0, instructionSet: buildInstructionSet)
        var result = ConnectivityResult(status: .completed, ends: [], line: nil, curves: [], timing: timing)
        func cancelled() -> ConnectivityResult { result.status = .cancelled; result.timing = timing; return result }

        // The ends, exactly as their network trials train them.
        var clock = ContinuousClock.now
        var runs: [TrialRun] = []
        for which in 0..<2 {
            var run = try TrialRun(description.end(which), data: data, control: TrialControl(isCancelled: control.isCancelled))
            let trained = run.train()
            if trained.status == .cancelled { return cancelled() }
            result.ends.append(.init(trialIndex: run.description.trialIndex, status: trained.status, train: trained.train, test: trained.test,
                                     parametersSHA256: trained.parametersSHA256))
            runs.append(run)
        }
        timing.trainingSeconds = secondsElapsed(since: clock)
        guard result.ends.allSatisfy({ $0.status == .completed }) else {
            result.status = .diverged
            result.timing = timing
            return result
        }

        let site = PathSite(description, first: runs[0], data: data)
        defer { site.deallocate() }
        runs[1].network.copyParameters(into: site.partner)

        clock = ContinuousClock.now
        guard let line = site.lineProfiles(points: description.points, isCancelled: control.isCancelled) else { return cancelled() }
        result.line = line
        timing.evaluationSeconds += secondsElapsed(since: clock)

        let start = runs[0].network.canonicalParameters().map(Double.init)
        let end = runs[1].network.canonicalParameters().map(Double.init)
        for shape in description.shapes {
            var curve = BentCurve(shape: shape, start: start, end: end)
            clock = ContinuousClock.now
            guard let (fitEnd, finalLoss) = site.fit(&curve, description: description, isCancelled: control.isCancelled) else { return cancelled() }
            timing.fitSeconds += secondsElapsed(since: clock)
            clock = ContinuousClock.now
            guard let profiles = site.curveProfiles(curve, points: description.points, isCancelled: control.isCancelled) else { return cancelled() }
            timing.evaluationSeconds += secondsElapsed(since: clock)
            let bend = curve.bend.map(Float.init)
            result.curves.append(.init(shape: shape, fit: fitEnd, finalFitLoss: finalLoss, profiles: profiles,
                                       bendSHA256: bend.withUnsafeBytes { SHA256.hex(of: $0) }))
            if let plane = description.plane, result.plane == nil {
                clock = ContinuousClock.now
                guard let grid = site.plane(through: curve, settings: plane, isCancelled: control.isCancelled) else { return cancelled() }
                result.plane = grid
                timing.evaluationSeconds += secondsElapsed(since: clock)
            }
        }
        result.timing = timing
        return result
    }
}

/// The network of the first end, moved along paths: the measuring surfaces (training objective
/// on the measured training samples, plain loss on the measured test samples) and the fit's
/// minibatch gradients.
private final class PathSite {
    let network: Network
    let training: LossSurface
    let test: LossSurface
    let trainingOrder: [Int32]
    let dataset: Dataset
    let loss: LossFunction
    let weightDecay: Double
    let seed: UInt64
    let startBuffer: UnsafeMutableBufferPointer<Float>
    let partner: UnsafeMutableBufferPointer<Float>

    init(_ description: ConnectivityDescription, first run: TrialRun, data: TrainingData) {
        network = run.network
        let split = run.split
        let samples = description.samples
        let model = description.ends.model
        weightDecay = description.ends.optimizer.weightDecay
        // The path probe's surface: the first `samples` of the first end's training split.
        training = LossSurface(network: network, dataset: data.train, samples: samples.map { Array(split.training.prefix($0)) } ?? split.training,
                               loss: model.loss, weightDecay: weightDecay)
        test = LossSurface(network: network, dataset: data.test, samples: samples.map { Array(split.test.prefix($0)) } ?? split.test, loss: model.loss)
        trainingOrder = split.training
        dataset = data.train
        loss = model.loss
        seed = description.ends.seed
        startBuffer = network.makeParameterBuffer()
        partner = network.makeParameterBuffer()
        network.copyParameters(into: startBuffer)
    }

    func deallocate() {
        startBuffer.deallocate()
        partner.deallocate()
    }

    /// The straight line, as the path probe computes it: (1 − t)·a + t·b in float32.
    func lineProfiles(points: Int, isCancelled: () -> Bool) -> PathProfiles? {
        let mixed = network.makeParameterBuffer()
        defer { mixed.deallocate(); network.restoreParameters(from: startBuffer) }
        let a = startBuffer, b = partner
        var length = 0.0
        for k in a.indices { let d = Double(b[k]) - Double(a[k]); length += d * d }
        return profiles(points: points, length: length.squareRoot(), isCancelled: isCancelled) { i in
            let t = Float(i) / Float(points - 1)
            for k in mixed.indices { mixed[k] = (1 - t) * a[k] + t * b[k] }
            network.restoreParameters(from: mixed)
        }
    }

    func curveProfiles(_ curve: BentCurve, points: Int, isCancelled: () -> Bool) -> PathProfiles? {
        defer { network.restoreParameters(from: startBuffer) }
        return profiles(points: points, length: curve.length(points: points), isCancelled: isCancelled) { i in
            setCanonical(curve.point(at: Double(i) / Double(points - 1)))
        }
    }

    private func profiles(points: Int, length: Double, isCancelled: () -> Bool, moveTo: (Int) -> Void) -> PathProfiles? {
        var trainLoss: [Double] = [], trainError: [Double] = [], testLoss: [Double] = [], testError: [Double] = []
        for i in 0..<points {
            if isCancelled() { return nil }
            moveTo(i)
            let onTraining = training.value(), onTest = test.value()
            // (A regression set has no error rate: its error profiles are zero.)
            trainLoss.append(onTraining.loss); trainError.append(onTraining.error ?? 0)
            testLoss.append(onTest.loss); testError.append(onTest.error ?? 0)
        }
        return PathProfiles(trainLoss: LossProfile(losses: trainLoss), trainError: LossProfile(losses: trainError),
                            testLoss: LossProfile(losses: testLoss), testError: LossProfile(losses: testError), length: length)
    }

    /// The training objective over the plane through the curve's ends and bend.
    func plane(through curve: BentCurve, settings: PlaneSettings, isCancelled: () -> Bool) -> PlaneGrid? {
        defer { network.restoreParameters(from: startBuffer) }
        let origin = curve.start
        func difference(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 - $1 } }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let toEnd = difference(curve.end, origin), toBend = difference(curve.bend, origin)
        let endLength = dot(toEnd, toEnd).squareRoot()
        guard endLength > 0 else { return nil }
        let u = toEnd.map { $0 / endLength }
        let along = dot(toBend, u)
        let across = zip(toBend, u).map { $0 - along * $1 }
        let height = dot(across, across).squareRoot()
        // A bend on the line between the ends spans no plane: any v ⟂ u would do; take none.
        let v = height > 0 ? across.map { $0 / height } : [Double](repeating: 0, count: u.count)
        let xs = [0, endLength, along], ys = [0, 0, height]
        let width = max(xs.max()! - xs.min()!, 1e-12), tall = max(ys.max()! - ys.min()!, width * 0.25)
        let x = (xs.min()! - settings.margin * width) ... (xs.max()! + settings.margin * width)
        let y = (ys.min()! - settings.margin * tall) ... (ys.max()! + settings.margin * tall)
        let n = settings.points
        var values: [Double] = []
        values.reserveCapacity(n * n)
        var point = origin
        for j in 0..<n {
            let b = y.lowerBound + (y.upperBound - y.lowerBound) * Double(j) / Double(n - 1)
            for i in 0..<n {
                if isCancelled() { return nil }
                let a = x.lowerBound + (x.upperBound - x.lowerBound) * Double(i) / Double(n - 1)
                for k in point.indices { point[k] = origin[k] + a * u[k] + b * v[k] }
                setCanonical(point)
                values.append(training.value().loss)
            }
        }
        return PlaneGrid(shape: curve.shape, points: n, x: x, y: y, values: values, start: [0, 0], end: [endLength, 0], bend: [along, height])
    }

    /// Puts canonical-order parameters (rounded to float32) into the network.
    func setCanonical(_ values: [Double]) {
        for (k, offset) in training.bufferOffsets.enumerated() { network.parameters[offset] = Float(values[k]) }
    }

    /// Fits the bend on minibatches of the first end's training split (shuffled per epoch from
    /// the trial's stream), t from another stream of the trial; both keyed by the shape. Returns
    /// how the fit ended and the mean minibatch objective of its last epoch; nil if cancelled.
    ///
    /// The method of ``BentCurve/fit(steps:rate:momentum:stream:gradient:)`` (its twin in
    /// canonical coordinates and double, which the tests check on a known valley), at the cost of
    /// an SGD step: one pass puts θ(t) into the network, and the backward pass hands each
    /// gradient chunk to ``CurveStep``, which updates the velocity and the bend (float32, like
    /// the network) in place — no gradient buffer, no per-step allocation. A bend that becomes
    /// NaN or infinite ends the fit as diverged, with the bend of the epoch's start.
    func fit(_ curve: inout BentCurve, description: ConnectivityDescription, isCancelled: () -> Bool) -> (BentCurve.FitEnd, Double)? {
        let settings = description.fit
        let batchSize = min(settings.batchSize, trainingOrder.count)
        let stepsPerEpoch = (trainingOrder.count + batchSize - 1) / batchSize
        let substream = UInt32(CurveShape.allCases.firstIndex(of: curve.shape)!) * 2
        var draws = RandomStream(seed: seed, trial: description.trialIndex, purpose: .curveFit, substream: substream)
        var shuffles = RandomStream(seed: seed, trial: description.trialIndex, purpose: .curveFit, substream: substream + 1)
        let workspace = Workspace(network: network, capacity: batchSize)
        let count = network.parameters.count
        let bend = network.makeParameterBuffer(), velocity = network.makeParameterBuffer(), epochStart = network.makeParameterBuffer()
        defer {
            bend.deallocate(); velocity.deallocate(); epochStart.deallocate()
            network.restoreParameters(from: startBuffer)
        }
        bend.update(repeating: 0); velocity.update(repeating: 0)
        for (k, offset) in training.bufferOffsets.enumerated() { bend[offset] = Float(curve.bend[k]) }
        let a = startBuffer, c = partner, parameters = network.parameters
        var order = trainingOrder
        var epochLoss = 0.0, lastEpochLoss = Double.nan
        var end = BentCurve.FitEnd.completed
        steps: for step in 0 ..< settings.epochs * stepsPerEpoch {
            let t = draws.nextUnitDouble()
            if isCancelled() { return nil }
            let within = step % stepsPerEpoch
            if within == 0 { shuffles.shuffle(&order); epochLoss = 0; _ = epochStart.update(fromContentsOf: bend) }
            let batch = order[within * batchSize ..< min((within + 1) * batchSize, order.count)]
            let (wa, wb, wc) = curve.shape.weights(at: t)
            let (fa, fb, fc) = (Float(wa), Float(wb), Float(wc))
            // θ(t) in float32, and whether the bend is still finite (an integer OR of "exponent
            // all ones", which vectorizes where a floating-point test would not).
            var nonFinite: UInt32 = 0
            for k in 0..<count {
                parameters[k] = fa * a[k] + fb * bend[k] + fc * c[k]
                nonFinite |= (bend[k].bitPattern >> 23) & 0xFF == 0xFF ? 1 : 0
            }
            guard nonFinite == 0 else { _ = bend.update(fromContentsOf: epochStart); end = .diverged; break steps }
            workspace.load(batch, from: dataset)
            var total = LossEvaluation()
            network.forward(workspace, rows: batch.count)
            network.evaluateLoss(loss, workspace, rows: batch.count, deltaScale: 1 / Float(batch.count), into: &total)
            let rate = settings.learningRate * BentCurve.garipovFactor(progress: Double(step / stepsPerEpoch) / Double(max(settings.epochs, 1)))
            network.backward(workspace, rows: batch.count, rule: CurveStep(
                velocity: velocity.baseAddress!, bend: bend.baseAddress!, bendWeight: Float(wb), momentum: Float(settings.momentum),
                rate: Float(rate), decay: Float(weightDecay)))
            epochLoss += total.lossSum
            if within == stepsPerEpoch - 1 { lastEpochLoss = epochLoss / Double(order.count) }
        }
        if end == .completed, bend.contains(where: { !$0.isFinite }) { _ = bend.update(fromContentsOf: epochStart); end = .diverged }
        for (k, offset) in training.bufferOffsets.enumerated() { curve.bend[k] = Double(bend[offset]) }
        return (end, lastEpochLoss)
    }
}

/// One step of the bend, applied by the backward pass to each chunk of the minibatch gradient
/// g of the objective at θ(t): v ← μ·v + w_b(t)·(g + λ·θ(t) for weights), bend ← bend − r·v.
/// θ(t) itself is not changed (the next step recomputes it from the bend).
struct CurveStep: UpdateRule {
    var velocity: UnsafeMutablePointer<Float>
    var bend: UnsafeMutablePointer<Float>
    let bendWeight: Float
    let momentum: Float
    let rate: Float
    let decay: Float

    @inline(__always)
    func apply(_ gradient: Lanes, parameters: UnsafeMutablePointer<Float>, offset: Int, decays: Bool) {
        var g = gradient
        if decays && decay != 0 { g = g + Lanes(repeating: decay) * parameters.lanes(at: offset) }
        let v = Lanes(repeating: momentum) * velocity.lanes(at: offset) + Lanes(repeating: bendWeight) * g
        velocity.storeLanes(v, at: offset)
        bend.storeLanes(bend.lanes(at: offset) - Lanes(repeating: rate) * v, at: offset)
    }

    func shifted(by offset: Int) -> CurveStep {
        var moved = self
        moved.velocity += offset
        moved.bend += offset
        return moved
    }
}
