import Foundation
import MinimaCore
import MinimaData

/// A dataset as one byte string for transfer from coordinator to worker:
/// `MINIMA-DATASET1\n`, a JSON manifest line {"files":[{"name","bytes","sha256"}…]}, then the
/// uncompressed IDX files back to back. Its identity is the dataset's content SHA-256, which the
/// receiver recomputes from the files before using them.
public struct DatasetArchive: Sendable {
    public var sha256: String
    public var bytes: [UInt8]

    static let magic = Array("MINIMA-DATASET1\n".utf8)
    static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    struct Manifest: Codable { var files: [Entry]; struct Entry: Codable { var name: String; var bytes: Int; var sha256: String } }

    /// The archive of a dataset source (`mnist10`, `idx:DIR`, `mnist10:DIR`).
    public static func make(source: String) throws -> DatasetArchive {
        let files = try DatasetSource(parsing: source).files()
        let contents = [files.trainImages, files.trainLabels, files.testImages, files.testLabels].map { IDXFile.encode(dimensions: $0.dimensions, elementType: $0.elementType, values: $0.values) }
        let manifest = Manifest(files: zip(fileNames, zip(contents, [files.trainImages, files.trainLabels, files.testImages, files.testLabels])).map {
            Manifest.Entry(name: $0.0, bytes: $0.1.0.count, sha256: $0.1.1.sha256)
        })
        var bytes = magic + Array(try JSONEncoder().encode(manifest)) + [UInt8(ascii: "\n")]
        for content in contents { bytes += content }
        return DatasetArchive(sha256: files.contentSHA256, bytes: bytes)
    }

    /// Checks an archive against the SHA-256 it was requested by and writes its files into
    /// `directory` (created if needed). Throws, naming the problem, on any mismatch.
    ///
    /// Everything in it comes from a peer and is checked before use: the manifest must name
    /// exactly the four IDX files in order (a name is never used as a path of its own), sizes
    /// must fit the bytes received, and the directory's last component must be the 64-hex-digit
    /// hash the worker asked for.
    public static func unpack(_ bytes: [UInt8], expectedSHA256: String, into directory: String) throws {
        guard isContentHash(expectedSHA256) else {
            throw DataError(file: "dataset \(expectedSHA256.prefix(80))", problem: "not a SHA-256 (64 lowercase hex digits); refusing to use it as a cache directory")
        }
        guard bytes.starts(with: magic), let newline = bytes[magic.count...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw DataError(file: "dataset \(expectedSHA256)", problem: "the archive does not start with MINIMA-DATASET1")
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes[magic.count ..< newline]))
        guard manifest.files.map(\.name) == fileNames else {
            throw DataError(file: "dataset \(expectedSHA256)", problem: "the manifest names \(manifest.files.map(\.name).prefix(6)), not \(fileNames)")
        }
        var offset = newline + 1
        var files: [IDXFile] = []
        for entry in manifest.files {
            guard entry.bytes >= 0, entry.bytes <= bytes.count - offset else {
                throw DataError(file: entry.name, byteOffset: offset, problem: "the manifest says \(entry.bytes) bytes but \(bytes.count - offset) remain")
            }
            let content = Array(bytes[offset ..< offset + entry.bytes])
            guard !Gzip.isCompressed(content) else {
                throw DataError(file: entry.name, byteOffset: offset, problem: "an archive holds uncompressed IDX files; this one is gzip-compressed (refused unopened)")
            }
            let file = try IDXFile.parse(content, name: entry.name)
            guard file.sha256 == entry.sha256 else { throw DataError(file: entry.name, problem: "SHA-256 \(file.sha256) does not match the manifest's \(entry.sha256)") }
            files.append(file)
            offset += entry.bytes
        }
        guard offset == bytes.count else { throw DataError(file: "dataset \(expectedSHA256)", byteOffset: offset, problem: "\(bytes.count - offset) bytes follow the last file") }
        let quadruple = IDXQuadruple(trainImages: files[0], trainLabels: files[1], testImages: files[2], testLabels: files[3])
        guard quadruple.contentSHA256 == expectedSHA256 else {
            throw DataError(file: "dataset \(expectedSHA256)", problem: "the received files hash to \(quadruple.contentSHA256)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        offset = newline + 1
        for (name, entry) in zip(fileNames, manifest.files) {
            try Data(bytes[offset ..< offset + entry.bytes]).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name), options: .atomic)
            offset += entry.bytes
        }
    }

    /// Whether `text` is a content hash as Minima writes them: 64 lowercase hex digits (and so a
    /// safe single path component).
    public static func isContentHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The largest archive a worker accepts (full-resolution MNIST is 55 MB).
    public static let maximumBytes = 1 << 30
}
