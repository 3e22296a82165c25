import MinimaCore
import MinimaData
import MinimaProtocol

/// A task a worker can run: the execution half of a kind. A task type that conforms runs on
/// every Minima worker with no other registration (the worker asks each lease's payload for
/// this conformance); one that does not is reported as a failed attempt naming its kind.
public protocol RunnableTask: TaskPayload {
    /// Runs the task. Returns nil when `context.control` cancelled it (a time limit, or the
    /// worker stopping); throws ``TaskFailure`` when the task cannot run.
    func run(in context: TaskContext) throws(TaskFailure) -> Outcome?
    /// The outcome changed in its last bit: what a faulty worker would report (verification tests).
    static func perturbed(_ outcome: Outcome) -> Outcome
    /// The memory it holds at its peak beyond the worker's shared datasets, in bytes (see
    /// ``MemoryEstimate``): a worker starts it only when it fits in what its running trials leave
    /// of the memory budget. `shapeOf`: the shape of a dataset the worker has loaded (nil: not yet).
    func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int
}

extension RunnableTask {
    public static func perturbed(_ outcome: Outcome) -> Outcome { outcome }
    /// Small tasks: the fixed allowance.
    public func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int { Int(MemoryEstimate.baseBytes) }
}

/// What a running task may use: its cancellation, and the worker's datasets.
public struct TaskContext: Sendable {
    /// Polled by long tasks; true ends the task (it returns nil).
    public var control: TrialControl
    /// Loads (or fetches from the coordinator) the data a description selects.
    public var loadDataset: @Sendable (DataSelection) throws -> TrainingData

    public init(control: TrialControl, loadDataset: @escaping @Sendable (DataSelection) throws -> TrainingData) {
        self.control = control
        self.loadDataset = loadDataset
    }
}

/// Why a task could not run (an invalid description, a dataset that is not there): the failure
/// the worker reports for the attempt.
public struct TaskFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension RunnableTask {
    /// Runs and erases: the outcome, nil when cancelled.
    func runErased(in context: TaskContext, perturb: Bool) throws(TaskFailure) -> TaskOutcome? {
        guard let outcome = try run(in: context) else { return nil }
        return TaskOutcome(perturb ? Self.perturbed(outcome) : outcome)
    }
}
