import MinimaCore

// The network kind on the wire: `{"kind": "train", "trial": TrialDescription}` answered by
// `{"kind": "trained", "result": TrialResult}`.

extension TrialDescription: TaskPayload {
    public typealias Outcome = TrialResult
    public static var wireKind: String { "train" }
    public static var bodyKey: String? { "trial" }
    public static var refusesUnknownFields: Bool { true }
    public var datasetSHA256: String? { data.datasetSHA256 }
    public var invalidity: String? {
        do throws(TrialDescriptionError) { try validate(); return nil } catch { return "trial.\(error.field): \(error.problem)" }
    }

    /// A worker built before a field decodes the description, ignores the field and trains: its
    /// result must not pass for complete.
    public func incompleteness(of result: TrialResult) -> String? {
        if probes != nil && result.probes == nil && result.status != .cancelled {
            return "a training result without the probes its description asks for (is the worker older than the coordinator?)"
        }
        if curve != nil && result.curve == nil && result.status != .cancelled {
            return "a training result without the learning curve its description asks for (is the worker older than the coordinator?)"
        }
        if stopping.relativeGradientTolerance != nil && result.startGradientNorm == nil && result.status == .completed {
            return "a training result without the starting gradient norm its relative tolerance needs (is the worker older than the coordinator?)"
        }
        return nil
    }
}

extension TrialResult: OutcomePayload {
    public static var wireKind: String { "trained" }
    public static var bodyKey: String? { "result" }
    public var deterministicPart: TrialResult { deterministicFingerprint }
}

extension TaskDescription {
    /// Train a network.
    public static func train(_ description: TrialDescription) -> TaskDescription { TaskDescription(description) }
}

extension TaskOutcome {
    public static func trained(_ result: TrialResult) -> TaskOutcome { TaskOutcome(result) }
}
