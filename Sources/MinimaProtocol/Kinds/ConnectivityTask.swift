import MinimaCore

// The connectivity kind on the wire: `{"kind": "connect", "trial": ConnectivityDescription}`
// answered by `{"kind": "connected", "result": ConnectivityResult}`.

extension ConnectivityDescription: TaskPayload {
    public typealias Outcome = ConnectivityResult
    public static var wireKind: String { "connect" }
    public static var bodyKey: String? { "trial" }
    public static var refusesUnknownFields: Bool { true }
    public var datasetSHA256: String? { ends.data.datasetSHA256 }
    public var invalidity: String? {
        do throws(TrialDescriptionError) { try validate(); return nil } catch { return "trial.\(error.field): \(error.problem)" }
    }

    /// A completed result measures the line and every asked shape.
    public func incompleteness(of result: ConnectivityResult) -> String? {
        guard result.status == .completed else { return nil }
        if result.line == nil || result.curves.map(\.shape) != shapes { return "a connectivity result without the line and the curves its description asks for" }
        return nil
    }
}

extension ConnectivityResult: OutcomePayload {
    public static var wireKind: String { "connected" }
    public static var bodyKey: String? { "result" }
    public var deterministicPart: ConnectivityResult { deterministicFingerprint }
}
