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

    /// A result the report can read as it stands: both ends (unless cancelled); when completed,
    /// the line and every asked shape with a profile of `points` values each, and the plane
    /// (when asked) with points² values and 2-coordinate marks.
    public func incompleteness(of result: ConnectivityResult) -> String? {
        guard result.status != .cancelled else { return nil }
        if result.ends.count != 2 { return "a connectivity result with \(result.ends.count) ends, not 2" }
        guard result.status == .completed else { return nil }
        guard let line = result.line, result.curves.map(\.shape) == shapes else {
            return "a connectivity result without the line and the curves its description asks for"
        }
        for profiles in [line] + result.curves.map(\.profiles) {
            let counts = [profiles.trainLoss, profiles.trainError, profiles.testLoss, profiles.testError].map(\.losses.count)
            if counts.contains(where: { $0 != points }) { return "a connectivity result with profiles of \(counts) values, not \(points)" }
        }
        if let asked = plane {
            guard let grid = result.plane, grid.points == asked.points, grid.values.count == asked.points * asked.points,
                  [grid.start, grid.end, grid.bend].allSatisfy({ $0.count == 2 }) else {
                return "a connectivity result without the \(asked.points) × \(asked.points) plane its description asks for"
            }
        }
        return nil
    }
}

extension ConnectivityResult: OutcomePayload {
    public static var wireKind: String { "connected" }
    public static var bodyKey: String? { "result" }
    public var deterministicPart: ConnectivityResult { deterministicFingerprint }
}
