import Foundation
import MinimaCore
import MinimaProtocol
import Yams

/// A kind of experiment — networks, spin glasses, and what extensions add. A kind owns, in this
/// layer, its spec section (reading and validating it), its sweep, its trials' tasks and their
/// cost; in the layers below and above it owns its wire form (MinimaProtocol `Kinds/`), what a
/// worker runs (MinimaRuntime `Kinds/`) and its columns, statistics and figures (MinimaReport
/// `Kinds/`). docs/EXTENDING.md walks through adding one.
///
/// The kinds are listed once, in ``ExperimentKinds``; a spec names its kind with `kind:`.
public protocol ExperimentKind: Sendable {
    /// The spec's `kind:` value.
    static var name: String { get }
    /// The tasks its trials are, on the wire (registered with MinimaProtocol's `TaskRegistry`
    /// when the kind is registered).
    static var taskTypes: [any TaskPayload.Type] { get }
    /// Its own section of the spec (nil: the built-in kinds, whose settings are fields of
    /// ``ExperimentSpec`` for compatibility with their stored specs).
    static var settingsType: (any KindSettings.Type)? { get }
    /// Reads and validates a spec of this kind (its whole top-level mapping), with errors naming
    /// the file, line, column and field.
    static func parse(_ root: Node, reader: inout SpecReader) throws(SpecError) -> ExperimentSpec
    /// The sweep in canonical order: trial indices must not depend on how the file is written.
    static func sweepPoints(of spec: ExperimentSpec) -> [SweepPoint]
    /// The names of the sweep dimensions that take more than one value.
    static func varyingDimensions(of spec: ExperimentSpec) -> Set<String>
    /// A short label of `point` for figures and tables, naming only what varies.
    static func label(of point: SweepPoint, varying: Set<String>) -> String
    /// The size of `point`'s subject (parameters, spins): the x axis of the spread figure.
    static func size(of point: SweepPoint, stored: StoredSpec) -> Int
    /// What a worker runs for trial `index`; its randomness comes from (seed, index).
    static func task(_ index: Int, point: SweepPoint, spec: ExperimentSpec, datasetSHA256: String?) -> TaskDescription
    /// Resolves the spec against what it needs (a dataset): the stored form and the datasets
    /// the coordinator may serve, by SHA-256.
    static func resolve(_ spec: ExperimentSpec) throws(ExperimentLoadError) -> (stored: StoredSpec, datasets: [String: String])
    /// The floating-point work of one trial of `point` (for `--dry-run` and the ETA).
    static func trialWork(_ point: SweepPoint, spec: ExperimentSpec, stored: StoredSpec) -> Double
    /// What one trial of `point` is, for `--dry-run` ("2785 parameters, 100 epochs, batch 100").
    static func describe(_ point: SweepPoint, stored: StoredSpec) -> String
    /// Training samples one trial of `point` passes over (for `--dry-run`; 0 when that means nothing).
    static func samplesSeen(_ point: SweepPoint, spec: ExperimentSpec) -> Double
}

extension ExperimentKind {
    public static var settingsType: (any KindSettings.Type)? { nil }
    public static func samplesSeen(_ point: SweepPoint, spec: ExperimentSpec) -> Double { 0 }
}

/// The experiment kinds, listed once. Extensions (a kind defined outside Minima's sources, such
/// as a test's) add theirs with ``register(_:)``, with their ``KindSettings`` and their task kinds.
public enum ExperimentKinds {
    /// The built-in kinds.
    static let builtIn: [any ExperimentKind.Type] = [NetworkKind.self, SpinGlassKind.self, ConnectivityKind.self, TeacherStudentKind.self]

    private static let registered = RegistryLock<[any ExperimentKind.Type]>(builtIn)

    /// Adds a kind with its settings and task kinds (registering a kind twice does nothing).
    public static func register(_ kind: any ExperimentKind.Type) {
        for type in kind.taskTypes { TaskRegistry.register(type) }
        if let settings = kind.settingsType { KindSection.register(settings) }
        registered.withLock { kinds in if !kinds.contains(where: { $0.name == kind.name }) { kinds.append(kind) } }
    }

    public static var all: [any ExperimentKind.Type] { registered.withLock { $0 } }
    public static var names: [String] { all.map { $0.name } }
    public static func named(_ name: String) -> (any ExperimentKind.Type)? { all.first { $0.name == name } }

    /// The kind of a spec. The two built-in kinds keep the stored form they had before kinds were
    /// types (so that every existing ledger keeps its spec hash): a spin glass is the spec with
    /// a `spinGlass` section, a network the spec with neither it nor a registered kind's section.
    public static func kind(of spec: ExperimentSpec) -> any ExperimentKind.Type {
        if let section = spec.section, let kind = named(section.kind) { return kind }
        return spec.spinGlass != nil ? SpinGlassKind.self : NetworkKind.self
    }
}

/// The settings of a kind added through ``ExperimentKinds/register(_:)``: its own section of the
/// spec, stored under `section` in the spec's canonical JSON as `{"kind": K, "settings": {…}}`.
public protocol KindSettings: Codable, Hashable, Sendable {
    /// The ``ExperimentKind/name`` these settings belong to.
    static var kind: String { get }
}

/// A registered kind's settings, type-erased (``ExperimentSpec/section``).
public struct KindSection: Codable, Hashable, Sendable {
    public let settings: any KindSettings
    public var kind: String { type(of: settings).kind }

    public init(_ settings: any KindSettings) { self.settings = settings }

    public func `as`<S: KindSettings>(_: S.Type) -> S? { settings as? S }

    public static func == (a: KindSection, b: KindSection) -> Bool { AnyHashable(a.settings) == AnyHashable(b.settings) }
    public func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(settings)) }

    private enum CodingKeys: String, CodingKey { case kind, settings }

    /// The settings types of registered kinds, by kind name.
    private static let types = RegistryLock<[String: any KindSettings.Type]>(
        Dictionary(uniqueKeysWithValues: ExperimentKinds.builtIn.compactMap { kind in kind.settingsType.map { (kind.name, $0) } }))

    /// Makes a registered kind's stored specs readable.
    public static func register(_ type: any KindSettings.Type) { types.withLock { $0[type.kind] = type } }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        guard let type = Self.types.withLock({ $0[kind] }) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "a spec of kind '\(kind)', which this build does not know")
        }
        settings = try Self.decode(type, from: container)
    }

    private static func decode<S: KindSettings>(_ type: S.Type, from container: KeyedDecodingContainer<CodingKeys>) throws -> any KindSettings {
        try container.decode(S.self, forKey: .settings)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(settings, forKey: .settings)
    }
}
