/// A probe of a trial's end point, declared once: its name (the spec key under `probes`), its
/// settings, the numbers and profiles it measures, and how it measures them. Everything else —
/// reading `probes.<name>` in a spec, the description's wire form and validation, the plan's
/// cost estimate, the columns of `trials.csv`, the per-point summaries and the profile figure of
/// the report — reads the declaration. A probe is one file plus its line in
/// ``ProbeMethods/builtIn`` (or a ``ProbeMethods/register(_:)`` call); a figure beyond the
/// declared profiles is a second file in MinimaReport.
///
/// The Hessian and straight-line probes predate this list and keep their own typed fields
/// (``ProbeRequest/hessian``, ``ProbeRequest/paths``), so existing descriptions and ledgers keep
/// their bytes.
public protocol ProbeMethod: SendableMetatype {
    static var info: ProbeInfo { get }
    /// Measures the end point at `site` (every declared setting is in `settings`, validated).
    /// The site's parameters may be changed: the caller puts the end point back afterwards.
    static func measure(at site: ProbeSite, settings: ProbeSettings) throws(ProbeSite.Cancelled) -> ProbeMeasurement
}

/// What a probe is, takes and measures.
public struct ProbeInfo: Sendable {
    /// The spec key under `probes` and the prefix of its columns (`slice` → `slice_rise`).
    public var name: String
    /// One line for help texts and the report.
    public var summary: String
    public var settings: [NumericSetting]
    /// The numbers it measures per end point: each is a column and is summarized per sweep point.
    public var values: [ProbeOutput]
    /// The profiles it measures per end point (a value per point of a grid): each is drawn, median
    /// and quartiles per sweep point, in the report.
    public var series: [ProbeSeries]
    /// Loss evaluations (passes over the probed samples) one measurement costs, for the plan's
    /// estimate.
    public var evaluations: @Sendable (ProbeSettings) -> Double

    public init(name: String, summary: String, settings: [NumericSetting], values: [ProbeOutput], series: [ProbeSeries] = [],
                evaluations: @escaping @Sendable (ProbeSettings) -> Double) {
        self.name = name
        self.summary = summary
        self.settings = settings
        self.values = values
        self.series = series
        self.evaluations = evaluations
    }
}

public struct ProbeOutput: Sendable {
    public var name: String
    public var summary: String
    public init(_ name: String, summary: String) {
        self.name = name
        self.summary = summary
    }
}

public struct ProbeSeries: Sendable {
    public var name: String
    public var summary: String
    /// The grid's coordinates: the first and last point's x (evenly spaced between them).
    public var xRange: @Sendable (ProbeSettings) -> ClosedRange<Double>
    public var xLabel: String
    public var yLabel: String
    /// A square grid over two coordinates (both spanning ``xRange``), stored row by row, the
    /// second coordinate outer: drawn as contours per sweep point, not as a profile.
    public var isGrid: Bool

    public init(_ name: String, summary: String, xRange: @escaping @Sendable (ProbeSettings) -> ClosedRange<Double>, xLabel: String, yLabel: String,
                isGrid: Bool = false) {
        self.name = name
        self.summary = summary
        self.xRange = xRange
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.isGrid = isGrid
    }
}

/// A probe's settings by name, as a description carries them (every declared setting, defaults
/// filled in by whoever made the description, so the description says exactly what ran).
public struct ProbeSettings: Codable, Hashable, Sendable {
    public var values: [String: Double]
    public init(_ values: [String: Double] = [:]) { self.values = values }

    /// The value of a declared setting (its default when absent).
    public subscript(setting: NumericSetting) -> Double { values[setting.name] ?? setting.defaultValue }
    public subscript(name: String) -> Double? { values[name] }

    /// Every declared setting of `info`, from `given` or its default.
    public static func complete(_ given: [String: Double], for info: ProbeInfo) -> ProbeSettings {
        ProbeSettings(Dictionary(uniqueKeysWithValues: info.settings.map { ($0.name, given[$0.name] ?? $0.defaultValue) }))
    }

    public init(from decoder: any Decoder) throws { values = try decoder.singleValueContainer().decode([String: Double].self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

/// What one probe measured at one end point.
public struct ProbeMeasurement: Codable, Hashable, Sendable {
    /// By ``ProbeInfo/values`` name.
    public var values: [String: Double]
    /// By ``ProbeInfo/series`` name.
    public var series: [String: [Double]]
    public init(values: [String: Double], series: [String: [Double]] = [:]) {
        self.values = values
        self.series = series
    }
}

/// The probes, listed once.
public enum ProbeMethods {
    public static let builtIn: [any ProbeMethod.Type] = [
        FilterNormalizedSlice.self,
        FilterNormalizedPlane.self,
        HessianOutliers.self,
    ]
    private static let registered = RegistryLock<[any ProbeMethod.Type]>(builtIn)

    /// Adds a probe. Refused (false) when its name is taken or its random streams would collide
    /// with another probe's (see ``ProbeSite/stream(_:)``).
    @discardableResult
    public static func register(_ probe: any ProbeMethod.Type) -> Bool {
        registered.withLock { probes in
            guard !probes.contains(where: { $0.info.name == probe.info.name || streamID($0.info.name) == streamID(probe.info.name) }) else { return false }
            probes.append(probe)
            return true
        }
    }

    /// Every probe, built-in ones first.
    public static var all: [any ProbeMethod.Type] { registered.withLock { $0 } }
    public static func method(named name: String) -> (any ProbeMethod.Type)? { all.first { $0.info.name == name } }
    /// Every probe's declaration, in the list's order. (Read these rather than `info` through the
    /// existential metatype inside a typed-throws function: swiftc 6.3.1's SILGen crashes on that.)
    public static var infos: [ProbeInfo] { all.map { $0.info } }
    public static func info(named name: String) -> ProbeInfo? { infos.first { $0.name == name } }
    /// "slice": the names, for messages.
    public static var names: String { all.map { $0.info.name }.joined(separator: ", ") }

    /// A probe's 16-bit share of the random substreams, from its name (FNV-1a, folded): the same
    /// on every machine and build, so a probe's draws never depend on what else is registered.
    static func streamID(_ name: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return (hash >> 16) ^ (hash & 0xFFFF)
    }

    /// A name from a description as an error message shows it: at most 64 characters (a hostile
    /// description's megabyte of name is not echoed into logs).
    static func shortened(_ name: String) -> String {
        name.count <= 64 ? name : String(name.prefix(64)) + "… (\(name.count) characters)"
    }

    /// Checks `requested` (probe name → settings) and names the field of any problem.
    static func validate(_ requested: [String: ProbeSettings]) throws(TrialDescriptionError) {
        for (name, settings) in requested.sorted(by: { $0.key < $1.key }) {
            guard let info = info(named: name) else {
                let shown = shortened(name)
                throw TrialDescriptionError(field: "probes.\(shown)", problem: "unknown probe '\(shown)'; this build has \(names)")
            }
            let declared = info.settings
            for (key, value) in settings.values.sorted(by: { $0.key < $1.key }) {
                guard let setting = declared.first(where: { $0.name == key }) else {
                    let shown = shortened(key)
                    throw TrialDescriptionError(field: "probes.\(name).\(shown)", problem: "\(name) takes no '\(shown)'; it takes \(declared.map(\.name).joined(separator: ", "))")
                }
                if !setting.accepts(value) { throw TrialDescriptionError(field: "probes.\(name).\(key)", problem: "must be \(setting.range), got \(value)") }
            }
        }
    }
}

/// An end point as a probe sees it: its loss surface on the probed samples, its parameters in
/// canonical order (per layer W[out][in] row-major, then the biases), and random streams of its
/// own, keyed by the trial and the probe's name.
public struct ProbeSite {
    /// The probe was cancelled (between two evaluations).
    public struct Cancelled: Error {}

    /// The objective (mean loss + weight decay) on the probed samples, its gradient and
    /// Hessian-vector products, at the network's current parameters.
    public let surface: LossSurface
    /// The end point, canonical order.
    public let endPoint: [Float]
    let seed: UInt64
    let trialIndex: UInt64
    let probeName: String
    let isCancelled: () -> Bool

    public var layers: [LayerGeometry] { surface.network.layers }

    /// The objective at `parameters` (canonical order, as many as ``endPoint``).
    public func loss(at parameters: [Float]) throws(Cancelled) -> Double {
        if isCancelled() { throw Cancelled() }
        setParameters(parameters)
        return surface.value().loss
    }

    /// The objective at endPoint + α·first + β·second for every α of `alphas` and β of `betas`
    /// (β outer), the first layer's pre-activations computed once per direction
    /// (``LossSurface/valuesOverPlane(origin:first:second:alphas:betas:isCancelled:)``).
    public func losses(overPlane first: [Float], _ second: [Float], alphas: [Float], betas: [Float]) throws(Cancelled) -> [Double] {
        guard let values = surface.valuesOverPlane(origin: endPoint, first: first, second: second, alphas: alphas, betas: betas, isCancelled: isCancelled) else {
            throw Cancelled()
        }
        return values
    }

    /// Puts `parameters` (canonical order) into the network.
    public func setParameters(_ parameters: [Float]) {
        precondition(parameters.count == endPoint.count, "a probe's parameters must be shaped like the end point")
        let destination = surface.network.parameters
        for (k, offset) in surface.bufferOffsets.enumerated() { destination[offset] = parameters[k] }
    }

    /// Random stream `substream` (0..<256) of this probe at this trial.
    public func stream(_ substream: UInt32) -> RandomStream {
        precondition(substream < 256, "a probe has 256 random substreams")
        return RandomStream(seed: seed, trial: trialIndex, purpose: .endPointProbe, substream: ProbeMethods.streamID(probeName) << 8 | substream)
    }
}
