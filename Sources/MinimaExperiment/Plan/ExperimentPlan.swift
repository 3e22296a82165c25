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
    /// The datasets the trials use, by content SHA-256 → the source that makes them (`mnist10`,
    /// `idx:DIR`): what a coordinator can serve to workers that lack them.
    public var datasets: [String: String]
    /// Consecutive trials that form one sweep point (the restarts), for progress per point; nil
    /// when the trials have no such structure.
    public var trialsPerPoint: Int?

    public init(name: String, specJSON: String, trialCount: Int, datasets: [String: String] = [:], task: @escaping @Sendable (Int) -> TaskDescription) {
        self.name = name
        self.datasets = datasets
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
        var datasets: [String: String] = [:]
        for case let trial? in tasks.map({ $0.as(TrialDescription.self) }) { if let sha256 = trial.data.datasetSHA256 { datasets[sha256] = trial.data.dataset } }
        return ExperimentPlan(name: name, specJSON: canonicalJSON(tasks), trialCount: tasks.count, datasets: datasets) { tasks[$0] }
    }
}
