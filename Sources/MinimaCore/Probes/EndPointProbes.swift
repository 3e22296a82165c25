/// Measures a trained network's end point as a ``ProbeRequest`` asks: the gradient norm, the
/// Hessian's extreme eigenvalues (Lanczos), its spectral density and index (stochastic Lanczos
/// quadrature), the exact spectrum of small networks, and the objective along lines.
///
/// All randomness (Lanczos start vector, Rademacher probes) comes from the trial's
/// ``RandomPurpose/curvatureProbe`` streams, so the results are deterministic.
struct EndPointProbes {
    let request: ProbeRequest
    let surface: LossSurface
    let seed: UInt64
    let trialIndex: UInt64
    let isCancelled: () -> Bool

    /// The probes were cancelled between two Hessian-vector products.
    struct Cancelled: Error {}

    /// `initial`: the parameters training started from; `partner`: the partner trial's end point
    /// (both buffers shaped like the network's parameters).
    func measure(initial: UnsafeMutableBufferPointer<Float>?, partner: (index: UInt64, parameters: UnsafeMutableBufferPointer<Float>, sha256: String)?) throws(Cancelled) -> ProbeResults {
        let (loss, _) = surface.value()
        let gradient = surface.gradient()
        let gradientNorm = gradient.withUnsafeBufferPointer { DoubleVectors.norm($0.baseAddress!, count: $0.count) }
        var results = ProbeResults(samples: surface.sampleCount, loss: loss, gradientNorm: gradientNorm)
        if let hessian = request.hessian { results.hessian = try measureHessian(hessian) }
        if let paths = request.paths {
            var pathResults = PathResults()
            let end = surface.network.makeParameterBuffer()
            defer { end.deallocate() }
            surface.network.copyParameters(into: end)
            if paths.initToEnd, let initial {
                pathResults.initToEnd = profile(from: initial, to: end, points: paths.points)
            }
            if let partner {
                pathResults.toPartner = PartnerPath(partner: partner.index, partnerParametersSHA256: partner.sha256,
                                                    profile: profile(from: end, to: partner.parameters, points: paths.points))
            }
            surface.network.restoreParameters(from: end)
            results.paths = pathResults
        }
        if let registered = request.registered, !registered.isEmpty {
            results.registered = try measureListed(registered)
        }
        return results
    }

    /// The listed probes, in name order, each from the end point (put back after each).
    private func measureListed(_ requested: [String: ProbeSettings]) throws(Cancelled) -> [String: ProbeMeasurement] {
        let end = surface.network.makeParameterBuffer()
        defer { end.deallocate() }
        surface.network.copyParameters(into: end)
        defer { surface.network.restoreParameters(from: end) }
        let endPoint = surface.network.canonicalParameters()
        var measured: [String: ProbeMeasurement] = [:]
        for (name, settings) in requested.sorted(by: { $0.key < $1.key }) {
            guard let probe = ProbeMethods.method(named: name) else { preconditionFailure("unvalidated probe \(name)") }
            let site = ProbeSite(surface: surface, endPoint: endPoint, seed: seed, trialIndex: trialIndex, probeName: name, isCancelled: isCancelled)
            do {
                measured[name] = try probe.measure(at: site, settings: settings)
            } catch {
                throw Cancelled()
            }
            surface.network.restoreParameters(from: end)
        }
        return measured
    }

    /// L((1 − t)·a + t·b) at `points` evenly spaced t ∈ [0, 1].
    private func profile(from a: UnsafeMutableBufferPointer<Float>, to b: UnsafeMutableBufferPointer<Float>, points: Int) -> LossProfile {
        let mixed = surface.network.makeParameterBuffer()
        defer { mixed.deallocate() }
        var losses: [Double] = []
        for i in 0..<points {
            let t = Float(i) / Float(points - 1)
            for k in mixed.indices { mixed[k] = (1 - t) * a[k] + t * b[k] }
            surface.network.restoreParameters(from: mixed)
            losses.append(surface.value().loss)
        }
        return LossProfile(losses: losses)
    }

    private func rademacher(substream: UInt32) -> [Double] {
        var stream = RandomStream(seed: seed, trial: trialIndex, purpose: .curvatureProbe, substream: substream)
        var values: [Double] = []
        values.reserveCapacity(surface.dimension)
        while values.count < surface.dimension {
            var bits = stream.nextUInt32()
            for _ in 0 ..< min(32, surface.dimension - values.count) {
                values.append(bits & 1 == 0 ? 1 : -1)
                bits >>= 1
            }
        }
        return values
    }

    private func product(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>) {
        surface.hessianVectorProduct(input, into: output)
    }

    private func measureHessian(_ probe: HessianProbe) throws(Cancelled) -> HessianResults {
        let n = surface.dimension
        let k = min(probe.extremes, n)
        // Extremes: Lanczos until the k largest and k smallest Ritz values have residuals below
        // tolerance·|λmax|, or the step budget is spent.
        var lanczos = Lanczos(dimension: n, maximumSteps: probe.maximumSteps, start: rademacher(substream: 0))
        var pairs: [RitzPair] = []
        while lanczos.canStep {
            if isCancelled() { throw Cancelled() }
            lanczos.step(product)
            let steps = lanczos.steps
            guard steps >= 2 * k || !lanczos.canStep else { continue }
            if steps % 5 == 0 || !lanczos.canStep {
                pairs = (try? lanczos.ritzPairs()) ?? []
                if converged(pairs, k: k, tolerance: probe.tolerance) { break }
            }
        }
        if pairs.isEmpty || pairs.count != lanczos.steps { pairs = (try? lanczos.ritzPairs()) ?? [] }
        let largest = pairs.suffix(k).reversed().map { EigenvalueEstimate(value: $0.value, residual: $0.residual) }
        let smallest = pairs.prefix(k).map { EigenvalueEstimate(value: $0.value, residual: $0.residual) }
        let lambdaMax = largest.first?.value ?? 0, lambdaMin = smallest.first?.value ?? 0
        var results = HessianResults(parameters: n, largest: Array(largest), smallest: Array(smallest), lanczosSteps: lanczos.steps,
                                     isMinimum: lambdaMin >= -probe.minimumTolerance * abs(lambdaMax))
        let threshold = -probe.epsilon * abs(lambdaMax)

        if let density = probe.density {
            var nodes: [[Float]] = [], weights: [[Float]] = [], indices: [Double] = []
            for v in 0..<density.probes {
                var run = Lanczos(dimension: n, maximumSteps: density.steps, start: rademacher(substream: UInt32(1 + v)))
                while run.canStep {
                    if isCancelled() { throw Cancelled() }
                    run.step(product)
                }
                let quadrature = (try? run.ritzPairs()) ?? []
                nodes.append(quadrature.map { Float($0.value) })
                weights.append(quadrature.map { Float($0.weight) })
                indices.append(quadrature.reduce(0) { $0 + ($1.value < threshold ? $1.weight : 0) })
            }
            let mean = indices.reduce(0, +) / Double(indices.count)
            let variance = indices.count > 1 ? indices.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(indices.count - 1) : 0
            results.index = IndexEstimate(value: mean, standardError: (variance / Double(indices.count)).squareRoot(), threshold: threshold)
            results.density = SpectralDensity(nodes: nodes, weights: weights)
        }

        if n <= probe.exactBelow {
            guard var matrix = surface.denseHessian(isCancelled: isCancelled) else { throw Cancelled() }
            let eigenvalues = try? SymmetricEigenvalues.dense(&matrix, dimension: n, isCancelled: isCancelled)
            if isCancelled() { throw Cancelled() }
            if let eigenvalues, let minimum = eigenvalues.first, let maximum = eigenvalues.last {
                let exactThreshold = -probe.epsilon * abs(maximum)
                results.exact = ExactSpectrum(
                    index: Double(eigenvalues.count { $0 < exactThreshold }) / Double(n), minimum: minimum, maximum: maximum,
                    negativeFraction: Double(eigenvalues.count { $0 < 0 }) / Double(n))
            }
        }
        return results
    }

    private func converged(_ pairs: [RitzPair], k: Int, tolerance: Double) -> Bool {
        guard pairs.count >= 2 * k else { return false }
        let scale = pairs.reduce(0) { max($0, abs($1.value)) }
        let limit = tolerance * scale
        return pairs.prefix(k).allSatisfy { $0.residual <= limit } && pairs.suffix(k).allSatisfy { $0.residual <= limit }
    }
}
