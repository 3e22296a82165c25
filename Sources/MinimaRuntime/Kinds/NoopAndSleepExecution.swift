import Foundation
import MinimaProtocol

extension NoopTask: RunnableTask {
    public func run(in context: TaskContext) throws(TaskFailure) -> NoopTask? { NoopTask() }
}

extension SleepTask: RunnableTask {
    /// Sleeps in steps of at most 50 ms, so that a time limit or a stopping worker ends it soon.
    public func run(in context: TaskContext) throws(TaskFailure) -> SleptOutcome? {
        var remaining = Duration.milliseconds(max(0, milliseconds))
        while remaining > .zero {
            let step = min(remaining, .milliseconds(50))
            Thread.sleep(forTimeInterval: step.seconds)
            remaining -= step
            if context.control.isCancelled() { return nil }
        }
        return SleptOutcome(milliseconds: milliseconds)
    }
}
