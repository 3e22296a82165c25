import Foundation
import MinimaCore
import Testing

/// The population loss of two-layer ReLU networks under Gaussian inputs (Safran & Shamir 2018),
/// and restarts on it.
@Suite("Teacher–student population loss")
struct PopulationLossTests {
    func gaussianRows(_ rows: Int, _ columns: Int, substream: UInt32) -> [[Double]] {
        var stream = RandomStream(seed: 77, trial: 0, purpose: .testing, substream: substream)
        return (0..<rows).map { _ in (0..<columns).map { _ in stream.nextGaussian() } }
    }

    @Test func arccosIsLibmsToAFewUlpsWithoutLibm() {
        var worst = 0.0
        for step in 0...4000 {
            let x = -1 + Double(step) / 2000
            worst = max(worst, abs(DeterministicMath.arccos(x) - Foundation.acos(x)))
        }
        #expect(worst < 1e-15, "largest difference \(worst)")
        #expect(DeterministicMath.arccos(1) == 0 && DeterministicMath.arccos(2) == 0 && DeterministicMath.arccos(-1) == Double.pi)
    }

    @Test func theClosedFormIsTheMonteCarloMeanOfTheSquaredError() {
        let teacher = gaussianRows(2, 4, substream: 1), student = gaussianRows(3, 4, substream: 2)
        let population = PopulationLoss(teacher: teacher)
        var stream = RandomStream(seed: 78, trial: 0, purpose: .testing)
        let samples = 200_000
        var sum = 0.0, sumOfSquares = 0.0
        func network(_ units: [[Double]], _ x: [Double]) -> Double { units.reduce(0) { $0 + max(0, zip($1, x).reduce(0) { $0 + $1.0 * $1.1 }) } }
        for _ in 0..<samples {
            let x = (0..<4).map { _ in stream.nextGaussian() }
            let error = network(student, x) - network(teacher, x)
            let value = 0.5 * error * error
            sum += value
            sumOfSquares += value * value
        }
        let mean = sum / Double(samples)
        let standardError = ((sumOfSquares / Double(samples) - mean * mean) / Double(samples)).squareRoot()
        let exact = population.loss(student)
        #expect(abs(exact - mean) < 4 * standardError, "closed form \(exact), Monte Carlo \(mean) ± \(standardError)")
    }

    @Test func theGradientIsTheLossesCentralDifference() {
        let population = PopulationLoss(teacher: gaussianRows(3, 5, substream: 3))
        let student = gaussianRows(4, 5, substream: 4)
        let gradient = population.lossAndGradient(student).gradient
        for i in 0..<4 {
            for k in 0..<5 {
                var up = student, down = student
                up[i][k] += 1e-6
                down[i][k] -= 1e-6
                let difference = (population.loss(up) - population.loss(down)) / 2e-6
                #expect(abs(difference - gradient[i][k]) < 1e-7 * max(1, abs(difference)), "unit \(i), coordinate \(k): \(difference) vs \(gradient[i][k])")
            }
        }
    }

    @Test func theTeacherAndItsPermutationsAreGlobalMinima() {
        let teacher = gaussianRows(4, 6, substream: 5)
        let population = PopulationLoss(teacher: teacher)
        let permuted = [teacher[2], teacher[0], teacher[3], teacher[1]]
        let (loss, gradient) = population.lossAndGradient(permuted)
        #expect(abs(loss) < 1e-12 && gradient.joined().allSatisfy { abs($0) < 1e-12 })
        #expect(population.loss(gaussianRows(4, 6, substream: 6)) > 0.1)
    }

    @Test func restartsEndAtTheGlobalMinimumOrAtASpuriousMinimumWithAPositiveHessian() throws {
        var endings: [TeacherStudentResult.Ending: Int] = [:]
        for trial in 0..<12 {
            let description = TeacherStudentDescription(seed: 1, trialIndex: UInt64(trial), teacherUnits: 10, studentUnits: 10, inputs: 10)
            let result = try #require(try description.run())
            endings[result.ending, default: 0] += 1
            switch result.ending {
            case .global:
                #expect(result.loss <= 1e-5 && result.recoveredUnits == 10)
            case .spuriousMinimum:
                #expect(result.loss > 1e-3 && result.gradientNorm <= 1e-7 && result.hessianMinimum! > -1e-5 && result.recoveredUnits < 10)
            default:
                Issue.record("trial \(trial) ended \(result.ending) (loss \(result.loss), ‖∇F‖ \(result.gradientNorm), λmin \(result.hessianMinimum ?? .nan))")
            }
            // The same description gives the same bits.
            #expect(try description.run()!.deterministicFingerprint == result.deterministicFingerprint)
        }
        // With k = n = 10 both happen (Safran & Shamir: about a third of restarts end spurious).
        #expect(endings[.global, default: 0] > 0 && endings[.spuriousMinimum, default: 0] > 0, "\(endings)")
    }

    @Test func badSettingsNameTheirField() {
        func problem(_ change: (inout TeacherStudentDescription) -> Void) -> String? {
            var description = TeacherStudentDescription(seed: 1, trialIndex: 0, teacherUnits: 4, studentUnits: 4, inputs: 4)
            change(&description)
            do { try description.validate(); return nil } catch { return error.field }
        }
        #expect(problem { $0.teacherUnits = 0 } == "teacherUnits")
        #expect(problem { $0.inputs = 3 } == "teacher")
        #expect(problem { $0.learningRate = .nan } == "learningRate")
        #expect(problem { $0.momentum = 1 } == "momentum")
        #expect(problem { $0.globalTolerance = -1 } == "globalTolerance")
        #expect(problem { $0.studentUnits = 100_000 } == "studentUnits")
        #expect(problem { $0.recoveryCosine = 2 } == "recoveryCosine")
    }
}
