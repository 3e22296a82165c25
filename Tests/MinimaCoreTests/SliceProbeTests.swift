import Foundation
@testable import MinimaCore
import Testing

@Suite("Filter-normalized slices (Li et al. 2018)")
struct SliceProbeTests {
    static func description(points: Double = 21, directions: Double = 2, radius: Double = 1) -> TrialDescription {
        var description = trial(index: 3, hidden: [12, 8], activation: .tanh, batch: 20, lr: 0.05, epochs: 2)
        description.probes = ProbeRequest(samples: 300, registered: ["slice": ProbeSettings(["points": points, "directions": directions, "radius": radius])])
        return description
    }

    @Test func eachNeuronsDirectionHasTheNormOfItsWeightsAndBiasesDoNotMove() throws {
        let network = Network(inputs: 20, hidden: [12, 8], classes: 4, activation: .tanh)
        network.initialize(Initialization(scheme: .fanInUniform), seed: 5, trialIndex: 1)
        let surface = LossSurface(network: network, dataset: syntheticData(features: 20).train, samples: Array(0..<100), loss: .softmaxCrossEntropy)
        let site = ProbeSite(surface: surface, endPoint: network.canonicalParameters(), seed: 5, trialIndex: 1, probeName: "slice", isCancelled: { false })
        let direction = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 0)
        #expect(direction.count == site.endPoint.count)
        var k = 0
        for layer in network.layers {
            for _ in 0..<layer.outputs {
                let norm = { (values: ArraySlice<Float>) in values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                let weights = norm(site.endPoint[k ..< k + layer.inputs]), moved = norm(direction[k ..< k + layer.inputs])
                #expect(abs(moved - weights) <= 1e-5 * weights)
                k += layer.inputs
            }
            #expect(direction[k ..< k + layer.outputs].allSatisfy { $0 == 0 })
            k += layer.outputs
        }
        // Another substream is another direction.
        #expect(FilterNormalizedSlice.filterNormalizedDirection(site, substream: 1) != direction)
    }

    @Test func theProfilePassesThroughTheEndPointAndIsTheSameOnEveryRun() throws {
        let data = syntheticData(features: 20)
        let first = try #require(try Trainer.run(Self.description(), data: data).probes)
        let slice = try #require(first.registered?["slice"])
        let profile = try #require(slice.series["profile"])
        #expect(profile.count == 21)
        // α = 0 is the end point: the same objective, bit for bit, as the probes' own.
        #expect(profile[10] == first.loss)
        // Each direction's grid contains α = 0, so its highest point is at least the end point's.
        #expect(try #require(slice.values["rise"]) >= 0 && (try #require(slice.values["half_rise"])).isFinite)
        let again = try #require(try Trainer.run(Self.description(), data: data).probes)
        #expect(again == first)
        // One direction is the first of the two: a different mean.
        let one = try #require(try Trainer.run(Self.description(directions: 1), data: data).probes?.registered?["slice"])
        #expect(one != slice && one.series["profile"]?[10] == profile[10])
    }

    @Test func impossibleSettingsAndUnknownProbesNameTheirField() {
        for (settings, field, problem) in [
            (["points": 2.0], "probes.slice.points", "must be a whole number ≥ 3.0 and < 10001.0, got 2.0"),
            (["points": 21.5], "probes.slice.points", "must be a whole number ≥ 3.0 and < 10001.0, got 21.5"),
            (["radius": 0.0], "probes.slice.radius", "must be > 0.0 and < 1000.0, got 0.0"),
            (["radius": .nan], "probes.slice.radius", "must be > 0.0 and < 1000.0, got nan"),
            (["directions": 1e300], "probes.slice.directions", "must be a whole number ≥ 1.0 and < 257.0, got 1e+300"),
            (["width": 3.0], "probes.slice.width", "slice takes no 'width'; it takes directions, points, radius"),
        ] {
            var description = Self.description()
            description.probes?.registered = ["slice": ProbeSettings(settings)]
            #expect(throws: TrialDescriptionError(field: field, problem: problem)) { try description.validate() }
        }
        var description = Self.description()
        description.probes?.registered = ["hessian-trace": ProbeSettings()]
        #expect { try description.validate() } throws: { ($0 as? TrialDescriptionError)?.field == "probes.hessian-trace" && "\($0)".contains("unknown probe 'hessian-trace'") }
    }

    @Test func requestsWithoutListedProbesKeepTheirBytes() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let old = ProbeRequest(samples: 400, hessian: HessianProbe(), paths: PathProbe())
        #expect(!String(decoding: try encoder.encode(old), as: UTF8.self).contains("registered"))
        let results = ProbeResults(samples: 1, loss: 0.5, gradientNorm: 0.1)
        #expect(String(decoding: try encoder.encode(results), as: UTF8.self) == #"{"gradientNorm":0.1,"loss":0.5,"samples":1}"#)
    }

    @Test func aProbesStreamsAreItsOwnAndDoNotDependOnWhatElseIsRegistered() {
        #expect(ProbeMethods.streamID("slice") == ProbeMethods.streamID("slice"))
        #expect(ProbeMethods.streamID("slice") != ProbeMethods.streamID("scaled"))
        #expect(ProbeMethods.streamID("slice") < 1 << 16)
        // A name that is taken is refused.
        #expect(ProbeMethods.register(FilterNormalizedSlice.self) == false)
    }
}

@Suite("Hostile probe requests")
struct HostileProbeRequestTests {
    @Test func aHugeProbeNameIsShortenedInTheErrorAndThousandsOfUnknownProbesStopAtTheFirst() {
        let huge = String(repeating: "x", count: 100_000)
        var request: [String: ProbeSettings] = [huge: ProbeSettings()]
        for k in 0..<5_000 { request["nope\(k)"] = ProbeSettings(["a": 1]) }
        do {
            try ProbeMethods.validate(request)
            Issue.record("accepted")
        } catch {
            #expect(error.field.hasPrefix("probes.nope0") || error.field.count < 200)
            #expect(error.description.count < 400, "\(error.description.count) characters")
        }
        do {
            try ProbeMethods.validate([huge: ProbeSettings()])
            Issue.record("accepted")
        } catch {
            #expect(error.field == "probes." + String(repeating: "x", count: 64) + "… (100000 characters)")
            #expect(error.description.count < 400)
        }
        do {
            try ProbeMethods.validate(["slice": ProbeSettings([huge: 1])])
            Issue.record("accepted")
        } catch {
            #expect(error.field.hasPrefix("probes.slice.xxxx") && error.description.count < 400)
        }
    }
}

@Suite("Filter-normalized planes (Li et al. 2018)")
struct PlaneProbeTests {
    /// A network without hidden layers and a squared loss is a quadratic in its parameters, so its
    /// plane is L₀ + α g·d₁ + β g·d₂ + ½(α² d₁ᵀHd₁ + 2αβ d₁ᵀHd₂ + β² d₂ᵀHd₂) exactly.
    @Test func thePlaneOfAQuadraticIsItsClosedForm() throws {
        let network = Network(inputs: 20, hidden: [], classes: 4, activation: .linear)
        network.initialize(Initialization(scheme: .fanInUniform), seed: 5, trialIndex: 1)
        let surface = LossSurface(network: network, dataset: syntheticData(features: 20).train, samples: Array(0..<200), loss: .meanSquaredError)
        let site = ProbeSite(surface: surface, endPoint: network.canonicalParameters(), seed: 5, trialIndex: 1, probeName: "slice2d", isCancelled: { false })
        let n = 7, radius = 0.6
        let measured = try FilterNormalizedPlane.measure(at: site, settings: ProbeSettings(["points": Double(n), "radius": radius]))
        let grid = try #require(measured.series["grid"])
        #expect(grid.count == n * n)

        site.setParameters(site.endPoint)
        let loss0 = surface.value().loss, gradient = surface.gradient()
        let d1 = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 0).map(Double.init)
        let d2 = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 1).map(Double.init)
        let h1 = surface.hessianVectorProduct(d1), h2 = surface.hessianVectorProduct(d2)
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var worst = 0.0
        for j in 0..<n {
            for i in 0..<n {
                let alpha = -radius + 2 * radius * Double(i) / Double(n - 1), beta = -radius + 2 * radius * Double(j) / Double(n - 1)
                let expected = loss0 + alpha * dot(gradient, d1) + beta * dot(gradient, d2)
                    + 0.5 * (alpha * alpha * dot(d1, h1) + 2 * alpha * beta * dot(d1, h2) + beta * beta * dot(d2, h2))
                worst = max(worst, abs(grid[j * n + i] - expected) / max(1, abs(expected)))
            }
        }
        #expect(worst < 1e-4, "largest relative difference \(worst)")
        // The centre is the end point; the rises are against it.
        #expect(abs(grid[(n / 2) * n + n / 2] - loss0) < 1e-6 && measured.values["rise"] == (grid.max()! - grid[(n / 2) * n + n / 2]))
    }

    @Test func itsGridIsTheSameOnEveryRunAndItsSettingsAreChecked() throws {
        var description = SliceProbeTests.description()
        description.probes = ProbeRequest(samples: 200, registered: ["slice2d": ProbeSettings(["points": 5, "radius": 0.5])])
        let data = syntheticData(features: 20)
        let first = try #require(try Trainer.run(description, data: data).probes?.registered?["slice2d"])
        let again = try Trainer.run(description, data: data).probes?.registered?["slice2d"]
        #expect(first.series["grid"]?.count == 25 && first == again)
        description.probes = ProbeRequest(samples: 200, registered: ["slice2d": ProbeSettings(["points": 2000, "radius": 0.5])])
        #expect(throws: TrialDescriptionError(field: "probes.slice2d.points", problem: "must be a whole number ≥ 3.0 and < 1002.0, got 2000.0")) { try description.validate() }
    }
}

@Suite("Planes evaluated through the first layer's linearity")
struct PlaneEvaluationTests {
    /// The fast grid (first-layer pre-activations combined, z₀ + α z₁ + β z₂) against evaluating
    /// every point directly, on two hidden layers with sigmoid (padding lanes must stay 0), one
    /// of them stored output-major, and weight decay, with a block boundary inside the samples.
    /// 20 → 40 → 12 → 4: the 40 → 12 layer is stored output-major with few inputs (transposed
    /// for the grid); 20 → 80 → 12 → 4: output-major with many (its dot products, as the
    /// forward pass); the 12 → 4 layers input-major.
    @Test(arguments: [[40, 12], [80, 12]])
    func theGridEqualsPointByPointEvaluationUpToRounding(hidden: [Int]) throws {
        let network = Network(inputs: 20, hidden: hidden, classes: 4, activation: .sigmoid)
        #expect(network.layers.map(\.layout) == [.inputMajor, .outputMajor, .inputMajor])
        network.initialize(Initialization(scheme: .fanInUniform), seed: 9, trialIndex: 2)
        let surface = LossSurface(network: network, dataset: syntheticData(features: 20).train, samples: Array(0..<300), loss: .softmaxCrossEntropy,
                                  weightDecay: 0.01, blockSize: 128)
        let site = ProbeSite(surface: surface, endPoint: network.canonicalParameters(), seed: 9, trialIndex: 2, probeName: "slice2d", isCancelled: { false })
        let d1 = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 0), d2 = FilterNormalizedSlice.filterNormalizedDirection(site, substream: 1)
        let axis: [Float] = [-0.8, -0.3, 0, 0.5, 1]
        let fast = try site.losses(overPlane: d1, d2, alphas: axis, betas: axis)
        var worst = 0.0
        for (j, beta) in axis.enumerated() {
            for (i, alpha) in axis.enumerated() {
                let direct = try site.loss(at: zip(zip(site.endPoint, d1), d2).map { $0.0 + alpha * $0.1 + beta * $1 })
                worst = max(worst, abs(fast[j * axis.count + i] - direct) / direct)
                if alpha == 0 && beta == 0 { #expect(abs(fast[j * axis.count + i] - direct) <= 1e-6 * direct) }
            }
        }
        #expect(worst < 1e-5, "largest relative difference \(worst)")
    }
}
