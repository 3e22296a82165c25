import MinimaCore

/// What a worker is asked to do for one trial.
public enum TaskDescription: Codable, Hashable, Sendable {
    /// Train a network (the real work).
    case train(TrialDescription)
    /// Descend a spherical spin glass.
    case spinGlass(SpinGlassDescription)
    /// Do nothing and report at once (dispatch benchmarks and tests).
    case noop
    /// Sleep, then report (tests of leases, time limits and stragglers).
    case sleep(milliseconds: Int)

    /// The SHA-256 of the dataset the task needs, if any.
    public var datasetSHA256: String? {
        if case .train(let trial) = self { return trial.data.datasetSHA256 }
        return nil
    }
}

/// What a task produced. For training, ``TrialResult`` includes timings; everything else is
/// deterministic.
public enum TaskOutcome: Codable, Hashable, Sendable {
    case trained(TrialResult)
    case spinGlass(SpinGlassResult)
    case noop
    case slept(milliseconds: Int)

    /// The outcome without its non-deterministic parts: two runs of one task must agree on this.
    public var deterministicPart: TaskOutcome {
        switch self {
        case .trained(let result): .trained(result.deterministicFingerprint)
        case .spinGlass(let result): .spinGlass(result.deterministicFingerprint)
        default: self
        }
    }
}

// The wire form is documented in docs/PROTOCOL.md: {"kind": "train", "trial": {…}},
// {"kind": "spin-glass", "trial": {…}}, {"kind": "noop"}, {"kind": "sleep", "milliseconds": 20};
// outcomes likewise with "trained"/"result", "spin-glass"/"result", "noop", "slept"/"milliseconds".
extension TaskDescription {
    private enum CodingKeys: String, CodingKey { case kind, trial, milliseconds }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "train": self = .train(try container.decode(TrialDescription.self, forKey: .trial))
        case "spin-glass": self = .spinGlass(try container.decode(SpinGlassDescription.self, forKey: .trial))
        case "noop": self = .noop
        case "sleep": self = .sleep(milliseconds: try container.decode(Int.self, forKey: .milliseconds))
        case let kind:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown task kind '\(kind)' (expected train, spin-glass, noop or sleep)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .train(let trial): try container.encode("train", forKey: .kind); try container.encode(trial, forKey: .trial)
        case .spinGlass(let trial): try container.encode("spin-glass", forKey: .kind); try container.encode(trial, forKey: .trial)
        case .noop: try container.encode("noop", forKey: .kind)
        case .sleep(let milliseconds): try container.encode("sleep", forKey: .kind); try container.encode(milliseconds, forKey: .milliseconds)
        }
    }
}

extension TaskOutcome {
    private enum CodingKeys: String, CodingKey { case kind, result, milliseconds }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "trained": self = .trained(try container.decode(TrialResult.self, forKey: .result))
        case "spin-glass": self = .spinGlass(try container.decode(SpinGlassResult.self, forKey: .result))
        case "noop": self = .noop
        case "slept": self = .slept(milliseconds: try container.decode(Int.self, forKey: .milliseconds))
        case let kind:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown outcome kind '\(kind)' (expected trained, spin-glass, noop or slept)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .trained(let result): try container.encode("trained", forKey: .kind); try container.encode(result, forKey: .result)
        case .spinGlass(let result): try container.encode("spin-glass", forKey: .kind); try container.encode(result, forKey: .result)
        case .noop: try container.encode("noop", forKey: .kind)
        case .slept(let milliseconds): try container.encode("slept", forKey: .kind); try container.encode(milliseconds, forKey: .milliseconds)
        }
    }
}
