/// The population loss of a student network x ↦ Σᵢ max(0, wᵢ·x) against a teacher
/// x ↦ Σⱼ max(0, vⱼ·x) under standard Gaussian inputs (Safran & Shamir 2018), in closed form:
///
///     F(W) = ½ E[(Σᵢ [wᵢ·x]₊ − Σⱼ [vⱼ·x]₊)²]
///          = ½ Σᵢᵢ' g(wᵢ, wᵢ') − Σᵢⱼ g(wᵢ, vⱼ) + ½ Σⱼⱼ' g(vⱼ, vⱼ'),
///     g(w, v) = E[[w·x]₊ [v·x]₊] = ‖w‖‖v‖ (sin θ + (π − θ) cos θ) / 2π,
///
/// θ the angle between w and v (Cho & Saul's arc-cosine kernel), and its gradient
/// ∂g(w, v)/∂w = (‖v‖ sin θ ŵ + (π − θ) v) / 2π. Both output layers are fixed to ones and
/// neither network has biases, as in the paper. The global minimum is 0 (W = V up to a
/// permutation, when the student has at least as many units). Everything is plain arithmetic in a
/// fixed order (``DeterministicMath/arccos(_:)``), so the bits are the same on every machine.
public struct PopulationLoss: Sendable {
    /// The teacher's units vⱼ (rows), d values each.
    public let teacher: [[Double]]
    public let dimension: Int
    /// ½ Σⱼⱼ' g(vⱼ, vⱼ'), the constant term.
    let teacherTerm: Double
    let teacherFlat: [Double]
    let teacherCount: Int

    public init(teacher: [[Double]]) {
        precondition(!teacher.isEmpty)
        self.teacher = teacher
        dimension = teacher[0].count
        teacherFlat = teacher.flatMap { $0 }
        teacherCount = teacher.count
        var total = 0.0
        let d = dimension, count = teacher.count
        teacherFlat.withUnsafeBufferPointer { v in
            for a in 0..<count { for b in 0..<count { total += Self.accumulate(v.baseAddress! + a * d, v.baseAddress! + b * d, dimension: d, into: nil, sign: 1) } }
        }
        teacherTerm = 0.5 * total
    }

    /// F(W) for the student's units `student` (rows).
    public func loss(_ student: [[Double]]) -> Double {
        let flat = student.flatMap { $0 }
        return flat.withUnsafeBufferPointer { lossAndGradient(units: student.count, $0, gradient: nil) }
    }

    /// F(W) and ∂F/∂wᵢ for every unit (rows like `student`).
    public func lossAndGradient(_ student: [[Double]]) -> (loss: Double, gradient: [[Double]]) {
        let flat = student.flatMap { $0 }
        var gradient = [Double](repeating: 0, count: flat.count)
        let loss = flat.withUnsafeBufferPointer { units in
            gradient.withUnsafeMutableBufferPointer { lossAndGradient(units: student.count, units, gradient: $0) }
        }
        return (loss, (0..<student.count).map { Array(gradient[$0 * dimension ..< ($0 + 1) * dimension]) })
    }

    /// F and (into `gradient`, when given) ∂F for `units` rows of `dimension` values, row-major —
    /// the descent's form: no allocation.
    public func lossAndGradient(units count: Int, _ student: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>?) -> Double {
        let d = dimension
        var studentTerm = 0.0, crossTerm = 0.0
        if let gradient { gradient.update(repeating: 0) }
        teacherFlat.withUnsafeBufferPointer { teacher in
            for i in 0..<count {
                let w = student.baseAddress! + i * d
                let into = gradient.map { $0.baseAddress! + i * d }
                for j in 0..<count {
                    studentTerm += Self.accumulate(w, student.baseAddress! + j * d, dimension: d, into: into, sign: 1)
                }
                for j in 0..<teacherCount {
                    crossTerm += Self.accumulate(w, teacher.baseAddress! + j * d, dimension: d, into: into, sign: -1)
                }
            }
        }
        return 0.5 * studentTerm - crossTerm + teacherTerm
    }

    /// g(w, v), adding sign·∂g/∂w into `into` (when given). A zero w or v contributes nothing
    /// (g is not differentiable there).
    @inline(__always)
    static func accumulate(_ w: UnsafePointer<Double>, _ v: UnsafePointer<Double>, dimension d: Int, into: UnsafeMutablePointer<Double>?, sign: Double) -> Double {
        var ww = 0.0, vv = 0.0, wv = 0.0
        for k in 0..<d { ww += w[k] * w[k]; vv += v[k] * v[k]; wv += w[k] * v[k] }
        let normW = ww.squareRoot(), normV = vv.squareRoot()
        guard normW > 0, normV > 0 else { return 0 }
        let cosine = min(1, max(-1, wv / (normW * normV)))
        let theta = DeterministicMath.arccos(cosine)
        let sine = max(0, 1 - cosine * cosine).squareRoot()
        let twoPi = 6.283_185_307_179_586
        if let into {
            let along = sign * normV * sine / (normW * twoPi), toward = sign * (Double.pi - theta) / twoPi
            for k in 0..<d { into[k] += along * w[k] + toward * v[k] }
        }
        return normW * normV * (sine + (Double.pi - theta) * cosine) / twoPi
    }

    /// The Hessian of F (n·d × n·d, row-major, units' coordinates in order) by central differences
    /// of the closed-form gradient, symmetrized; nil when `isCancelled` says so.
    public func hessian(at student: [[Double]], isCancelled: () -> Bool = { false }) -> [Double]? {
        let n = student.count, d = dimension, size = n * d
        var matrix = [Double](repeating: 0, count: size * size)
        var point = student
        for column in 0..<size {
            if isCancelled() { return nil }
            let i = column / d, k = column % d
            let h = 1e-6 * max(1, abs(student[i][k]))
            point[i][k] = student[i][k] + h
            let up = lossAndGradient(point).gradient
            point[i][k] = student[i][k] - h
            let down = lossAndGradient(point).gradient
            point[i][k] = student[i][k]
            let step = (student[i][k] + h) - (student[i][k] - h)
            for row in 0..<size { matrix[row * size + column] = (up[row / d][row % d] - down[row / d][row % d]) / step }
        }
        for row in 0..<size {
            for column in (row + 1)..<max(size, row + 1) {
                let mean = 0.5 * (matrix[row * size + column] + matrix[column * size + row])
                matrix[row * size + column] = mean
                matrix[column * size + row] = mean
            }
        }
        return matrix
    }
}
