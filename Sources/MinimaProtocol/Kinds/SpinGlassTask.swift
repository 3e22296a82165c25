import MinimaCore

// The spin-glass kind on the wire: `{"kind": "spin-glass", "trial": SpinGlassDescription}`
// answered by `{"kind": "spin-glass", "result": SpinGlassResult}`.

extension SpinGlassDescription: TaskPayload {
    public typealias Outcome = SpinGlassResult
    public static var wireKind: String { "spin-glass" }
    public static var bodyKey: String? { "trial" }
    public static var refusesUnknownFields: Bool { true }
    public var invalidity: String? {
        do throws(TrialDescriptionError) { try validate(); return nil } catch { return "trial.\(error.field): \(error.problem)" }
    }
}

extension SpinGlassResult: OutcomePayload {
    public static var wireKind: String { "spin-glass" }
    public static var bodyKey: String? { "result" }
    public var deterministicPart: SpinGlassResult { deterministicFingerprint }
}

extension TaskDescription {
    /// Descend a spherical spin glass.
    public static func spinGlass(_ description: SpinGlassDescription) -> TaskDescription { TaskDescription(description) }
}

extension TaskOutcome {
    public static func spinGlass(_ result: SpinGlassResult) -> TaskOutcome { TaskOutcome(result) }
}
