/// One trial of the connectivity kind: two restarts of a network trained from their
/// descriptions, the straight line between their end points, and a curve of each asked shape
/// fitted between them (Garipov et al. 2018; Draxler et al. 2018). Everything is a function of
/// the description: the same bits on any worker.
public struct ConnectivityDescription: Codable, Hashable, Sendable {
    /// This trial's index in its experiment: it keys the fit's random stream.
    public var trialIndex: UInt64
    /// The first end: a network trial as the network kind would run it (no probes, no learning
    /// curve). Its `trialIndex` is that restart's index.
    public var ends: TrialDescription
    /// The trial index of the second end (the same description otherwise).
    public var partner: UInt64
    /// The curves to fit, each from the straight line.
    public var shapes: [CurveShape]
    public var fit: CurveFitSettings
    /// Points tᵢ = i/(points − 1) at which the line and the curves are measured (≥ 2; Garipov
    /// et al. use 61).
    public var points: Int
    /// Measure on the first N samples of the first end's training split and of the test set
    /// (nil: all of them).
    public var samples: Int?
    /// Also the training objective over the plane through the two ends and the first curve's
    /// bend (nil: not measured; absent from the encoding then).
    public var plane: PlaneSettings?

    public init(trialIndex: UInt64, ends: TrialDescription, partner: UInt64, shapes: [CurveShape], fit: CurveFitSettings, points: Int, samples: Int?,
                plane: PlaneSettings? = nil) {
        self.plane = plane
        self.trialIndex = trialIndex
        self.ends = ends
        self.partner = partner
        self.shapes = shapes
        self.fit = fit
        self.points = points
        self.samples = samples
    }

    /// The description of end 0 or 1.
    public func end(_ which: Int) -> TrialDescription {
        var description = ends
        if which == 1 { description.trialIndex = partner }
        return description
    }

    /// Checks every field for values that cannot run, naming the field.
    public func validate() throws(TrialDescriptionError) {
        do throws(TrialDescriptionError) { try ends.validate() } catch {
            throw TrialDescriptionError(field: "ends.\(error.field)", problem: error.problem)
        }
        if ends.probes != nil { throw TrialDescriptionError(field: "ends.probes", problem: "the ends of a curve are trained without probes") }
        if ends.curve != nil { throw TrialDescriptionError(field: "ends.curve", problem: "the ends of a curve keep no learning curve") }
        if partner == ends.trialIndex {
            throw TrialDescriptionError(field: "partner", problem: "a curve needs two different restarts, got \(partner) twice")
        }
        if shapes.isEmpty { throw TrialDescriptionError(field: "shapes", problem: "at least one curve shape (bezier, polychain)") }
        if Set(shapes).count != shapes.count { throw TrialDescriptionError(field: "shapes", problem: "each shape at most once, got \(shapes.map(\.rawValue))") }
        try fit.validate()
        guard (2...10_001).contains(points) else { throw TrialDescriptionError(field: "points", problem: "must be in 2...10001, got \(points)") }
        if let samples, samples < 1 { throw TrialDescriptionError(field: "samples", problem: "must be ≥ 1, got \(samples)") }
        try plane?.validate()
    }
}

/// The grid over the plane through three points (Garipov et al. 2018, Fig. 1): the two ends and
/// the bend, in the orthonormal basis u ∥ end₁ − end₀, v ⟂ u in the plane; the grid covers the
/// three points' bounding box widened by `margin` of its size on every side.
public struct PlaneSettings: Codable, Hashable, Sendable {
    /// Grid points per axis.
    public var points: Int
    public var margin: Double

    public init(points: Int, margin: Double) {
        self.points = points
        self.margin = margin
    }

    public func validate() throws(TrialDescriptionError) {
        guard (2...201).contains(points) else { throw TrialDescriptionError(field: "plane.points", problem: "must be in 2...201, got \(points)") }
        guard margin.isFinite, margin >= 0, margin <= 10 else { throw TrialDescriptionError(field: "plane.margin", problem: "must be in [0, 10], got \(margin)") }
    }
}

/// The training objective over the plane through the two ends and a curve's bend.
public struct PlaneGrid: Codable, Hashable, Sendable {
    /// The curve whose bend spans the plane with the ends.
    public var shape: CurveShape
    public var points: Int
    /// The plane coordinates of the first and last grid point, per axis.
    public var x: ClosedRange<Double>
    public var y: ClosedRange<Double>
    /// Row by row, y outer.
    public var values: [Double]
    /// The plane coordinates of end 0 (the origin), end 1 (on the x axis) and the bend.
    public var start: [Double]
    public var end: [Double]
    public var bend: [Double]
}

/// How the bend is trained: SGD with heavy-ball momentum on minibatches of the first end's
/// training split, t drawn per step, the rate following Garipov et al.'s schedule (constant
/// for half the epochs, then falling linearly to 1 % at 90 %).
public struct CurveFitSettings: Codable, Hashable, Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double

    public init(epochs: Int, batchSize: Int, learningRate: Double, momentum: Double) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public func validate() throws(TrialDescriptionError) {
        guard (0...100_000).contains(epochs) else { throw TrialDescriptionError(field: "fit.epochs", problem: "must be in 0...100000, got \(epochs)") }
        guard (1...1_000_000).contains(batchSize) else { throw TrialDescriptionError(field: "fit.batchSize", problem: "must be in 1...1000000, got \(batchSize)") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1000 else {
            throw TrialDescriptionError(field: "fit.learningRate", problem: "must be > 0 and ≤ 1000, got \(learningRate)")
        }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else {
            throw TrialDescriptionError(field: "fit.momentum", problem: "must be in [0, 1), got \(momentum)")
        }
    }
}

/// What a connectivity trial measured.
public struct ConnectivityResult: Codable, Hashable, Sendable {
    /// `completed`; `diverged` when an end diverged (no line or curves then); `cancelled`.
    public var status: TrialStatus
    /// The two ends as trained here: each equals its own network trial's result.
    public var ends: [EndPoint]
    /// The straight line between the ends.
    public var line: PathProfiles?
    /// One fitted curve per asked shape, in the description's order.
    public var curves: [FittedCurve]
    /// The objective over the plane through the ends and the first curve's bend (nil: not asked).
    public var plane: PlaneGrid?
    public var timing: Timing

    public struct EndPoint: Codable, Hashable, Sendable {
        public var trialIndex: UInt64
        public var status: TrialStatus
        public var train: Metrics
        public var test: Metrics
        /// Equals the network trial's `parametersSHA256`: the end is the restart it names.
        public var parametersSHA256: String
    }

    public struct FittedCurve: Codable, Hashable, Sendable {
        public var shape: CurveShape
        public var fit: BentCurve.FitEnd
        /// The mean minibatch loss (without weight decay) at the points θ(t) the fit drew, over its
        /// last epoch.
        public var finalFitLoss: Double
        public var profiles: PathProfiles
        /// SHA-256 of the bend (canonical order, little-endian float32).
        public var bendSHA256: String
    }

    public struct Timing: Codable, Hashable, Sendable {
        public var trainingSeconds: Double
        public var fitSeconds: Double
        public var evaluationSeconds: Double
        public var instructionSet: String
    }

    /// Without the timings: what two runs of one description agree on.
    public var deterministicFingerprint: ConnectivityResult {
        var copy = self
        copy.timing = Timing(trainingSeconds: 0, fitSeconds: 0, evaluationSeconds: 0, instructionSet: "")
        return copy
    }
}

/// Training and test loss and error at tᵢ = i/(points − 1) along a path, with each profile's
/// barrier (max − mean of the ends), and the path's length.
public struct PathProfiles: Codable, Hashable, Sendable {
    /// The training objective (mean loss + weight decay) on the measured training samples: the
    /// path probe's profile.
    public var trainLoss: LossProfile
    public var trainError: LossProfile
    public var testLoss: LossProfile
    public var testError: LossProfile
    /// Euclidean length in parameter space (the polyline through the measured points).
    public var length: Double
}
