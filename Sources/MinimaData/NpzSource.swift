import MinimaCore

/// `npz:FILE`: the user's own data, a NumPy `.npz` archive (`numpy.savez` or
/// `numpy.savez_compressed`) holding `x_train`, `y_train`, `x_test` and `y_test`: features as
/// arrays of shape (n, …) — any width; uint8 ones scaled by mnist10's global rule
/// (``FeatureScaling``), float32 or float64 ones used as they are (as float32) — and targets:
/// integer class labels of shape (n,) (any number of classes up to 65,536), or float regression
/// targets of shape (n,) or (n, m) for `mse`. It becomes the same four IDX files as every other
/// source, so a coordinator serves it to workers by content hash and a run refuses a changed file
/// on resume (the spec stores the hash).
///
/// Everything in the file is checked before it is used: the zip structure (stored or deflated
/// entries, zip64 sizes; no entry may inflate past its declared size, and none past 2 GiB), each
/// `.npy` header (dtype, C order, shape), that the data fills the shape exactly, and the labels'
/// range. Each error names the file and the array.
struct NpzSource: DataSourceFormat {
    static let scheme = "npz"
    static let usage = "npz:FILE"
    /// The arrays read, in the order of ``IDXQuadruple``.
    static let arrays = ["x_train", "y_train", "x_test", "y_test"]
    let path: String
    /// The archive's names for the four arrays, in ``arrays``' order: `npz:FILE#x_train=X,y_train=y,…`
    /// renames any of them (the rest keep their names).
    let names: [String]

    init(argument: String?) throws(DataError) {
        guard let argument, !argument.isEmpty else { throw DataError(file: "npz", problem: "names no file; expected npz:FILE") }
        guard let hash = argument.lastIndex(of: "#") else { path = argument; names = Self.arrays; return }
        path = String(argument[..<hash])
        var names = Self.arrays
        for part in argument[argument.index(after: hash)...].split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, let slot = Self.arrays.firstIndex(of: String(pair[0])), !pair[1].isEmpty,
                  pair[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }), pair[1].count <= 100 else {
                throw DataError(file: "npz:\(argument.prefix(200))", problem: "'\(part.prefix(60))' is not ARRAY=NAME with ARRAY one of \(Self.arrays.joined(separator: ", ")) and NAME an array's name")
            }
            names[slot] = String(pair[1])
        }
        self.names = names
    }

    var description: String {
        let renamed = zip(Self.arrays, names).filter { $0 != $1 }.map { "\($0)=\($1)" }
        return "npz:\(path)" + (renamed.isEmpty ? "" : "#" + renamed.joined(separator: ","))
    }

    func files() throws(DataError) -> IDXQuadruple {
        let archive = try ZipArchive(bytes: readFile(path), name: path)
        var loaded: [IDXFile] = []
        for (role, name) in zip(Self.arrays, names) {
            let array = try NpyArray(archive.entry(name + ".npy"), name: "\(path): \(name)")
            loaded.append(try role.hasPrefix("x") ? array.features() : array.labels())
        }
        for (x, y, split) in [(0, 1, "train"), (2, 3, "test")] where loaded[x].count != loaded[y].count {
            throw DataError(file: path, problem: "x_\(split) has \(loaded[x].count) rows but y_\(split) has \(loaded[y].count)")
        }
        guard loaded[0].dimensions.dropFirst() == loaded[2].dimensions.dropFirst() else {
            throw DataError(file: path, problem: "x_train's rows have shape \(Array(loaded[0].dimensions.dropFirst())) but x_test's \(Array(loaded[2].dimensions.dropFirst()))")
        }
        guard (loaded[1].elementType == .float32) == (loaded[3].elementType == .float32), loaded[1].dimensions.dropFirst() == loaded[3].dimensions.dropFirst() else {
            func kind(_ file: IDXFile) -> String { file.elementType == .float32 ? "regression targets of shape \(file.dimensions)" : "class labels" }
            throw DataError(file: path, problem: "y_train holds \(kind(loaded[1])) but y_test \(kind(loaded[3])); both must be integer classes or both float targets of one width")
        }
        guard loaded[0].count > 0, loaded[2].count > 0 else { throw DataError(file: path, problem: "x_train and x_test must each have at least one row") }
        return IDXQuadruple(trainImages: loaded[0], trainLabels: loaded[1], testImages: loaded[2], testLabels: loaded[3])
    }
}

/// The entries of a zip archive, read from its central directory.
private struct ZipArchive {
    let bytes: [UInt8]
    let name: String
    /// Entry name → (offset of its local header, method, compressed size, uncompressed size).
    var entries: [String: (header: Int, method: Int, compressed: Int, size: Int)] = [:]

    init(bytes: [UInt8], name: String) throws(DataError) {
        self.bytes = bytes
        self.name = name
        // The end-of-central-directory record: within the last 65,557 bytes (a comment may follow it).
        var end = -1
        var at = bytes.count - 22
        while at >= max(0, bytes.count - 22 - 65_535) {
            if u32(at) == 0x0605_4b50 { end = at; break }
            at -= 1
        }
        guard end >= 0 else { throw DataError(file: name, problem: "not a zip archive (no end-of-central-directory record); expected an .npz from numpy.savez") }
        var count = Int(u16(end + 10)), offset = Int(u32(end + 16))
        if count == 0xFFFF || offset == 0xFFFF_FFFF {
            // zip64: the locator just before the record points to the zip64 end record.
            guard end >= 20, u32(end - 20) == 0x0706_4b50 else { throw DataError(file: name, byteOffset: end, problem: "zip64 archive without its locator") }
            let record = try checkedInt(u64(end - 12), at: end - 12)
            guard record + 56 <= bytes.count, u32(record) == 0x0606_4b50 else { throw DataError(file: name, byteOffset: record, problem: "zip64 end record missing") }
            count = try checkedInt(u64(record + 32), at: record + 32)
            offset = try checkedInt(u64(record + 48), at: record + 48)
        }
        guard count <= 10_000 else { throw DataError(file: name, byteOffset: end, problem: "\(count) entries; an .npz of a dataset has a handful") }
        var at2 = offset
        for _ in 0..<count {
            guard at2 + 46 <= bytes.count, u32(at2) == 0x0201_4b50 else {
                throw DataError(file: name, byteOffset: at2, problem: "corrupt zip central directory (truncated file?)")
            }
            let method = Int(u16(at2 + 10))
            var compressed = Int(u32(at2 + 20)), size = Int(u32(at2 + 24))
            let nameLength = Int(u16(at2 + 28)), extraLength = Int(u16(at2 + 30)), commentLength = Int(u16(at2 + 32))
            var header = Int(u32(at2 + 42))
            guard at2 + 46 + nameLength + extraLength <= bytes.count else { throw DataError(file: name, byteOffset: at2, problem: "corrupt zip central directory entry") }
            let entryName = String(decoding: bytes[at2 + 46 ..< at2 + 46 + nameLength], as: UTF8.self)
            // The zip64 extra field holds, in order, the sizes and offset that are 0xFFFFFFFF above.
            var extra = at2 + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), length = Int(u16(extra + 2))
                if id == 1 {
                    var field = extra + 4
                    func next() throws(DataError) -> Int {
                        guard field + 8 <= extra + 4 + length else { throw DataError(file: name, byteOffset: field, problem: "zip64 field of \(entryName) is short") }
                        defer { field += 8 }
                        return try checkedInt(u64(field), at: field)
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if header == 0xFFFF_FFFF { header = try next() }
                }
                extra += 4 + length
            }
            entries[entryName] = (header, method, compressed, size)
            at2 = extraEnd + commentLength
        }
    }

    /// The uncompressed contents of entry `entryName`.
    func entry(_ entryName: String) throws(DataError) -> [UInt8] {
        guard let entry = entries[entryName] else {
            throw DataError(file: name, problem: "has no array \(entryName.dropLast(4)) (it holds \(entries.keys.sorted().map { String($0.dropLast(4)) }.joined(separator: ", "))); expected x_train, y_train, x_test, y_test, or name yours: npz:FILE#x_train=NAME,y_train=NAME,…")
        }
        guard entry.size <= Gzip.maximumInflatedBytes else {
            throw DataError(file: name, problem: "\(entryName) declares \(entry.size) bytes; at most \(Gzip.maximumInflatedBytes) are read")
        }
        let header = entry.header
        guard header + 30 <= bytes.count, u32(header) == 0x0403_4b50 else { throw DataError(file: name, byteOffset: header, problem: "\(entryName): local header missing") }
        let start = header + 30 + Int(u16(header + 26)) + Int(u16(header + 28))
        guard entry.compressed >= 0, start + entry.compressed <= bytes.count else {
            throw DataError(file: name, byteOffset: bytes.count, problem: "\(entryName) is truncated: \(entry.compressed) bytes declared, the file ends first")
        }
        let stored = Array(bytes[start ..< start + entry.compressed])
        switch entry.method {
        case 0:
            guard entry.compressed == entry.size else { throw DataError(file: name, byteOffset: header, problem: "\(entryName): stored entry with two sizes") }
            return stored
        case 8:
            // One byte more than declared: an entry that inflates past its size is refused.
            let inflated = try Gzip.decompress(stored, name: "\(name): \(entryName)", limit: entry.size + 1, raw: true)
            guard inflated.count == entry.size else {
                throw DataError(file: name, problem: "\(entryName) inflates to \(inflated.count) bytes but declares \(entry.size)")
            }
            return inflated
        default:
            throw DataError(file: name, byteOffset: header, problem: "\(entryName) is compressed with zip method \(entry.method); numpy.savez (stored) and savez_compressed (deflate) are read")
        }
    }

    private func checkedInt(_ value: UInt64, at offset: Int) throws(DataError) -> Int {
        guard value <= UInt64(Int32.max) * 4 else { throw DataError(file: name, byteOffset: offset, problem: "zip64 value \(value) is beyond any dataset") }
        return Int(value)
    }
    private func u16(_ at: Int) -> UInt16 { at >= 0 && at + 2 <= bytes.count ? UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 : 0 }
    private func u32(_ at: Int) -> UInt32 { at >= 0 && at + 4 <= bytes.count ? UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 : 0 }
    private func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
}

/// One `.npy` array: its dtype, shape and data bytes (versions 1.0–3.0, C order).
private struct NpyArray {
    let name: String
    let descr: String
    let shape: [Int]
    let data: ArraySlice<UInt8>

    init(_ bytes: [UInt8], name: String) throws(DataError) {
        self.name = name
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else { throw DataError(file: name, problem: "not an .npy array (bad magic)") }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw DataError(file: name, byteOffset: 6, problem: ".npy version \(major) is not one of 1, 2, 3") }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw DataError(file: name, problem: "truncated .npy header") }
        var headerLength = 0
        for k in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + k]) }
        let start = 8 + lengthBytes
        guard headerLength <= 65_536, start + headerLength <= bytes.count else { throw DataError(file: name, byteOffset: 8, problem: "truncated or oversized .npy header (\(headerLength) bytes)") }
        let header = String(decoding: bytes[start ..< start + headerLength], as: UTF8.self)
        func value(of key: String) throws(DataError) -> Substring {
            let pattern = Array("'\(key)':")
            let characters = Array(header)
            guard let at = (0 ... max(0, characters.count - pattern.count)).first(where: { characters.count >= pattern.count && Array(characters[$0 ..< $0 + pattern.count]) == pattern }) else {
                throw DataError(file: name, problem: ".npy header has no '\(key)': \(header.trimmingWhitespace)")
            }
            return Substring(String(characters[(at + pattern.count)...])).drop(while: { $0 == " " })
        }
        let descrValue = try value(of: "descr")
        guard descrValue.first == "'", let close = descrValue.dropFirst().firstIndex(of: "'") else { throw DataError(file: name, problem: "unreadable dtype in .npy header: \(header.trimmingWhitespace)") }
        descr = String(descrValue[descrValue.index(after: descrValue.startIndex) ..< close])
        guard try value(of: "fortran_order").hasPrefix("False") else {
            throw DataError(file: name, problem: "is stored in Fortran order; save numpy.ascontiguousarray(…) instead")
        }
        let shapeValue = try value(of: "shape")
        guard shapeValue.first == "(", let end = shapeValue.firstIndex(of: ")") else { throw DataError(file: name, problem: "unreadable shape in .npy header: \(header.trimmingWhitespace)") }
        var shape: [Int] = []
        for part in shapeValue[shapeValue.index(after: shapeValue.startIndex) ..< end].split(separator: ",") {
            let text = part.trimmingWhitespace
            guard let dimension = Int(text), dimension >= 0, dimension <= Int(Int32.max) else { throw DataError(file: name, problem: "shape \(shapeValue[...end]) has a bad dimension '\(text)'") }
            shape.append(dimension)
        }
        self.shape = shape
        data = bytes[(start + headerLength)...]
        let (count, overflow) = shape.reduce((1, false)) { acc, d in let r = acc.0.multipliedReportingOverflow(by: d); return (r.partialValue, acc.1 || r.overflow) }
        guard let itemSize = Self.itemSize(descr) else {
            throw DataError(file: name, problem: "dtype '\(descr)' is not a plain number type; features must be uint8 or float, labels integers or floats")
        }
        let (needed, bytesOverflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, !bytesOverflow else { throw DataError(file: name, problem: "shape \(shape) is too large") }
        guard data.count == needed else {
            throw DataError(file: name, problem: "shape \(shape) of \(descr) needs \(needed) data bytes, the array has \(data.count)\(data.count < needed ? " (truncated)" : "")")
        }
    }

    /// Bytes per element of a plain dtype (`<f4`, `|u1`, `>i8`, …); nil for others (strings,
    /// records, objects).
    static func itemSize(_ descr: String) -> Int? {
        let characters = Array(descr)
        guard characters.count >= 3, "<>|=".contains(characters[0]), "biufc".contains(characters[1]),
              let size = Int(String(characters[2...])), [1, 2, 4, 8, 16].contains(size) else { return nil }
        return size
    }

    /// The integer dtypes labels may have: little-endian (or single-byte) signed and unsigned.
    static let labelTypes: Set<String> = ["|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "=u1", "=i1"]

    /// Features: uint8 (scaled by mnist10's global rule) or float32/float64 (used as they are,
    /// stored as float32), shape (n, d₁, …).
    func features() throws(DataError) -> IDXFile {
        guard shape.count >= 2, shape.dropFirst().allSatisfy({ $0 > 0 }) else { throw DataError(file: name, problem: "features must have shape (n, d, …) with d ≥ 1, got \(shape)") }
        if descr == "|u1" { return IDXFile(dimensions: shape, values: Array(data)) }
        guard let values = try floats() else {
            throw DataError(file: name, problem: "features must be uint8 ('|u1') or little-endian float32/float64 ('<f4', '<f8'), got '\(descr)'")
        }
        let width = shape.dropFirst().reduce(1, *)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw DataError(file: name, problem: "value \(values[bad]) in row \(bad / width), column \(bad % width); features must be finite numbers")
        }
        return IDXFile(dimensions: shape, floats: values)
    }

    /// The values of a little-endian float32 or float64 array as float32 (nil for other dtypes);
    /// a float64 beyond float32's range is an error.
    private func floats() throws(DataError) -> [Float]? {
        guard descr == "<f4" || descr == "<f8" else { return nil }
        let size = descr == "<f4" ? 4 : 8
        let count = data.count / size
        var values = [Float](repeating: 0, count: count)
        var at = data.startIndex
        for index in 0..<count {
            var raw: UInt64 = 0
            for k in (0..<size).reversed() { raw = raw << 8 | UInt64(data[at + k]) }
            at += size
            if size == 4 {
                values[index] = Float(bitPattern: UInt32(truncatingIfNeeded: raw))
            } else {
                let wide = Double(bitPattern: raw)
                guard !wide.isFinite || abs(wide) <= Double(Float.greatestFiniteMagnitude) else {
                    throw DataError(file: name, problem: "value \(wide) at element \(index) does not fit in float32")
                }
                values[index] = Float(wide)
            }
        }
        return values
    }

    /// Targets: integer class labels 0…65535 of shape (n,) (stored as bytes when all are below 256,
    /// as int32 otherwise), or float32/float64 regression targets of shape (n,) or (n, m).
    func labels() throws(DataError) -> IDXFile {
        if let values = try floats() {
            guard shape.count == 1 || shape.count == 2, shape.dropFirst().allSatisfy({ $0 > 0 }) else {
                throw DataError(file: name, problem: "regression targets must have shape (n,) or (n, m), got \(shape)")
            }
            let width = shape.dropFirst().reduce(1, *)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw DataError(file: name, problem: "target \(values[bad]) in row \(bad / width), column \(bad % width); targets must be finite numbers")
            }
            return IDXFile(dimensions: shape, floats: values)
        }
        guard shape.count == 1 else { throw DataError(file: name, problem: "class labels must have shape (n,), got \(shape)") }
        guard Self.labelTypes.contains(descr), let size = Self.itemSize(descr) else {
            throw DataError(file: name, problem: "labels must be little-endian integers (classes) or floats (regression targets), got '\(descr)'")
        }
        var values: [Int32] = []
        values.reserveCapacity(shape[0])
        var at = data.startIndex
        let limit = Int64(TrainingData.maximumClasses)
        for index in 0..<shape[0] {
            var raw: UInt64 = 0
            for k in (0..<size).reversed() { raw = raw << 8 | UInt64(data[at + k]) }
            at += size
            // Sign-extend the signed types.
            let signed = descr.contains("i")
            let value: Int64 = signed ? Int64(bitPattern: raw << (64 - 8 * UInt64(size))) >> (64 - 8 * Int64(size)) : Int64(bitPattern: raw)
            guard (0 ..< limit).contains(value) && (signed || raw < UInt64(limit)) else {
                throw DataError(file: name, problem: "label \(signed ? "\(value)" : "\(raw)") of row \(index) is not a class 0…\(limit - 1)")
            }
            values.append(Int32(value))
        }
        if values.allSatisfy({ $0 < 256 }) { return IDXFile(dimensions: shape, values: values.map { UInt8($0) }) }
        return IDXFile(dimensions: shape, integers: values)
    }
}

private extension StringProtocol {
    var trimmingWhitespace: String { String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
}
