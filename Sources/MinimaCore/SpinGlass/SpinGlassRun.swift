/// Runs spin-glass trials. Stateless, like ``Trainer``.
public enum SpinGlassRunner {
    /// Descends from the trial's random start on the sphere and reports the end point.
    public static func run(_ description: SpinGlassDescription, control: TrialControl = TrialControl(),
                           couplings given: SpinGlassCouplings? = nil) throws(TrialDescriptionError) -> SpinGlassResult {
        try description.validate()
        let start = ContinuousClock.now
        let couplings = given ?? SpinGlassCouplings(order: description.order, spins: description.spins, seed: description.seed,
                                                    realization: description.realization)
        let couplingSeconds = secondsElapsed(since: start)
        let n = description.spins
        let radius = Double(n).squareRoot()
        var w = [Double](repeating: 0, count: n), next = w, gradient = w
        var startStream = RandomStream(seed: description.seed, trial: description.trialIndex, purpose: .initialization)
        for i in 0..<n { w[i] = startStream.nextGaussian() }
        normalize(&w, radius: radius)

        var status = TrialStatus.completed, reason = StopReason.maxEpochs
        var steps = 0, evaluations = 0
        var energy = 0.0, riemannianNorm = 0.0
        var worstDeviation = 0.0
        let descentStart = ContinuousClock.now
        func evaluate() {
            energy = w.withUnsafeBufferPointer { wp in gradient.withUnsafeMutableBufferPointer { couplings.energy(wp.baseAddress!, gradient: $0.baseAddress!) } }
            evaluations += 1
            // Riemannian gradient: the component of ∇H along the tangent space at w.
            let radial = dot(gradient, w) / Double(n)
            for i in 0..<n { gradient[i] = gradient[i].addingProduct(-radial, w[i]) }
            riemannianNorm = dot(gradient, gradient).squareRoot()
        }
        evaluate()
        descent: while steps < description.stopping.maxEpochs {
            if let tolerance = description.stopping.gradientTolerance, riemannianNorm < tolerance { reason = .gradientTolerance; break descent }
            if steps & 255 == 0 && control.isCancelled() { status = .cancelled; reason = .cancelled; break descent }
            let rate = description.schedule.learningRate(base: description.optimizer.learningRate, epoch: steps)
            var noise = RandomStream(seed: description.seed, trial: description.trialIndex, purpose: .descentNoise, substream: UInt32(truncatingIfNeeded: steps))
            let sigma = description.optimizer.noise
            for i in 0..<n {
                let step = sigma == 0 ? gradient[i] : gradient[i].addingProduct(sigma, noise.nextGaussian())
                next[i] = w[i].addingProduct(-rate, step)
            }
            normalize(&next, radius: radius)
            guard next.allSatisfy(\.isFinite) else { status = .diverged; reason = .diverged; break descent }
            swap(&w, &next)
            steps += 1
            worstDeviation = max(worstDeviation, abs(dot(w, w) / Double(n) - 1))
            evaluate()
            if !energy.isFinite { status = .diverged; reason = .diverged; break descent }
        }
        let descentSeconds = secondsElapsed(since: descentStart)
        var result = SpinGlassResult(
            status: status, stopReason: reason, steps: steps, energy: energy / Double(n), gradientNorm: riemannianNorm,
            sphereDeviation: worstDeviation,
            pointSHA256: w.withUnsafeBytes { SHA256.hex(of: $0) },
            timing: .init(seconds: 0, couplingSeconds: couplingSeconds, evaluationsPerSecond: descentSeconds > 0 ? Double(evaluations) / descentSeconds : 0,
                          instructionSet: buildInstructionSet))
        if description.computeIndex && status != .cancelled {
            guard let spectrum = riemannianHessianSpectrum(couplings, w, isCancelled: control.isCancelled) else {
                result.status = .cancelled
                result.stopReason = .cancelled
                return result
            }
            result.index = spectrum.index
            result.hessianMinimum = spectrum.minimum
            result.hessianMaximum = spectrum.maximum
        }
        result.timing.seconds = secondsElapsed(since: start)
        return result
    }

    /// The spectrum of the Riemannian Hessian P(∇²H − (∇H·w/Λ) I)P on the Λ − 1 tangent
    /// directions at w (P projects out w): its index (the fraction of negative eigenvalues, below
    /// 10⁻⁹ of the largest magnitude) and its extremes; nil when `isCancelled` says so.
    static func riemannianHessianSpectrum(_ couplings: SpinGlassCouplings, _ w: [Double], isCancelled: () -> Bool = { false }) -> (index: Double, minimum: Double, maximum: Double)? {
        let n = w.count
        var gradient = [Double](repeating: 0, count: n)
        _ = w.withUnsafeBufferPointer { wp in gradient.withUnsafeMutableBufferPointer { couplings.energy(wp.baseAddress!, gradient: $0.baseAddress!) } }
        let radial = dot(gradient, w) / Double(n)
        var h = w.withUnsafeBufferPointer { couplings.hessian($0.baseAddress!) }
        for i in 0..<n { h[i * n + i] -= radial }
        // M = P h P with P = I − uuᵀ, u = w/‖w‖: M = h − u(hu)ᵀ − (hu)uᵀ + (uᵀhu) uuᵀ.
        let norm = dot(w, w).squareRoot()
        let u = w.map { $0 / norm }
        let hu = (0..<n).map { i in (0..<n).reduce(0.0) { $0.addingProduct(h[i * n + $1], u[$1]) } }
        let uhu = dot(u, hu)
        var scale = 0.0
        for i in 0..<n {
            for j in 0..<n {
                h[i * n + j] += -u[i] * hu[j] - hu[i] * u[j] + uhu * u[i] * u[j]
                scale = max(scale, abs(h[i * n + j]))
            }
        }
        // The normal direction's eigenvalue is 0; lift it far above the spectrum so that it is
        // neither counted nor the minimum.
        let lift = 2 * Double(n) * scale + 1   // above every eigenvalue (Gershgorin)
        for i in 0..<n { for j in 0..<n { h[i * n + j] += lift * u[i] * u[j] } }
        let eigenvalues = try? SymmetricEigenvalues.dense(&h, dimension: n, isCancelled: isCancelled)
        if isCancelled() { return nil }
        guard let values = eigenvalues, values.count == n else { return (.nan, .nan, .nan) }
        let tangent = values.dropLast()   // the lifted normal direction is the largest
        let magnitude = tangent.map(abs).max() ?? 0
        let negative = tangent.count { $0 < -1e-9 * magnitude }
        return (Double(negative) / Double(max(1, n - 1)), tangent.first ?? .nan, tangent.last ?? .nan)
    }

    private static func normalize(_ v: inout [Double], radius: Double) {
        let factor = radius / dot(v, v).squareRoot()
        for i in v.indices { v[i] *= factor }
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { DoubleVectors.dot(x.baseAddress!, $0.baseAddress!, count: x.count) } }
    }
}
