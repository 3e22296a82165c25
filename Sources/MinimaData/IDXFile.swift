import MinimaCore

/// The element types of IDX arrays that Minima reads: unsigned bytes (MNIST's pixels and labels),
/// big-endian 32-bit integers (labels of more than 256 classes) and big-endian float32 (features
/// of any value, regression targets).
public enum IDXElementType: UInt8, Sendable, Equatable {
    case unsignedByte = 0x08
    case int32 = 0x0C
    case float32 = 0x0D

    public var size: Int { self == .unsignedByte ? 1 : 4 }
    public var name: String {
        switch self { case .unsignedByte: "unsigned byte"; case .int32: "int32"; case .float32: "float32" }
    }
}

/// An IDX array (the format of the MNIST files): a magic number 0x0000_TT_NN where TT is the
/// element type and NN the number of dimensions, the dimensions as big-endian UInt32, then the
/// values (multi-byte ones big-endian).
public struct IDXFile: Sendable, Equatable {
    public var dimensions: [Int]
    public var elementType: IDXElementType
    /// The data bytes as stored (for unsigned bytes, the values themselves).
    public var values: [UInt8]
    /// SHA-256 of the uncompressed file bytes.
    public var sha256: String

    public var count: Int { dimensions.first ?? 0 }
    /// Values per item (the product of all dimensions but the first).
    public var itemSize: Int { dimensions.dropFirst().reduce(1, *) }

    public init(dimensions: [Int], values: [UInt8]) {
        self.init(dimensions: dimensions, elementType: .unsignedByte, data: values)
    }

    /// An array of big-endian float32 values.
    public init(dimensions: [Int], floats: [Float]) {
        self.init(dimensions: dimensions, elementType: .float32, data: Self.bigEndian(floats.map(\.bitPattern)))
    }

    /// An array of big-endian int32 values.
    public init(dimensions: [Int], integers: [Int32]) {
        self.init(dimensions: dimensions, elementType: .int32, data: Self.bigEndian(integers.map { UInt32(bitPattern: $0) }))
    }

    /// 4-byte words as big-endian bytes.
    private static func bigEndian(_ words: [UInt32]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: words.count * 4) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (i, word) in words.enumerated() { raw.storeBytes(of: word.bigEndian, toByteOffset: 4 * i, as: UInt32.self) }
            count = words.count * 4
        }
    }

    init(dimensions: [Int], elementType: IDXElementType, data: [UInt8]) {
        self.dimensions = dimensions
        self.elementType = elementType
        self.values = data
        sha256 = sha256Hex(Self.encode(dimensions: dimensions, elementType: elementType, values: data))
    }

    /// The big-endian 4-byte elements.
    private func words() -> [UInt32] {
        values.withUnsafeBytes { raw in (0 ..< raw.count / 4).map { UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
    }

    /// The values as floats (float32 arrays as stored, integer ones converted).
    public func floats() -> [Float] {
        switch elementType {
        case .unsignedByte: return values.map { Float($0) }
        case .int32: return integers().map { Float($0) }
        case .float32:
            return words().map { Float(bitPattern: $0) }
        }
    }

    /// The values as integers (float32 arrays: their bit patterns' values truncated — not meant for them).
    public func integers() -> [Int32] {
        switch elementType {
        case .unsignedByte: return values.map { Int32($0) }
        case .int32:
            return words().map { Int32(bitPattern: $0) }
        case .float32: return floats().map { $0.isFinite && abs($0) < 2e9 ? Int32($0) : -1 }
        }
    }

    /// The uncompressed bytes of an IDX file holding `values` (data bytes) with `dimensions`.
    public static func encode(dimensions: [Int], elementType: IDXElementType = .unsignedByte, values: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, elementType.rawValue, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
        return bytes + values
    }

    /// Reads an IDX file, gzip-compressed or not. With `expectedRank`, the number of dimensions
    /// must match (3 for images, 1 for labels).
    public static func read(contentsOf path: String, expectedRank: Int? = nil) throws(DataError) -> IDXFile {
        try parse(readFile(path), name: path, expectedRank: expectedRank)
    }

    /// Parses IDX bytes (decompressing them first when they are gzip). `name` appears in errors.
    public static func parse(_ raw: [UInt8], name: String, expectedRank: Int? = nil) throws(DataError) -> IDXFile {
        let bytes = Gzip.isCompressed(raw) ? try Gzip.decompress(raw, name: name) : raw
        guard bytes.count >= 4 else {
            throw DataError(file: name, byteOffset: bytes.count, problem: "file is truncated: \(bytes.count) bytes is too short for an IDX header (4 bytes)")
        }
        let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        let rank = Int(bytes[3])
        let elementType = IDXElementType(rawValue: bytes[2])
        if bytes[0] != 0 || bytes[1] != 0 || elementType == nil || rank == 0 {
            let expected = expectedRank.map { hex8(0x0000_0800 | UInt32($0)) } ?? "0x000008NN (unsigned bytes, NN dimensions)"
            var hint = ""
            if elementType == nil && bytes[0] == 0 && bytes[1] == 0 { hint = " (element type 0x\(String(bytes[2], radix: 16)) is not one Minima reads: 0x08 unsigned byte, 0x0c int32 or 0x0d float32)" }
            if Gzip.isCompressed(bytes) { hint = " (the file is gzip-compressed twice?)" }
            throw DataError(file: name, byteOffset: 0, problem: "expected magic \(expected), found \(hex8(magic))\(hint)")
        }
        if let expectedRank, rank != expectedRank {
            throw DataError(file: name, byteOffset: 3, problem: "expected magic \(hex8(UInt32(bytes[2]) << 8 | UInt32(expectedRank))) (\(expectedRank) dimensions), found \(hex8(magic)) (\(rank) dimensions)")
        }
        let elementSize = elementType!.size
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(file: name, byteOffset: bytes.count, problem: "file is truncated inside the header: \(rank) dimensions need \(headerSize) header bytes, the file has \(bytes.count)")
        }
        var dimensions: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dimensions.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let expectedCount = dimensions.reduce(elementSize) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let actual = bytes.count - headerSize
        if actual < expectedCount {
            throw DataError(file: name, byteOffset: bytes.count, problem: "file is truncated: dimensions \(dimensions.map(String.init).joined(separator: "×")) need \(expectedCount) data bytes after the \(headerSize)-byte header, found \(actual)")
        }
        if actual > expectedCount {
            throw DataError(file: name, byteOffset: headerSize + expectedCount, problem: "\(actual - expectedCount) unexpected bytes after the \(expectedCount) data bytes that dimensions \(dimensions.map(String.init).joined(separator: "×")) call for")
        }
        return IDXFile(dimensions: dimensions, elementType: elementType!, values: Array(bytes[headerSize...]), sha256: sha256Hex(bytes))
    }

    init(dimensions: [Int], elementType: IDXElementType, values: [UInt8], sha256: String) {
        self.dimensions = dimensions
        self.elementType = elementType
        self.values = values
        self.sha256 = sha256
    }
}

/// `value` as 0x followed by 8 hex digits.
func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

func sha256Hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { SHA256.hex(of: $0) } }
