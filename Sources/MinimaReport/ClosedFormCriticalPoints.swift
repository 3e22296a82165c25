import Foundation
import MinimaCore
import MinimaExperiment

/// The linear autoencoder's searches against its closed-form critical points (Baldi & Hornik
/// 1989; ``LinearAutoencoderTheory``): for a study on `gaussian:` data (targets = inputs) with
/// one hidden layer of linear units, squared error and no weight decay, every converged search's
/// end point is matched to the critical point of nearest loss — matched when the loss agrees to
/// `lossTolerance` (relative) and the exact Hessian's index is that point's index.
public struct ClosedFormCriticalPoints: Codable, Sendable {
    /// The training data's covariance eigenvalues (1/N, centred), descending.
    public var eigenvalues: [Double]
    public var lossTolerance: Double
    /// One line per sweep point that is a linear autoencoder (the others are not listed).
    public var points: [PointMatch]
    /// The closed-form critical points the searches found, with how often.
    public var found: [Found]
    /// Converged end points that matched nothing (at most 20), for a person to look at.
    public var unmatched: [Unmatched]

    public struct PointMatch: Codable, Sendable {
        public var point: Int
        public var label: String
        public var hidden: Int
        public var searches: Int
        public var converged: Int
        /// … of the converged, how many matched a closed-form point.
        public var matched: Int
        /// Ends of the searches that did not converge (gradient-flat, stalled, …) by name.
        public var otherEnds: [String: Int]
        /// Distinct closed-form points found, and how many critical points there are.
        public var distinctFound: Int
        public var criticalPoints: Int
    }

    public struct Found: Codable, Sendable {
        public var point: Int
        /// Kept eigen-directions (0 = largest eigenvalue).
        public var kept: [Int]
        public var loss: Double
        public var index: Int
        public var count: Int
    }

    public struct Unmatched: Codable, Sendable {
        public var trial: Int
        public var loss: Double
        public var index: Int?
        public var nearestKept: [Int]
        public var nearestLoss: Double
        public var nearestIndex: Int
    }

    /// Nil unless the study is a linear autoencoder on `gaussian:` data trained on all its
    /// training samples, with a critical-point search and the exact Hessian probe.
    static func build(spec: ExperimentSpec, rows: [TrialRow], lossTolerance: Double = 1e-6) -> ClosedFormCriticalPoints? {
        guard spec.data.dataset.hasPrefix("gaussian:"),
              let data = try? GaussianDataDescription(parsing: String(spec.data.dataset.dropFirst("gaussian:".count))),
              spec.data.trainingSamples == nil || spec.data.trainingSamples == data.trainingSamples, spec.data.validationSamples == 0,
              data.inputs <= 20 else { return nil }
        let eligible = spec.sweepPoints.filter { point in
            point.hidden.count == 1 && point.activation == .linear && point.loss == .meanSquaredError && point.weightDecay == 0
                && point.hidden[0] < data.inputs && point.optimizer?.info?.traits.contains(.criticalPoints) == true
        }
        guard !eligible.isEmpty else { return nil }
        let eigenvalues = covarianceEigenvalues(data)
        let varying = spec.varyingDimensions
        var points: [PointMatch] = [], found: [Found] = [], unmatched: [Unmatched] = []
        for point in eligible {
            let theory = LinearAutoencoderTheory.criticalPoints(eigenvalues: eigenvalues, hidden: point.hidden[0])
            var match = PointMatch(point: point.index, label: NetworkKind.label(of: point, varying: varying), hidden: point.hidden[0],
                                   searches: 0, converged: 0, matched: 0, otherEnds: [:], distinctFound: 0, criticalPoints: theory.count)
            var counts: [[Int]: Int] = [:]
            for row in rows where row.point == point.index && row.isCompleted {
                guard let result = row.result, let search = result.search else { continue }
                match.searches += 1
                guard search.end == .converged else { match.otherEnds[search.end.rawValue, default: 0] += 1; continue }
                match.converged += 1
                let loss = search.loss ?? result.train.loss
                let index = result.probes?.hessian.flatMap { h in h.exact.map { Int(($0.index * Double(h.parameters)).rounded()) } }
                guard let nearest = LinearAutoencoderTheory.nearest(loss: loss, among: theory) else { continue }
                if nearest.relativeDifference <= lossTolerance, index == nearest.point.index {
                    match.matched += 1
                    counts[nearest.point.kept, default: 0] += 1
                } else if unmatched.count < 20 {
                    unmatched.append(Unmatched(trial: row.trial, loss: loss, index: index, nearestKept: nearest.point.kept,
                                               nearestLoss: nearest.point.loss, nearestIndex: nearest.point.index))
                }
            }
            match.distinctFound = counts.count
            points.append(match)
            for critical in theory where counts[critical.kept] != nil {
                found.append(Found(point: point.index, kept: critical.kept, loss: critical.loss, index: critical.index, count: counts[critical.kept]!))
            }
        }
        return ClosedFormCriticalPoints(eigenvalues: eigenvalues, lossTolerance: lossTolerance, points: points, found: found, unmatched: unmatched)
    }

    /// The eigenvalues of the generated training inputs' covariance (as stored, float32), in
    /// double precision, descending.
    static func covarianceEigenvalues(_ data: GaussianDataDescription) -> [Double] {
        let x = data.samples(test: false), n = data.trainingSamples, d = data.inputs
        var mean = [Double](repeating: 0, count: d)
        for s in 0..<n { for k in 0..<d { mean[k] += Double(x[s * d + k]) } }
        for k in 0..<d { mean[k] /= Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        for s in 0..<n {
            for a in 0..<d {
                let u = Double(x[s * d + a]) - mean[a]
                for b in 0..<d { covariance[a * d + b] += u * (Double(x[s * d + b]) - mean[b]) }
            }
        }
        for i in covariance.indices { covariance[i] /= Double(n) }
        let values = (try? SymmetricEigenvalues.dense(&covariance, dimension: d)) ?? []
        return values.sorted(by: >)
    }

    // MARK: Presentation

    /// "converged 97 of 100, matched 97 of 97 …" per point, for the terminal.
    func terminalLines(labelWidth: Int) -> String {
        var out = "\nclosed-form critical points (linear autoencoder; covariance eigenvalues \(eigenvalues.map { HTMLReport.format($0, digits: 3) }.joined(separator: ", "))):\n"
        for p in points {
            out += TerminalReport.pad(p.label, labelWidth) + "  converged \(p.converged)/\(p.searches) (\(percent(p.converged, p.searches)))"
                + ", matched \(p.matched)/\(p.converged) (\(percent(p.matched, p.converged))) to loss ±\(String(format: "%.0e", lossTolerance)) and exact index"
                + ", \(p.distinctFound) of \(p.criticalPoints) critical points found"
                + (p.otherEnds.isEmpty ? "" : "; not converged: " + p.otherEnds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")) + "\n"
        }
        return out
    }

    func percent(_ part: Int, _ whole: Int) -> String { whole == 0 ? "–" : String(format: "%.0f%%", 100 * Double(part) / Double(whole)) }

    /// The section's heading, paragraph and tables.
    func html() -> String {
        let e = SVGFigures.escape, format = HTMLReport.format
        var summary = ""
        for p in points {
            summary += "<tr><td>\(e(p.label))</td><td>\(p.searches)</td><td>\(p.converged) (\(percent(p.converged, p.searches)))</td><td>\(p.matched) (\(percent(p.matched, p.converged)))</td><td>\(p.distinctFound) of \(p.criticalPoints)</td><td>\(e(p.otherEnds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))</td></tr>\n"
        }
        var table = ""
        for f in found {
            let label = points.first { $0.point == f.point }?.label ?? ""
            table += "<tr><td>\(e(label))</td><td>{\(f.kept.map { String($0 + 1) }.joined(separator: ", "))}</td><td>\(format(f.loss, 6))</td><td>\(f.index)</td><td>\(f.count)</td></tr>\n"
        }
        var missed = ""
        for u in unmatched {
            missed += "<tr><td>\(u.trial)</td><td>\(format(u.loss, 7))</td><td>\(u.index.map(String.init) ?? "–")</td><td>{\(u.nearestKept.map { String($0 + 1) }.joined(separator: ", "))}</td><td>\(format(u.nearestLoss, 7))</td><td>\(u.nearestIndex)</td></tr>\n"
        }
        return """
        <h2>Critical points against the closed form</h2>
        <p>A linear autoencoder's critical points are known (Baldi &amp; Hornik 1989): each keeps a subset I of the data covariance's eigenvectors,
        with loss ½Σ<sub>j∉I</sub>λ<sub>j</sub> and index Σ<sub>i∈I</sub>#{j∉I : λ<sub>j</sub> &gt; λ<sub>i</sub>} + (p − |I|)(d − |I|). The covariance of these training
        inputs has eigenvalues \(eigenvalues.map { format($0, 4) }.joined(separator: ", ")). A converged search is matched when its loss is within
        \(String(format: "%.0e", lossTolerance)) (relative) of the nearest critical point's and its exact Hessian has exactly that point's index.</p>
        <div class="scroll"><table><tr><th>sweep point</th><th>searches</th><th>converged</th><th>matched</th><th>critical points found</th><th>the others ended</th></tr>
        \(summary)</table></div>
        <div class="scroll"><table><tr><th>sweep point</th><th>kept directions I</th><th>loss</th><th>index</th><th>found</th></tr>
        \(table)</table></div>
        \(unmatched.isEmpty ? "" : "<p>Converged but not matched (first \(unmatched.count)):</p>\n<div class=\"scroll\"><table><tr><th>trial</th><th>loss</th><th>index</th><th>nearest I</th><th>its loss</th><th>its index</th></tr>\n\(missed)</table></div>")

        """
    }

    /// Loss against index: every closed-form critical point (hollow) and the ones found (filled).
    func figure(title: String) -> String? {
        guard let first = points.first else { return nil }
        let theory = LinearAutoencoderTheory.criticalPoints(eigenvalues: eigenvalues, hidden: first.hidden)
        let foundHere = found.filter { $0.point == first.point }.map { (Double($0.index), $0.loss) }
        return SVGFigures.scatter(labels: ["found by the searches", "every closed-form critical point"],
                                  pairs: [foundHere, theory.map { (Double($0.index), $0.loss) }],
                                  title: title, xLabel: "index (negative Hessian eigenvalues)", yLabel: "training loss")
    }
}
