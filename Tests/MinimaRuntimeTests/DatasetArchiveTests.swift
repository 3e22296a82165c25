import Foundation
import MinimaData
@testable import MinimaRuntime
import Testing

/// A dataset archive comes from the coordinator: a worker must not write where its names point,
/// trust its sizes, or inflate without bound.
@Suite("Dataset archives from an untrusted coordinator")
struct DatasetArchiveTests {
    static let genuine = try! DatasetArchive.make(source: "mnist10")

    /// The archive with its manifest rewritten by `change` (the files' bytes untouched).
    static func tampered(_ change: (inout [[String: Any]]) -> Void, trailing: [UInt8] = []) throws -> [UInt8] {
        let bytes = genuine.bytes
        let start = DatasetArchive.magic.count
        let newline = try #require(bytes[start...].firstIndex(of: UInt8(ascii: "\n")))
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(bytes[start ..< newline])) as? [String: Any])
        var files = try #require(manifest["files"] as? [[String: Any]])
        change(&files)
        let json = try JSONSerialization.data(withJSONObject: ["files": files])
        return DatasetArchive.magic + Array(json) + [UInt8(ascii: "\n")] + Array(bytes[(newline + 1)...]) + trailing
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("minima-archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theGenuineArchiveUnpacksItsFourFiles() throws {
        let root = try Self.scratch()
        let directory = root.appendingPathComponent(Self.genuine.sha256).path
        try DatasetArchive.unpack(Self.genuine.bytes, expectedSHA256: Self.genuine.sha256, into: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == DatasetArchive.fileNames.sorted())
    }

    @Test func namesThatClimbOutOfTheCacheAreRefusedAndNothingIsWritten() throws {
        let root = try Self.scratch()
        let cache = root.appendingPathComponent("cache/\(Self.genuine.sha256)")
        let hostile = try Self.tampered { $0[0]["name"] = "../../escaped" }
        #expect(throws: DataError.self) { try DatasetArchive.unpack(hostile, expectedSHA256: Self.genuine.sha256, into: cache.path) }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("escaped").path))
        #expect(!FileManager.default.fileExists(atPath: cache.path))
    }

    @Test(arguments: [-1, Int.max, Int.max / 2, 1 << 62])
    func impossibleSizesAreErrorsNotCrashes(size: Int) throws {
        let hostile = try Self.tampered { $0[1]["bytes"] = size }
        #expect(throws: DataError.self) { try DatasetArchive.unpack(hostile, expectedSHA256: Self.genuine.sha256, into: try Self.scratch().path) }
    }

    @Test func bytesAfterTheLastFileAreRefused() throws {
        let hostile = try Self.tampered({ _ in }, trailing: [1, 2, 3])
        #expect(throws: DataError.self) { try DatasetArchive.unpack(hostile, expectedSHA256: Self.genuine.sha256, into: try Self.scratch().path) }
    }

    @Test(arguments: ["../../etc", "", String(repeating: "A", count: 64), String(repeating: "0", count: 63) + "/"])
    func aHashThatIsNotAHashIsNeverUsedAsADirectory(sha256: String) throws {
        let root = try Self.scratch()
        #expect(throws: DataError.self) { try DatasetArchive.unpack(Self.genuine.bytes, expectedSHA256: sha256, into: root.appendingPathComponent(sha256).path) }
        #expect(!DatasetArchive.isContentHash(sha256))
    }

    @Test func aGzipBombIsRefusedAtTheLimit() throws {
        // 1 MiB of zeros, gzip -9: about a kilobyte.
        let bomb = [UInt8](Data(base64Encoded: "H4sIAHECDGsC/+3BMQEAAADCoPVPbQhfoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPgMc6jinAAAQAA==")!)
        #expect(bomb.count < 2000)
        #expect(try Gzip.decompress(bomb, name: "bomb").count == 1 << 20)
        do {
            _ = try Gzip.decompress(bomb, name: "bomb", limit: 64 << 10)
            Issue.record("inflated past the limit")
        } catch {
            #expect(error.description.contains("inflates to more than 65536 bytes"))
        }
    }
}
