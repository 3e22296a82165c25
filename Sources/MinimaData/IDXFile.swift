import MinimaCore

/// An IDX array of unsigned bytes (the format of the MNIST files): a magic number 0x0000_08_NN
/// where NN is the number of dimensions, the dimensions as big-endian UInt32, then the values.
public struct IDXFile: Sendable, Equatable {
    public var dimensions: [Int]
    public var values: [UInt8]
    /// SHA-256 of the uncompressed file bytes.
    public var sha256: String

    public var count: Int { dimensions.first ?? 0 }
    /// Values per item (the product of all dimensions but the first).
    public var itemSize: Int { dimensions.dropFirst().reduce(1, *) }

    public init(dimensions: [Int], values: [UInt8]) {
        self.dimensions = dimensions
        self.values = values
        sha256 = sha256Hex(Self.encode(dimensions: dimensions, values: values))
    }

    /// The uncompressed bytes of an IDX file holding `values` with `dimensions`.
    public static func encode(dimensions: [Int], values: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
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
        if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || rank == 0 {
            let expected = expectedRank.map { hex8(0x0000_0800 | UInt32($0)) } ?? "0x000008NN (unsigned bytes, NN dimensions)"
            var hint = ""
            if bytes[2] != 0x08 && bytes[0] == 0 && bytes[1] == 0 { hint = " (element type 0x\(String(bytes[2], radix: 16)) is not unsigned byte; only 0x08 is supported)" }
            if Gzip.isCompressed(bytes) { hint = " (the file is gzip-compressed twice?)" }
            throw DataError(file: name, byteOffset: 0, problem: "expected magic \(expected), found \(hex8(magic))\(hint)")
        }
        if let expectedRank, rank != expectedRank {
            throw DataError(file: name, byteOffset: 3, problem: "expected magic \(hex8(0x0000_0800 | UInt32(expectedRank))) (\(expectedRank) dimensions), found \(hex8(magic)) (\(rank) dimensions)")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(file: name, byteOffset: bytes.count, problem: "file is truncated inside the header: \(rank) dimensions need \(headerSize) header bytes, the file has \(bytes.count)")
        }
        var dimensions: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dimensions.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let expectedCount = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let actual = bytes.count - headerSize
        if actual < expectedCount {
            throw DataError(file: name, byteOffset: bytes.count, problem: "file is truncated: dimensions \(dimensions.map(String.init).joined(separator: "×")) need \(expectedCount) data bytes after the \(headerSize)-byte header, found \(actual)")
        }
        if actual > expectedCount {
            throw DataError(file: name, byteOffset: headerSize + expectedCount, problem: "\(actual - expectedCount) unexpected bytes after the \(expectedCount) data bytes that dimensions \(dimensions.map(String.init).joined(separator: "×")) call for")
        }
        return IDXFile(dimensions: dimensions, values: Array(bytes[headerSize...]), sha256: sha256Hex(bytes))
    }

    init(dimensions: [Int], values: [UInt8], sha256: String) {
        self.dimensions = dimensions
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
