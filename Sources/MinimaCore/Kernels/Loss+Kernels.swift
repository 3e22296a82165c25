/// Loss and error count of a block of output rows, and (when `delta` is given) the gradient of
/// `scale` × the summed loss with respect to the outputs. Per-sample losses are added to the
/// running sum one at a time, so totals do not depend on how samples are grouped into blocks.
struct LossEvaluation {
    var lossSum: Double = 0
    var errors: Int = 0
}

/// What a block of output rows is compared with: each row's class, and for a regression set each
/// row's target values (laid out like the outputs, with the same stride and zero padding).
struct LossTargets {
    let labels: UnsafePointer<Int32>
    let values: UnsafePointer<Float>?
}

extension LossFunction {
    func evaluate(
        outputs: UnsafePointer<Float>, stride: Int, rows: Int, classes: Int, targets: LossTargets,
        delta: UnsafeMutablePointer<Float>?, scale: Float, startingFrom lossSum: Double
    ) -> LossEvaluation {
        switch self {
        case .softmaxCrossEntropy:
            softmaxCrossEntropyLoss(outputs: outputs, stride: stride, rows: rows, classes: classes, targets: targets, delta: delta, scale: scale, lossSum: lossSum)
        case .meanSquaredError:
            meanSquaredErrorLoss(outputs: outputs, stride: stride, rows: rows, classes: classes, targets: targets, delta: delta, scale: scale, lossSum: lossSum)
        }
    }
}

/// Whether the first index of the largest output is `label` (ties go to the lower index; a NaN
/// output is never correct).
@inline(__always)
private func predicts(_ row: UnsafePointer<Float>, label: Int, maximum: Float) -> Bool {
    guard row[label] == maximum else { return false }
    for c in 0..<label where row[c] == maximum { return false }
    return true
}

/// The largest of the first `classes` values of `row`.
@inline(__always)
private func rowMaximum(_ row: UnsafePointer<Float>, chunks: Int, lastMask: SIMDMask<SIMD16<Int32>>) -> Float {
    var maximum = -Float.infinity
    for chunk in 0..<chunks {
        var v = row.lanes(at: chunk * 16)
        if chunk == chunks - 1 { v = v.replacing(with: -.infinity, where: .!lastMask) }
        maximum = Swift.max(maximum, DeterministicMath.maximum(v))
    }
    return maximum
}

/// loss = log Σ e^{z} − z_y, computed as log Σ e^{z − m} + (m − z_y) with m = max z;
/// δ = (softmax − onehot)·scale. The logarithms of 16 rows are taken at once.
private func softmaxCrossEntropyLoss(
    outputs: UnsafePointer<Float>, stride: Int, rows: Int, classes: Int, targets: LossTargets,
    delta: UnsafeMutablePointer<Float>?, scale: Float, lossSum: Double
) -> LossEvaluation {
    let chunks = (classes + 15) / 16
    let lastMask = lanesBelow(classes - (chunks - 1) * 16)
    var result = LossEvaluation(lossSum: lossSum)
    // Per-row sums and offsets wait in scratch memory (not SIMD lanes: inserting at a variable
    // lane index goes through the stack) until 16 rows can share one vector logarithm.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { scratch in
        let totals = scratch.baseAddress!, offsets = scratch.baseAddress! + 16
        var pending = 0
        func flush() {
            for lane in pending..<16 { totals[lane] = 1 }
            let logs = DeterministicMath.log(UnsafePointer(totals).lanes(at: 0))
            for lane in 0..<pending { result.lossSum += Double(logs[lane] + offsets[lane]) }
            pending = 0
        }
        for r in 0..<rows {
            let z = outputs + r * stride
            let label = Int(targets.labels[r])
            let maximum = rowMaximum(z, chunks: chunks, lastMask: lastMask)
            var total: Float = 0
            for chunk in 0..<chunks {
                var e = DeterministicMath.exp(z.lanes(at: chunk * 16) - Lanes(repeating: maximum))
                if chunk == chunks - 1 { e = e.replacing(with: 0, where: .!lastMask) }
                total += DeterministicMath.sum(e)
                if let delta { delta.storeLanes(e, at: r * stride + chunk * 16) }
            }
            totals[pending] = total
            offsets[pending] = maximum - z[label]
            pending += 1
            if pending == 16 { flush() }
            if !predicts(z, label: label, maximum: maximum) { result.errors += 1 }
            if let delta {
                let scaledInverse = Lanes(repeating: scale / total)
                for chunk in 0..<chunks {
                    let offset = r * stride + chunk * 16
                    delta.storeLanes(delta.lanes(at: offset) * scaledInverse, at: offset)
                }
                delta[r * stride + label] -= scale
            }
        }
        if pending > 0 { flush() }
    }
    return result
}

/// loss = ½ Σ_c (z_c − t_c)² with t = onehot(y), or the row's target values in a regression set
/// (which has no errors to count); δ = (z − t)·scale.
private func meanSquaredErrorLoss(
    outputs: UnsafePointer<Float>, stride: Int, rows: Int, classes: Int, targets: LossTargets,
    delta: UnsafeMutablePointer<Float>?, scale: Float, lossSum: Double
) -> LossEvaluation {
    let chunks = (classes + 15) / 16
    let lastMask = lanesBelow(classes - (chunks - 1) * 16)
    let laneIndex = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    var result = LossEvaluation(lossSum: lossSum)
    for r in 0..<rows {
        let z = outputs + r * stride
        let label = targets.labels[r]
        var squares: Float = 0
        for chunk in 0..<chunks {
            let target = targets.values.map { $0.lanes(at: r * stride + chunk * 16) }
                ?? Lanes(repeating: 0).replacing(with: 1, where: laneIndex &+ Int32(chunk * 16) .== label)
            var difference = z.lanes(at: chunk * 16) - target
            if chunk == chunks - 1 { difference = difference.replacing(with: 0, where: .!lastMask) }
            squares += DeterministicMath.sum(difference * difference)
            delta?.storeLanes(difference * Lanes(repeating: scale), at: r * stride + chunk * 16)
        }
        result.lossSum += 0.5 * Double(squares)
        if targets.values == nil, !predicts(z, label: Int(label), maximum: rowMaximum(z, chunks: chunks, lastMask: lastMask)) { result.errors += 1 }
    }
    return result
}
