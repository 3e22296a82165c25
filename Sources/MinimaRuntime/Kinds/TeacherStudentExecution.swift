import MinimaCore
import MinimaProtocol

// What a worker runs for the teacher–student kind: descent on the population loss.
extension TeacherStudentDescription: RunnableTask {
    public func run(in context: TaskContext) throws(TaskFailure) -> TeacherStudentResult? {
        do { return try run(isCancelled: context.control.isCancelled) } catch { throw TaskFailure("invalid teacher-student description: \(error)") }
    }

    public static func perturbed(_ result: TeacherStudentResult) -> TeacherStudentResult {
        var changed = result
        changed.loss = changed.loss.nextUp
        return changed
    }

    /// The units, their gradient and velocity, and the dense Hessian when it is checked.
    public func estimatedMemoryBytes(shapeOf: (DataSelection) -> DatasetShape?) -> Int {
        let size = studentUnits * inputs
        let hessian = checkHessian && size <= Self.maximumHessianDimension ? 8 * size * size * 2 : 0
        return 8 << 20 + hessian + 64 * size
    }
}
