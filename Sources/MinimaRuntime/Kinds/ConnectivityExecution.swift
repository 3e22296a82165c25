import MinimaCore
import MinimaProtocol

// What a worker runs for the connectivity kind: both ends, the line and the curves, on the
// dataset the ends name.
extension ConnectivityDescription: RunnableTask {
    public func run(in context: TaskContext) throws(TaskFailure) -> ConnectivityResult? {
        let training: TrainingData
        do { training = try context.loadDataset(ends.data) } catch { throw TaskFailure("dataset \(ends.data.dataset): \(error)") }
        let result: ConnectivityResult
        do { result = try ConnectivityRunner.run(self, data: training, control: context.control) } catch { throw TaskFailure("invalid connectivity description: \(error)") }
        return result.status == .cancelled ? nil : result
    }

    public static func perturbed(_ result: ConnectivityResult) -> ConnectivityResult {
        var changed = result
        if !changed.ends.isEmpty { changed.ends[0].train.loss = changed.ends[0].train.loss.nextUp }
        return changed
    }
    public func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int { estimatedMemoryBytes(dataset: shapeOf(ends.data)) }
}
