import Foundation
import MinimaCore
import MinimaProtocol
import Testing

let sampleTrial = TrialDescription(
    seed: 7, trialIndex: 3, data: DataSelection(dataset: "mnist10", datasetSHA256: "abc", trainingSubset: .sample(500), validationCount: 50),
    model: ModelSpec(hidden: [25, 10], activation: .tanh), initialization: Initialization(scheme: .orthogonal, scale: 1.2),
    optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.1, momentum: 0.9, nesterov: true), schedule: .inverse(k: 1),
    stopping: StoppingRule(maxEpochs: 3, earlyStoppingPatience: 2))

let sampleResult = TrialResult(
    status: .diverged, stopReason: .diverged, epochs: 2, train: Metrics(loss: 0.25, error: 0.0625, samples: 450),
    validation: Metrics(loss: .infinity, error: 1, samples: 50), test: Metrics(loss: 1e-300, error: 0, samples: 10000),
    gradientNorm: nil, keptEpoch: 1, parametersSHA256: String(repeating: "f", count: 64),
    timing: .init(trainingSeconds: 0.125, evaluationSeconds: 3e-6, samplesPerSecond: 1e6, instructionSet: "x86-64-v4"))

let sampleMessages: [Message] = [
    .trials(Trials(leases: [
        Lease(lease: 1 << 51, trial: 0, attempt: 1, task: .noop, timeLimitSeconds: nil),
        Lease(lease: 2, trial: 99, attempt: 3, task: .sleep(milliseconds: 25), timeLimitSeconds: 0.3),
        Lease(lease: 3, trial: 7, attempt: 1, task: .train(sampleTrial), timeLimitSeconds: 3600),
    ])),
    .trials(Trials(leases: [])),
    .results(Results(results: [
        TrialReport(trial: 0, lease: 1, outcome: .noop, seconds: 1.5e-6),
        TrialReport(trial: 1, lease: 2, outcome: .slept(milliseconds: 25), seconds: 0.025),
        TrialReport(trial: 2, lease: 3, outcome: nil, failure: "dataset \"x\": gone\nline two ✓ \u{1}", seconds: 0),
        TrialReport(trial: 3, lease: 4, outcome: .trained(sampleResult), seconds: 12),
    ], credit: 4)),
    .acknowledge(Acknowledge(leases: [1, 2, 1 << 51])),
    .acknowledge(Acknowledge(leases: [])),
]

@Suite("The hot-path codec agrees with Codable")
struct CodecTests {
    @Test(arguments: sampleMessages)
    func handWrittenEncodingDecodesWithCodable(message: Message) throws {
        let frames = MessageCodec.encode(message)
        #expect(try MessageCodec.codableDecode(type: String(decoding: frames[1], as: UTF8.self), body: frames[2]) == message)
    }

    @Test(arguments: sampleMessages)
    func codableEncodingDecodesWithTheHandWrittenDecoder(message: Message) throws {
        let frames = MessageCodec.encode(message)
        let codable = try #require(MessageCodec.codableBody(message))
        #expect(try MessageCodec.decode([frames[0], frames[1], codable]) == message)
        #expect(try MessageCodec.decode(frames) == message)
    }

    @Test(arguments: [
        (#"{"credit":1}"#, "results: missing field 'results'"),
        (#"{"credit":1,"results":[{"lease":1,"seconds":0}]}"#, "results[0]: missing field 'trial'"),
        (#"{"credit":"one","results":[]}"#, "results.credit: expected an integer"),
        (#"{"credit":1,"results":[{"trial":0,"lease":1,"seconds":0,"outcome":{"kind":"painted"}}]}"#, "results[0].outcome.kind: unknown outcome kind 'painted'"),
        (#"{"credit":1,"results":[{"trial":0,"lease":-4,"seconds":0}]}"#, "results[0].lease: expected a non-negative integer"),
        (#"{"credit":1,"results":[{"trial":0,"lease":1,"seconds":0,"outcome":{"kind":"trained","result":{"status":"completed"}}}]}"#, "results[0].outcome.result"),
        (#"{"credit":1,"results":[}"#, "invalid JSON at byte 23"),
        (#"[1,2]"#, "top level: expected an object"),
        (#"{"credit":1,"results":[]} trailing"#, "unexpected data after the JSON value"),
    ])
    func malformedResultsNameTheFieldOrTheByte(body: String, expected: String) {
        #expect { try MessageCodec.decode([protocolSignature, Array("results".utf8), Array(body.utf8)]) } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func aTrialDescriptionWithAFieldThisBuildDoesNotKnowIsRefused() throws {
        let description = TrialDescription(
            seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10"), model: ModelSpec(hidden: [3]),
            initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.1),
            stopping: StoppingRule(maxEpochs: 1), probes: ProbeRequest(hessian: HessianProbe()))
        let known = String(decoding: canonicalJSONBytes(description), as: UTF8.self)
        let body = { (trial: String) in #"{"leases":[{"lease":1,"trial":0,"attempt":1,"task":{"kind":"train","trial":"# + trial + "}}]}" }
        // Every field known: decodes (with the probes), as a real coordinator's message does.
        guard case .trials(let trials) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(body(known).utf8)]),
              let decoded = trials.leases[0].task.as(TrialDescription.self) else { Issue.record("not a train task"); return }
        #expect(decoded == description)
        // A field from a newer coordinator (or a typo) is named, never silently ignored: the
        // lease comes out unreadable, with the reason, for the worker to report as failed.
        let newer = known.replacingOccurrences(of: #""hessian":{"#, with: #""hessian":{"saddleFree":true,"#)
        guard case .trials(let refused) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(body(newer).utf8)]) else { Issue.record("not trials"); return }
        #expect(refused.leases.isEmpty && refused.unreadable.count == 1 && refused.unreadable[0].lease == 1)
        #expect(refused.unreadable.first?.problem.contains("leases[0].task.trial.probes.hessian.saddleFree: unknown field of a trial description") == true)
        let typo = known.replacingOccurrences(of: #""seed":1"#, with: #""seed":1,"sed":2"#)
        guard case .trials(let typoed) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(body(typo).utf8)]) else { Issue.record("not trials"); return }
        #expect(typoed.unreadable.first?.problem.contains("leases[0].task.trial.sed: unknown field") == true)
    }

    @Test func newtonDescriptionsWithWarmStartsAndCurvesCrossTheWireWhole() throws {
        let description = TrialDescription(
            seed: 1, trialIndex: 0, data: DataSelection(dataset: "mnist10"), model: ModelSpec(hidden: [3]),
            initialization: Initialization(scheme: .fanInNormal),
            optimizer: OptimizerSpec(kind: .saddleFreeNewton, batchSize: 10, learningRate: 1, weightDecay: 0.001, krylov: KrylovSettings(dimension: 7, damping: [0, 0.5])),
            stopping: StoppingRule(maxEpochs: 3, targetLoss: 0.1, relativeGradientTolerance: 1e-6),
            warmStart: WarmStart(epochs: 2, optimizer: OptimizerSpec(kind: .gd, batchSize: 10, learningRate: 0.1)),
            curve: CurveRequest(gradientNorm: true, index: HessianProbe(exactBelow: 100)))
        let known = String(decoding: canonicalJSONBytes(description), as: UTF8.self)
        let body = #"{"leases":[{"lease":1,"trial":0,"attempt":1,"task":{"kind":"train","trial":"# + known + "}}]}"
        guard case .trials(let trials) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(body.utf8)]),
              let decoded = trials.leases[0].task.as(TrialDescription.self) else { Issue.record("not a train task"); return }
        #expect(decoded == description)
        // An optimizer this build does not know is named, not run as SGD.
        let future = body.replacingOccurrences(of: #""kind":"saddle-free-newton""#, with: #""kind":"adagrad""#)
        guard case .trials(let refused) = try MessageCodec.decode([protocolSignature, Array("trials".utf8), Array(future.utf8)]) else { Issue.record("not trials"); return }
        #expect(refused.leases.isEmpty && refused.unreadable.first?.problem.contains("unknown optimizer 'adagrad'") == true)
    }

    @Test func otherMalformedFramesAreNamed() {
        #expect { try MessageCodec.decode([protocolSignature, Array("trials".utf8)]) } throws: { "\($0)".contains("expected at least 3 frames") }
        #expect { try MessageCodec.decode([protocolSignature, Array("ack".utf8), Array("{}".utf8), [1]]) } throws: { "\($0)".contains("'ack' takes 3 frames, got 4") }
        #expect { try MessageCodec.decode([protocolSignature, Array("fly".utf8), Array("{}".utf8)]) } throws: { "\($0)".contains("unknown message type 'fly'") }
        #expect { try MessageCodec.decode([Array("GET / HTTP/1.1".utf8)]) } throws: { "\($0)".contains("not a Minima message") }
        #expect { try MessageCodec.decode([protocolSignature, Array("hello".utf8), Array(#"{"versions":[1]}"#.utf8)]) } throws: { "\($0)".contains("missing field 'worker'") }
    }
}
