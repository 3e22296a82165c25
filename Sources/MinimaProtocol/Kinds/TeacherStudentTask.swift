import MinimaCore

// The teacher–student kind on the wire: `{"kind": "teacher-student", "trial": TeacherStudentDescription}`
// answered by `{"kind": "teacher-student", "result": TeacherStudentResult}`.

extension TeacherStudentDescription: TaskPayload {
    public typealias Outcome = TeacherStudentResult
    public static var wireKind: String { "teacher-student" }
    public static var bodyKey: String? { "trial" }
    public static var refusesUnknownFields: Bool { true }
    public var invalidity: String? {
        do throws(TrialDescriptionError) { try validate(); return nil } catch { return "trial.\(error.field): \(error.problem)" }
    }
}

extension TeacherStudentResult: OutcomePayload {
    public static var wireKind: String { "teacher-student" }
    public static var bodyKey: String? { "result" }
    public var deterministicPart: TeacherStudentResult { deterministicFingerprint }
}
