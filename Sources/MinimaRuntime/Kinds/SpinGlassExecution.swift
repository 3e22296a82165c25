import MinimaCore
import MinimaProtocol

// What a worker runs for the spin-glass kind: projected descent on the sphere.
extension SpinGlassDescription: RunnableTask {
    public func run(in context: TaskContext) throws(TaskFailure) -> SpinGlassResult? {
        let result: SpinGlassResult
        do { result = try SpinGlassRunner.run(self, control: context.control) } catch { throw TaskFailure("invalid spin-glass description: \(error)") }
        return result.status == .cancelled ? nil : result
    }

    public static func perturbed(_ result: SpinGlassResult) -> SpinGlassResult {
        var changed = result
        changed.energy = changed.energy.nextUp
        return changed
    }
    public func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int { estimatedMemoryBytes }
}
