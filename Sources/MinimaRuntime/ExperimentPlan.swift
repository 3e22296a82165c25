import Foundation
import MinimaCore
import MinimaProtocol

/// The trials of an experiment, as the coordinator hands them out: a count and a function from
/// trial index to task, so that no list of trials (or results) needs to live in memory.
public struct ExperimentPlan: Sendable {
    public var name: String
    /// The canonical text of the spec the plan was made from (stored in the ledger).
    public var specJSON: String
    public var specSHA256: String
    public var trialCount: Int
    public var task: @Sendable (Int) -> TaskDescription

    public init(name: String, specJSON: String, trialCount: Int, task: @escaping @Sendable (Int) -> TaskDescription) {
        self.name = name
        self.specJSON = specJSON
        self.specSHA256 = SHA256.hex(of: Array(specJSON.utf8))
        self.trialCount = trialCount
        self.task = task
    }

    /// `count` no-op trials (dispatch benchmarks, tests).
    public static func noop(count: Int, name: String = "noop") -> ExperimentPlan {
        ExperimentPlan(name: name, specJSON: #"{"kind":"noop","trials":\#(count)}"#, trialCount: count) { _ in .noop }
    }

    /// `count` trials that each sleep `milliseconds`.
    public static func sleep(count: Int, milliseconds: Int, name: String = "sleep") -> ExperimentPlan {
        ExperimentPlan(name: name, specJSON: #"{"kind":"sleep","milliseconds":\#(milliseconds),"trials":\#(count)}"#, trialCount: count) { _ in
            .sleep(milliseconds: milliseconds)
        }
    }

    /// An explicit list of tasks (a JSON array of task descriptions).
    public static func list(_ tasks: [TaskDescription], name: String) -> ExperimentPlan {
        ExperimentPlan(name: name, specJSON: canonicalJSON(tasks), trialCount: tasks.count) { tasks[$0] }
    }

    var ledgerIdentity: Ledger.StoredExperiment {
        Ledger.StoredExperiment(name: name, specJSON: specJSON, specSHA256: specSHA256, trialCount: trialCount)
    }
}

/// The fingerprint of an outcome's deterministic part: equal for equal runs of a task.
public func outcomeFingerprint(_ outcome: TaskOutcome) -> String {
    SHA256.hex(of: Array(canonicalJSON(outcome.deterministicPart).utf8))
}

/// The stored JSON and the fingerprint of outcomes, computed once for the outcomes that carry no
/// data of their own (no-op and sleep trials arrive by the hundred thousand in benchmarks).
struct OutcomeEncodings {
    private var simple: [TaskOutcome: (json: String, fingerprint: String)] = [:]

    mutating func encode(_ outcome: TaskOutcome) -> (json: String, fingerprint: String) {
        if case .trained = outcome { return (canonicalJSON(outcome), outcomeFingerprint(outcome)) }
        if let cached = simple[outcome] { return cached }
        let value = (canonicalJSON(outcome), outcomeFingerprint(outcome))
        if simple.count < 1024 { simple[outcome] = value }
        return value
    }
}
