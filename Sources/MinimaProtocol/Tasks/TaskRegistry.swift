import MinimaCore

/// The task kinds this process reads and writes: the built-in ones, and those an extension adds
/// with ``register(_:)`` (a kind defined outside Minima's sources, such as a test's). Decoding a
/// task or outcome looks its kind up here; a kind not registered is an error that names the
/// kinds that are.
public enum TaskRegistry {
    /// The built-in kinds, listed once: networks, spin glasses, and the two kinds of the
    /// dispatch benchmarks and the tests.
    static let builtIn: [any TaskPayload.Type] = [TrialDescription.self, SpinGlassDescription.self, ConnectivityDescription.self, TeacherStudentDescription.self, NoopTask.self, SleepTask.self]

    private struct Entries: Sendable {
        var tasks: [String: any TaskPayload.Type] = [:]
        var outcomes: [String: any OutcomePayload.Type] = [:]
        var order: [TaskKind] = []

        mutating func add(_ type: any TaskPayload.Type) {
            guard tasks[type.wireKind] == nil else { return }
            tasks[type.wireKind] = type
            outcomes[outcomeType(of: type).wireKind] = outcomeType(of: type)
            order.append(type.kind)
        }

        private func outcomeType<T: TaskPayload>(of type: T.Type) -> any OutcomePayload.Type { T.Outcome.self }
    }

    private static let entries = RegistryLock({ var entries = Entries(); for type in builtIn { entries.add(type) }; return entries }())

    /// Adds a task kind (and its outcome kind). Registering a kind twice does nothing.
    public static func register(_ type: any TaskPayload.Type) { entries.withLock { $0.add(type) } }

    /// The kinds built into this build.
    public static var builtInKinds: [TaskKind] { builtIn.map { $0.kind } }

    /// Every registered task kind, built-in ones first: what a worker runs unless told otherwise.
    public static var kinds: [TaskKind] { entries.withLock { $0.order } }

    static func taskType(_ kind: String) -> (any TaskPayload.Type)? { entries.withLock { $0.tasks[kind] } }
    static func outcomeType(_ kind: String) -> (any OutcomePayload.Type)? { entries.withLock { $0.outcomes[kind] } }
    static var taskNames: String { entries.withLock { $0.order.map(\.rawValue).joined(separator: ", ") } }
    static var outcomeNames: String { entries.withLock { $0.outcomes.keys.sorted().joined(separator: ", ") } }
}
