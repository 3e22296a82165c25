/// A number an optimizer or a probe takes (Adam's β₁, a slice's radius): declared once, with its
/// default and its valid range; specs, descriptions and validation all read the declaration.
public struct NumericSetting: Sendable, Hashable {
    public var name: String
    public var defaultValue: Double
    /// The valid values: lower bound (inclusive unless `lowerExclusive`) and upper bound (exclusive).
    public var lowerBound: Double
    public var lowerExclusive: Bool
    public var upperBound: Double
    /// Whether only whole numbers are valid (a count of points or directions).
    public var isInteger: Bool
    public var summary: String

    public init(_ name: String, default defaultValue: Double, in lowerBound: Double, upTo upperBound: Double = .infinity,
                lowerExclusive: Bool = false, integer isInteger: Bool = false, summary: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.lowerBound = lowerBound
        self.lowerExclusive = lowerExclusive
        self.upperBound = upperBound
        self.isInteger = isInteger
        self.summary = summary
    }

    public func accepts(_ value: Double) -> Bool {
        value.isFinite && (lowerExclusive ? value > lowerBound : value >= lowerBound) && value < upperBound
            && (!isInteger || value == value.rounded())
    }

    /// The valid range in words, for error messages.
    public var range: String {
        let lower = lowerExclusive ? "> \(lowerBound)" : "≥ \(lowerBound)"
        let bounds = upperBound.isFinite ? "\(lower) and < \(upperBound)" : "\(lower), finite"
        return isInteger ? "a whole number \(bounds)" : bounds
    }
}
