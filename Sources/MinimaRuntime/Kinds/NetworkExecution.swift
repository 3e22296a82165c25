import MinimaCore
import MinimaData
import MinimaProtocol

// What a worker runs for the network kind: the trainer, on the dataset the description names.
extension TrialDescription: RunnableTask {
    public func run(in context: TaskContext) throws(TaskFailure) -> TrialResult? {
        let training: TrainingData
        do { training = try context.loadDataset(data) } catch { throw TaskFailure("dataset \(data.dataset): \(error)") }
        let result: TrialResult
        do { result = try Trainer.run(self, data: training, control: context.control) } catch { throw TaskFailure("invalid trial description: \(error)") }
        return result.status == .cancelled ? nil : result
    }

    public static func perturbed(_ result: TrialResult) -> TrialResult {
        var changed = result
        changed.train.loss = changed.train.loss.nextUp
        return changed
    }
    public func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int { estimatedMemoryBytes(dataset: shapeOf(data)) }
}
