/// One restart of a two-layer ReLU student on the population loss of a teacher of the same
/// form (``PopulationLoss``; Safran & Shamir 2018): the student's units start from Xavier's
/// uniform law U(±√(6/(d+1))) drawn from (seed, trial), then gradient descent with heavy-ball
/// momentum runs until the loss reaches the global minimum's neighbourhood, the gradient
/// vanishes, or the step budget ends. The end point is classified, and a converged one above the
/// global minimum is checked with its Hessian: a spurious minimum or a saddle.
public struct TeacherStudentDescription: Codable, Hashable, Sendable {
    public enum TeacherLaw: String, Codable, Sendable, CaseIterable {
        /// vⱼ = eⱼ (the paper's experiments).
        case orthonormal
        /// vⱼ ~ N(0, I/d) from the sweep point's own stream (the same teacher for every restart).
        case gaussian
    }

    public var seed: UInt64
    public var trialIndex: UInt64
    /// k, the teacher's units.
    public var teacherUnits: Int
    /// n, the student's units.
    public var studentUnits: Int
    /// d, the input dimension.
    public var inputs: Int
    public var teacher: TeacherLaw
    /// The stream of a Gaussian teacher (the sweep point), so that restarts share it.
    public var teacherRealization: UInt64
    public var learningRate: Double
    public var momentum: Double
    public var maxSteps: Int
    /// Converged when ‖∇F‖ ≤ this.
    public var gradientTolerance: Double
    /// At the global minimum when F ≤ this (the descent stops at a tenth of it).
    public var globalTolerance: Double
    /// A teacher unit counts as recovered when some student unit's cosine with it is at least this.
    public var recoveryCosine: Double
    /// Classify converged end points above the global minimum by their Hessian (n·d ≤ 2000).
    public var checkHessian: Bool

    public init(seed: UInt64, trialIndex: UInt64, teacherUnits: Int, studentUnits: Int, inputs: Int, teacher: TeacherLaw = .orthonormal,
                teacherRealization: UInt64 = 0, learningRate: Double = 0.05, momentum: Double = 0.9, maxSteps: Int = 20_000,
                gradientTolerance: Double = 1e-7, globalTolerance: Double = 1e-5, recoveryCosine: Double = 0.99, checkHessian: Bool = true) {
        self.seed = seed
        self.trialIndex = trialIndex
        self.teacherUnits = teacherUnits
        self.studentUnits = studentUnits
        self.inputs = inputs
        self.teacher = teacher
        self.teacherRealization = teacherRealization
        self.learningRate = learningRate
        self.momentum = momentum
        self.maxSteps = maxSteps
        self.gradientTolerance = gradientTolerance
        self.globalTolerance = globalTolerance
        self.recoveryCosine = recoveryCosine
        self.checkHessian = checkHessian
    }

    /// The largest n·d whose Hessian is checked.
    public static let maximumHessianDimension = 2000

    public func validate() throws(TrialDescriptionError) {
        guard (1...256).contains(teacherUnits) else { throw TrialDescriptionError(field: "teacherUnits", problem: "must be in 1...256, got \(teacherUnits)") }
        guard (1...256).contains(studentUnits) else { throw TrialDescriptionError(field: "studentUnits", problem: "must be in 1...256, got \(studentUnits)") }
        guard (1...256).contains(inputs) else { throw TrialDescriptionError(field: "inputs", problem: "must be in 1...256, got \(inputs)") }
        if teacher == .orthonormal && teacherUnits > inputs {
            throw TrialDescriptionError(field: "teacher", problem: "orthonormal units e₁…e_k need k ≤ d; k = \(teacherUnits) > d = \(inputs)")
        }
        guard learningRate.isFinite && learningRate > 0 && learningRate <= 100 else { throw TrialDescriptionError(field: "learningRate", problem: "must be in (0, 100], got \(learningRate)") }
        guard momentum.isFinite && momentum >= 0 && momentum < 1 else { throw TrialDescriptionError(field: "momentum", problem: "must be in [0, 1), got \(momentum)") }
        guard (0...10_000_000).contains(maxSteps) else { throw TrialDescriptionError(field: "maxSteps", problem: "must be in 0...10000000, got \(maxSteps)") }
        for (field, value) in [("gradientTolerance", gradientTolerance), ("globalTolerance", globalTolerance)] where !(value.isFinite && value > 0) {
            throw TrialDescriptionError(field: field, problem: "must be a positive finite number, got \(value)")
        }
        guard recoveryCosine.isFinite && recoveryCosine > 0 && recoveryCosine <= 1 else {
            throw TrialDescriptionError(field: "recoveryCosine", problem: "must be in (0, 1], got \(recoveryCosine)")
        }
    }

    /// The teacher's units.
    public func teacherUnitsVectors() -> [[Double]] {
        switch teacher {
        case .orthonormal:
            return (0..<teacherUnits).map { j in (0..<inputs).map { $0 == j ? 1 : 0 } }
        case .gaussian:
            var stream = RandomStream(seed: seed, trial: teacherRealization, purpose: .syntheticData, substream: 0)
            let scale = 1 / Double(inputs).squareRoot()
            return (0..<teacherUnits).map { _ in (0..<inputs).map { _ in stream.nextGaussian() * scale } }
        }
    }

    /// The student's starting units.
    public func start() -> [[Double]] {
        var stream = RandomStream(seed: seed, trial: trialIndex, purpose: .studentStart)
        let bound = (6 / Double(inputs + 1)).squareRoot()
        return (0..<studentUnits).map { _ in (0..<inputs).map { _ in bound * stream.nextSignedUnitDouble() } }
    }
}

/// How a teacher–student restart ended. Everything but ``timing`` is deterministic.
public struct TeacherStudentResult: Codable, Hashable, Sendable {
    public enum Ending: String, Codable, Sendable, CaseIterable {
        /// F ≤ the global tolerance: the global minimum (up to a permutation of the units).
        case global
        /// Converged above it, with a positive semi-definite Hessian: a spurious local minimum.
        case spuriousMinimum = "spurious-minimum"
        /// Converged above it, with a negative Hessian eigenvalue: a saddle point.
        case saddle
        /// Converged above it, Hessian not checked (too large, or not asked).
        case spuriousCritical = "spurious-critical"
        /// The step budget ended above the global minimum with the gradient not yet small.
        case notConverged = "not-converged"
    }

    public var status: TrialStatus
    public var ending: Ending
    public var steps: Int
    /// F at the end point (the distance to the global minimum, which is 0).
    public var loss: Double
    public var gradientNorm: Double
    /// Teacher units some student unit points along (cosine ≥ the description's recoveryCosine).
    public var recoveredUnits: Int
    public var hessianMinimum: Double?
    public var hessianMaximum: Double?
    /// SHA-256 of the final units as little-endian float64.
    public var pointSHA256: String
    public var timing: Timing

    public struct Timing: Codable, Hashable, Sendable {
        public var seconds: Double
        public var instructionSet: String
    }

    public var deterministicFingerprint: TeacherStudentResult {
        var copy = self
        copy.timing = Timing(seconds: 0, instructionSet: "")
        return copy
    }
}

extension TeacherStudentDescription {
    /// Runs the restart; nil when `isCancelled` says so (polled every 64 steps and per Hessian column).
    public func run(isCancelled: () -> Bool = { false }) throws(TrialDescriptionError) -> TeacherStudentResult? {
        try validate()
        let clock = ContinuousClock.now
        let population = PopulationLoss(teacher: teacherUnitsVectors())
        let start = self.start()
        var units = start.flatMap { $0 }
        var velocity = [Double](repeating: 0, count: units.count)
        var gradient = [Double](repeating: 0, count: units.count)
        func evaluate() -> Double {
            units.withUnsafeBufferPointer { w in gradient.withUnsafeMutableBufferPointer { population.lossAndGradient(units: studentUnits, w, gradient: $0) } }
        }
        var loss = evaluate()
        var steps = 0
        func norm(_ values: [Double]) -> Double { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var status = TrialStatus.completed
        while steps < maxSteps && loss > globalTolerance / 10 && norm(gradient) > gradientTolerance {
            if steps & 63 == 0 && isCancelled() { return nil }
            for k in units.indices {
                velocity[k] = momentum * velocity[k] - learningRate * gradient[k]
                units[k] += velocity[k]
            }
            loss = evaluate()
            steps += 1
            if !loss.isFinite { status = .diverged; break }
        }
        let rows = (0..<studentUnits).map { Array(units[$0 * inputs ..< ($0 + 1) * inputs]) }
        let gradientNorm = norm(gradient)
        var ending: TeacherStudentResult.Ending
        var hessianMinimum: Double?, hessianMaximum: Double?
        if loss <= globalTolerance {
            ending = .global
        } else if gradientNorm > gradientTolerance || status == .diverged {
            ending = .notConverged
        } else if checkHessian && studentUnits * inputs <= Self.maximumHessianDimension {
            let size = studentUnits * inputs
            guard var matrix = population.hessian(at: rows, isCancelled: isCancelled) else { return nil }
            let eigenvalues: [Double]?
            do { eigenvalues = try SymmetricEigenvalues.dense(&matrix, dimension: size, isCancelled: isCancelled) } catch { eigenvalues = [] }
            guard let eigenvalues else { return nil }
            hessianMinimum = eigenvalues.min()
            hessianMaximum = eigenvalues.max()
            if let low = hessianMinimum, let high = hessianMaximum {
                // Central differences are good to about 1e-6 of the largest curvature.
                ending = low >= -1e-5 * max(abs(high), 1) ? .spuriousMinimum : .saddle
            } else {
                ending = .spuriousCritical
            }
        } else {
            ending = .spuriousCritical
        }
        let teacherVectors = population.teacher
        let recovered = teacherVectors.filter { v in
            let normV = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return rows.contains { w in
                let normW = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let dot = zip(w, v).reduce(0) { $0 + $1.0 * $1.1 }
                return normW > 0 && normV > 0 && dot / (normW * normV) >= recoveryCosine
            }
        }.count
        let sha = units.withUnsafeBytes { SHA256.hex(of: $0) }
        return TeacherStudentResult(
            status: status, ending: ending, steps: steps, loss: loss, gradientNorm: gradientNorm, recoveredUnits: recovered,
            hessianMinimum: hessianMinimum, hessianMaximum: hessianMaximum, pointSHA256: sha,
            timing: .init(seconds: secondsElapsed(since: clock), instructionSet: buildInstructionSet))
    }
}
