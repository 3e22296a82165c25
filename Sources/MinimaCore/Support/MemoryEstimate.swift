/// What a trial holds in memory at its peak, beyond the datasets a worker shares between its
/// trials: the number a worker admits trials by against its memory budget (issue 18, item 6: a
/// worker with 8 threads given 8 maximal spin glasses, 530 MB each, aborted).
///
/// Estimates count the large buffers each computation allocates (parameters and optimizer
/// state, Lanczos bases, dense Hessians, couplings) and round up; they are upper bounds in the
/// usual case, not measurements, and a fixed allowance covers the small ones. They are computed
/// in floating point and saturate, so that a description not yet validated (a worker estimates
/// before it runs) cannot overflow them.
public enum MemoryEstimate {
    /// Stacks, small buffers and bookkeeping of any trial.
    public static let baseBytes = 8.0 * 1024 * 1024

    /// Bytes as an integer, saturating at 2⁶².
    static func bytes(_ value: Double) -> Int { value.isFinite ? Int(min(max(value, 0), 0x1p62)) : 1 << 62 }

    /// A network's parameters, with `inputs` features and `outputs` classes or targets.
    public static func parameters(inputs: Int, hidden: [Int], outputs: Int) -> Double {
        let widths = ([inputs] + hidden + [outputs]).map(Double.init)
        return zip(widths, widths.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    }

    /// One Hessian probe at `parameters` dimensions: its Lanczos basis (float64, the longest of
    /// the extremes' run and one density run at a time) and the dense Hessian when it is exact.
    /// With the count only guessed (`exact` false) the dense Hessian is counted at its largest.
    static func hessianBytes(_ probe: HessianProbe, parameters p: Double, exact: Bool) -> Double {
        let lanczos = Double(max(probe.maximumSteps, probe.density?.steps ?? 0)) * p * 8
        let limit = Double(probe.exactBelow)
        let denseDimension = exact ? (p <= limit ? p : 0) : min(p, limit)
        return lanczos + denseDimension * denseDimension * 8 * 2   // the matrix, and the reduction's copy
    }
}

/// A dataset's shape as a memory estimate needs it.
public struct DatasetShape: Hashable, Sendable {
    public var inputs: Int
    public var outputs: Int
    public init(inputs: Int, outputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
    }
    /// What an estimate assumes when the data is not loaded yet: wider than the datasets studied.
    static let assumed = DatasetShape(inputs: 1024, outputs: 10)
}

extension TrialDescription {
    /// Peak memory of this trial in bytes (see ``MemoryEstimate``), on data of shape `dataset`
    /// (nil: not known yet; 1,024 features and 10 classes are assumed, the dense Hessian at its largest).
    public func estimatedMemoryBytes(dataset: DatasetShape?) -> Int {
        MemoryEstimate.bytes(estimatedMemory(dataset: dataset))
    }

    func estimatedMemory(dataset known: DatasetShape?) -> Double {
        let dataset = known ?? .assumed
        let p = MemoryEstimate.parameters(inputs: dataset.inputs, hidden: model.hidden, outputs: dataset.outputs)
        // Parameters, gradient, two optimizer moments, the kept best and the start: six float copies.
        var bytes = MemoryEstimate.baseBytes + 6 * 4 * p
        // Activations and their gradients for one batch.
        bytes += 3 * 4 * Double(max(1, optimizer.batchSize)) * (model.hidden.reduce(0.0) { $0 + Double($1) } + Double(dataset.outputs))
        if let krylov = optimizer.krylov { bytes += (Double(krylov.dimension) + 4) * p * 8 }
        // The optimizer's own (a subset's size when the description names it, else 60,000 samples).
        let samples: Double
        switch data.trainingSubset {
        case .first(let n), .sample(let n): samples = Double(n)
        case .all: samples = 60_000
        }
        bytes += OptimizerMethods.method(optimizer.kind)?.workingMemoryBytes(optimizer, parameters: p, samples: samples,
                                                                              sampleWidth: Double(dataset.inputs) + Double(dataset.outputs)) ?? 0
        var probeBytes = 0.0
        if let hessian = probes?.hessian { probeBytes = max(probeBytes, MemoryEstimate.hessianBytes(hessian, parameters: p, exact: known != nil)) }
        if let index = curve?.index { probeBytes = max(probeBytes, MemoryEstimate.hessianBytes(index, parameters: p, exact: known != nil)) }
        if probes?.paths != nil || probes?.registered?.isEmpty == false { probeBytes = max(probeBytes, 8 * p * 8) }
        return bytes + probeBytes
    }
}

extension SpinGlassDescription {
    /// Peak memory of this trial in bytes: the couplings (float32) and, with the index, the dense
    /// Λ × Λ Hessian (float64) and its reduction.
    public var estimatedMemoryBytes: Int {
        // Distinct couplings: C(Λ + H − 1, H), as floats.
        let lambda = Double(max(spins, 0)), h = min(max(order, 1), 8)
        let couplings = (0..<h).reduce(1.0) { $0 * (lambda + Double($1)) / Double($1 + 1) } * 4
        let index = computeIndex ? 3 * lambda * lambda * 8 : 0
        return MemoryEstimate.bytes(MemoryEstimate.baseBytes + couplings + index + 8 * lambda * 8)
    }
}

extension ConnectivityDescription {
    /// Peak memory in bytes: two trained ends and the curves between them.
    public func estimatedMemoryBytes(dataset: DatasetShape?) -> Int {
        let shape = dataset ?? .assumed
        let p = MemoryEstimate.parameters(inputs: shape.inputs, hidden: ends.model.hidden, outputs: shape.outputs)
        return MemoryEstimate.bytes(2 * ends.estimatedMemory(dataset: dataset) + Double(max(1, shapes.count)) * 4 * p * 8)
    }
}
