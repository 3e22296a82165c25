@testable import MinimaCore
import Testing

@Suite("The Hessian's outlier eigenvalues")
struct OutlierProbeTests {
    @Test func theCountIsTheLargestRelativeGapAboveTheFloor() {
        #expect(HessianOutliers.outliers([100, 90, 80, 5, 4, 3, 0.001], floor: 1e-3) == (3, 16))
        // A gap inside the bulk near zero does not count, however large.
        #expect(HessianOutliers.outliers([10, 1, 1e-9], floor: 1e-3).count == 1)
        #expect(HessianOutliers.outliers([-1, -2], floor: 1e-3).count == 0 && HessianOutliers.outliers([], floor: 1e-3).count == 0)
        #expect(HessianOutliers.outliers([5], floor: 1e-3).count == 0)
    }

    @Test func lanczosFindsTheExactSpectrumsOutliersOnASmallNetwork() throws {
        var description = trial(index: 2, hidden: [6], activation: .tanh, batch: 20, lr: 0.1, epochs: 3)
        func measure(exact: Double, steps: Double) throws -> ProbeMeasurement {
            description.probes = ProbeRequest(samples: 200, registered: ["outliers": ProbeSettings(["top": 12, "exact": exact, "steps": steps, "floor": 1e-3])])
            return try #require(try Trainer.run(description, data: syntheticData(features: 20)).probes?.registered?["outliers"])
        }
        // 20·6 + 6 + 6·4 + 4 = 154 parameters: exact below 3000, and a full Lanczos run of 154 steps.
        let exact = try measure(exact: 3000, steps: 2), lanczos = try measure(exact: 0, steps: 154)
        #expect(exact.values["exact"] == 1 && lanczos.values["exact"] == 0)
        let a = try #require(exact.series["top"]), b = try #require(lanczos.series["top"])
        #expect(a.count == 12 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * abs(a[0]) })
        #expect(exact.values["count"] == lanczos.values["count"] && (exact.values["count"] ?? 0) >= 1)
        #expect(exact.values["lambda1"] == a[0] && exact.values["gap"]! >= 1)
    }
}
