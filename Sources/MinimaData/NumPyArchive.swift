import CZlib
import MinimaCore

/// Writes NumPy `.npz` archives: a zip file (stored, not deflated) of `.npy` version 1.0 arrays,
/// readable by `numpy.load` and by anything that reads zip and `.npy`.
public enum NumPyArchive {
    /// A named float32 array of the given shape (row-major, as NumPy's C order).
    public struct Array: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) does not hold \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The bytes of an `.npz` holding `arrays` (each stored as `NAME.npy`).
    public static func archive(_ arrays: [Array]) -> [UInt8] {
        var zip = ZipWriter()
        for array in arrays { zip.add(name: array.name + ".npy", contents: npy(array)) }
        return zip.finish()
    }

    /// Writes the archive to `path` through a temporary file and a rename, so a reader never sees
    /// half a file.
    public static func write(_ arrays: [Array], to path: String) throws(DataError) {
        try writeFileAtomically(archive(arrays), to: path)
    }

    /// An `.npy` 1.0 file: magic, version, header length, a Python dict literal padded with spaces
    /// to a multiple of 64 bytes, then the little-endian float32 data.
    static func npy(_ array: Array) -> [UInt8] {
        let shape = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Swift.Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        bytes += [UInt8(length & 0xff), UInt8(length >> 8)]
        bytes += header.utf8
        bytes.reserveCapacity(bytes.count + array.values.count * 4)
        for value in array.values {
            let bits = value.bitPattern.littleEndian
            bytes += [UInt8(bits & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits >> 16 & 0xff), UInt8(bits >> 24)]
        }
        return bytes
    }
}

/// A minimal zip writer: stored entries, no data descriptors, no zip64 (entries below 4 GiB).
struct ZipWriter {
    private var bytes: [UInt8] = []
    private var central: [UInt8] = []
    private var entries = 0

    private static func append16(_ value: Int, to bytes: inout [UInt8]) {
        bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff)]
    }

    private static func append32(_ value: Int, to bytes: inout [UInt8]) {
        bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24 & 0xff)]
    }

    mutating func add(name: String, contents: [UInt8]) {
        precondition(contents.count < 0xffff_ffff && bytes.count < 0xffff_ffff, "zip64 is not supported")
        let crc = contents.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
        let nameBytes = Array(name.utf8)
        let offset = bytes.count
        // The date field is 1980-01-01 00:00 so that equal arrays give equal files.
        func common(_ out: inout [UInt8]) {
            Self.append16(20, to: &out)          // version needed: 2.0
            Self.append16(0, to: &out)           // flags
            Self.append16(0, to: &out)           // method: stored
            Self.append16(0, to: &out)           // time
            Self.append16(0x21, to: &out)        // date
            Self.append32(crc, to: &out)
            Self.append32(contents.count, to: &out)
            Self.append32(contents.count, to: &out)
            Self.append16(nameBytes.count, to: &out)
            Self.append16(0, to: &out)           // extra length
        }
        Self.append32(0x0403_4b50, to: &bytes)
        common(&bytes)
        bytes += nameBytes
        bytes += contents
        Self.append32(0x0201_4b50, to: &central)
        Self.append16(20, to: &central)          // version made by
        common(&central)
        Self.append16(0, to: &central)           // comment length
        Self.append16(0, to: &central)           // disk
        Self.append16(0, to: &central)           // internal attributes
        Self.append32(0, to: &central)           // external attributes
        Self.append32(offset, to: &central)
        central += nameBytes
        entries += 1
    }

    mutating func finish() -> [UInt8] {
        let centralOffset = bytes.count
        var out = bytes + central
        Self.append32(0x0605_4b50, to: &out)
        Self.append16(0, to: &out)
        Self.append16(0, to: &out)
        Self.append16(entries, to: &out)
        Self.append16(entries, to: &out)
        Self.append32(central.count, to: &out)
        Self.append32(centralOffset, to: &out)
        Self.append16(0, to: &out)
        return out
    }
}

extension NumPyArchive {
    /// A trial's parameters as arrays named `initial/layer0/weight` (outputs × inputs, as
    /// PyTorch's `nn.Linear.weight`), `initial/layer0/bias`, …, then the same under `final/`.
    public static func arrays(of parameters: TrialParameters) -> [Array] {
        var arrays: [Array] = []
        for (stage, snapshot) in [("initial", parameters.initial), ("final", parameters.final)] {
            for (l, shape) in parameters.shapes.enumerated() {
                arrays.append(Array(name: "\(stage)/layer\(l)/weight", shape: [shape.outputs, shape.inputs], values: snapshot.weights[l]))
                arrays.append(Array(name: "\(stage)/layer\(l)/bias", shape: [shape.outputs], values: snapshot.biases[l]))
            }
        }
        return arrays
    }
}
