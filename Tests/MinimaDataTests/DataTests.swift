import Foundation
import MinimaCore
import MinimaData
import Testing

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("minima-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// gzip through the system's gzip command (the project itself only ever decompresses).
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c", "-n"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let compressed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](compressed)
}

/// The MNIST copy that development machines and CI have beside the repository (not needed by Minima).
let sharedMNIST: String? = {
    var directory = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { directory.deleteLastPathComponent() }
    let candidate = directory.appendingPathComponent("shared/data/mnist").path
    return FileManager.default.fileExists(atPath: candidate + "/train-images-idx3-ubyte.gz") ? candidate : nil
}()

@Suite("IDX files")
struct IDXTests {
    let labels = IDXFile.encode(dimensions: [4], values: [1, 2, 3, 4])

    func write(_ bytes: [UInt8], _ name: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsRawAndGzipFilesAlike() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let raw = try IDXFile.read(contentsOf: write(labels, "labels", in: directory), expectedRank: 1)
        let compressed = try IDXFile.read(contentsOf: write(gzip(labels), "labels.gz", in: directory), expectedRank: 1)
        #expect(raw == compressed)
        #expect(raw.dimensions == [4] && raw.values == [1, 2, 3, 4])
    }

    @Test func wrongMagicNamesTheFileTheExpectedMagicAndTheOffset() throws {
        let images = IDXFile.encode(dimensions: [1, 2, 2], values: [0, 0, 0, 0])
        #expect { try IDXFile.parse(images, name: "train-labels-idx1-ubyte", expectedRank: 1) } throws: { error in
            "\(error)" == "train-labels-idx1-ubyte: expected magic 0x00000801 (1 dimensions), found 0x00000803 (3 dimensions) at byte 3"
        }
        #expect { try IDXFile.parse([0x50, 0x4b, 3, 4, 0, 0, 0, 0], name: "x.idx", expectedRank: 3) } throws: { error in
            "\(error)".hasPrefix("x.idx: expected magic 0x00000803, found 0x504b0304 at byte 0")
        }
        #expect { try IDXFile.parse([0, 0, 0x0b, 1, 0, 0, 0, 1, 0, 0], name: "shorts", expectedRank: 1) } throws: { error in
            "\(error)".contains("element type 0xb is not one Minima reads")
        }
        // float32 and int32 arrays are read, their sizes checked in elements of 4 bytes.
        let floats = try IDXFile.parse([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0], name: "floats", expectedRank: 1)
        #expect(floats.elementType == .float32 && floats.floats() == [1])
        #expect(try IDXFile.parse(IDXFile.encode(dimensions: [2], elementType: .int32, values: IDXFile(dimensions: [2], integers: [300, -1]).values), name: "ints").integers() == [300, -1])
        #expect { try IDXFile.parse([0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0], name: "short floats") } throws: { error in
            "\(error)".contains("need 8 data bytes")
        }
    }

    @Test func doubleCompressionIsRecognized() throws {
        let twice = try gzip(gzip(labels))
        #expect { try IDXFile.parse(twice, name: "labels.gz.gz") } throws: { error in
            "\(error)".contains("gzip-compressed twice")
        }
    }

    @Test func truncatedFilesSayHowMuchIsMissing() throws {
        #expect { try IDXFile.parse(Array(labels.dropLast(2)), name: "short") } throws: { error in
            "\(error)" == "short: file is truncated: dimensions 4 need 4 data bytes after the 8-byte header, found 2 at byte 10"
        }
        #expect { try IDXFile.parse([0, 0, 8, 3, 0, 0], name: "header") } throws: { error in
            "\(error)".hasPrefix("header: file is truncated inside the header")
        }
        #expect { try IDXFile.parse(labels + [9], name: "long") } throws: { error in
            "\(error)" == "long: 1 unexpected bytes after the 4 data bytes that dimensions 4 call for at byte 12"
        }
    }

    @Test func truncatedAndCorruptGzipIsReportedWithItsOffset() throws {
        let compressed = try gzip(IDXFile.encode(dimensions: [1000], values: (0..<1000).map { UInt8($0 % 251) }))
        #expect { try IDXFile.parse(Array(compressed.prefix(compressed.count / 2)), name: "cut.gz") } throws: { error in
            (error as? DataError)?.problem.contains("truncated") == true && (error as? DataError)?.byteOffset != nil
        }
        var corrupt = compressed
        for i in 12..<min(40, corrupt.count) { corrupt[i] ^= 0x5a }
        #expect { try IDXFile.parse(corrupt, name: "bad.gz") } throws: { error in
            "\(error)".hasPrefix("bad.gz: corrupt gzip data")
        }
    }

    @Test func missingFilesAndDirectoriesAreNamed() throws {
        #expect { try IDXFile.read(contentsOf: "/nonexistent/file") } throws: { error in
            "\(error)" == "/nonexistent/file: cannot open: No such file or directory"
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect { try IDXQuadruple.read(directory: directory.path) } throws: { error in
            "\(error)".hasSuffix("no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in this directory")
        }
    }

    @Test func imageAndLabelCountsMustAgree() throws {
        let files = IDXQuadruple(
            trainImages: IDXFile(dimensions: [3, 1, 2], values: [0, 1, 2, 3, 4, 5]),
            trainLabels: IDXFile(dimensions: [2], values: [0, 1]),
            testImages: IDXFile(dimensions: [1, 1, 2], values: [0, 1]),
            testLabels: IDXFile(dimensions: [1], values: [0]))
        #expect { try TrainingData(files: files, name: "tiny") } throws: { error in
            "\(error)" == "tiny: train set has 3 images but 2 labels"
        }
        var badLabel = files
        badLabel.trainLabels = IDXFile(dimensions: [3], integers: [0, -2, 1])
        badLabel.testLabels = IDXFile(dimensions: [1], integers: [0])
        #expect { try TrainingData(files: badLabel, name: "tiny") } throws: { error in
            "\(error)" == "tiny: train label -2 of item 1 is not a class 0…65535 at byte 12"
        }
        // Labels name the classes: the largest + 1 of them (at least 2), any number up to 65,536.
        var manyClasses = badLabel
        manyClasses.trainLabels = IDXFile(dimensions: [3], integers: [0, 299, 1])
        #expect(try TrainingData(files: manyClasses, name: "tiny").train.targets == .classes(300))
        // float32 targets are regression targets, one row of values per item; they must be finite.
        var regression = files
        regression.trainLabels = IDXFile(dimensions: [3, 2], floats: [0, 1, 2, 3, 4, 5])
        regression.testLabels = IDXFile(dimensions: [1, 2], floats: [0.5, -1])
        let data = try TrainingData(files: regression, name: "tiny")
        #expect(data.train.targets == .values(2) && data.train.targetVector(2) == [4, 5] && data.test.targetVector(0) == [0.5, -1])
        regression.testLabels = IDXFile(dimensions: [1, 2], floats: [.nan, 1])
        #expect { try TrainingData(files: regression, name: "tiny") } throws: { error in
            "\(error)" == "tiny: test target 0 of item 0 is nan; targets must be finite"
        }
        regression.testLabels = IDXFile(dimensions: [1], values: [0])
        #expect { try TrainingData(files: regression, name: "tiny") } throws: { error in
            "\(error)".hasPrefix("tiny: training targets are float32 of shape [3, 2] but test targets unsigned byte")
        }
        // float32 features are used as they are.
        var floatFeatures = files
        floatFeatures.trainImages = IDXFile(dimensions: [2, 1, 2], floats: [0.25, -3, 7, 1e-3])
        floatFeatures.testImages = IDXFile(dimensions: [1, 1, 2], floats: [1, 2])
        floatFeatures.trainLabels = IDXFile(dimensions: [2], values: [0, 1])
        #expect(try TrainingData(files: floatFeatures, name: "tiny").train.features(1) == [7, 1e-3])
    }
}

@Suite("mnist10")
struct Mnist10Tests {
    @Test func theAreaMatrixCoversEachOutputCellWithFourteenFifths() {
        #expect(Mnist10.areaMatrix.allSatisfy { $0.reduce(0, +) == 14 })
        #expect((0..<28).allSatisfy { j in Mnist10.areaMatrix.reduce(0) { $0 + $1[j] } == 5 })
        #expect(Mnist10.areaMatrix[0].prefix(4) == [5, 5, 4, 0])
        #expect(Mnist10.areaMatrix[1].prefix(6) == [0, 0, 1, 5, 5, 3])
    }

    @Test func downsamplingIsExactIntegerAreaAveraging() throws {
        // A white image stays white; one white pixel at (0, 0) contributes 25/196 → rounds to 0;
        // the 3×3 block (0…2, 0…2) covers 14×14 fifths of cell (0, 0) → (255·196 + 98) / 196 = 255.
        var image = [UInt8](repeating: 255, count: 784)
        var result = try Mnist10.downsample(IDXFile(dimensions: [1, 28, 28], values: image))
        #expect(result.values.allSatisfy { $0 == 255 })
        image = [UInt8](repeating: 0, count: 784)
        image[0] = 255
        result = try Mnist10.downsample(IDXFile(dimensions: [1, 28, 28], values: image))
        #expect(result.values[0] == UInt8((255 * 25 + 98) / 196))
        #expect(result.values.dropFirst().allSatisfy { $0 == 0 })
        #expect { try Mnist10.downsample(IDXFile(dimensions: [1, 10, 10], values: [UInt8](repeating: 0, count: 100)), name: "small") } throws: { error in
            "\(error)" == "small: mnist10 needs 28×28 images, found dimensions 1×10×10"
        }
    }

    @Test func theEmbeddedFilesAreTheShippedBytes() throws {
        let files = try Mnist10.embeddedFiles()
        #expect([files.trainImages.sha256, files.trainLabels.sha256, files.testImages.sha256, files.testLabels.sha256] == Mnist10.shippedFileSHA256)
        #expect(files.trainImages.dimensions == [60000, 10, 10] && files.testImages.dimensions == [10000, 10, 10])
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        let sums = try String(contentsOf: directory.appendingPathComponent("Sources/CMnist10/include/mnist10/SHA256SUMS.uncompressed"), encoding: .utf8)
        #expect(sums.split(separator: "\n").map { String($0.prefix(64)) } == Mnist10.shippedFileSHA256)
    }

    @Test func featuresHaveMeanZeroAndUnitVarianceOverTheTrainingSet() throws {
        let data = try DatasetSource.mnist10.load()
        var sum = 0.0, squares = 0.0
        for sample in 0..<data.train.count {
            for x in data.train.features(sample) { sum += Double(x); squares += Double(x) * Double(x) }
        }
        let n = Double(data.train.count * 100)
        #expect(abs(sum / n) < 1e-5)
        #expect(abs(squares / n - 1) < 1e-4)
        #expect(data.train.count == 60000 && data.test.count == 10000 && data.train.featureCount == 100)
        let counts = (0..<data.train.count).reduce(into: [Int](repeating: 0, count: 10)) { $0[data.train.label($1)] += 1 }
        #expect(counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    }

    @Test(.enabled(if: sharedMNIST != nil, "needs the MNIST copy at ../shared/data/mnist"))
    func regeneratingFromMNISTGivesTheShippedBytes() throws {
        let regenerated = try DatasetSource.mnist10FromIDX(directory: sharedMNIST!).files()
        let shipped = try Mnist10.embeddedFiles()
        #expect(regenerated.trainImages.sha256 == shipped.trainImages.sha256)
        #expect(regenerated.testImages.sha256 == shipped.testImages.sha256)
        #expect(regenerated.contentSHA256 == shipped.contentSHA256)
    }

    /// A format defined outside Minima loads through the same type (registering it globally
    /// would change the list of names other tests in this process expect in their messages).
    @Test func aFormatDefinedOutsideMinimaLoadsThroughDatasetSource() throws {
        let source = DatasetSource(try TinySource(argument: "3"))
        let again = DatasetSource(try TinySource(argument: "3"))
        #expect(source.description == "tiny:3" && source == again)
        let data = try source.load()
        #expect(data.train.count == 3 && data.test.count == 3 && data.train.featureCount == 4)
        #expect { try TinySource(argument: "x") } throws: { "\($0)".contains("tiny:N") }
        #expect { try DatasetSource(parsing: "idx") } throws: { "\($0)".contains("expected idx:DIR") }
    }

    @Test func datasetNamesParse() throws {
        #expect(try DatasetSource(parsing: "mnist10") == .mnist10)
        #expect(try DatasetSource(parsing: "idx:/data/mnist") == .idx(directory: "/data/mnist"))
        #expect(try DatasetSource(parsing: "mnist10:/d") == .mnist10FromIDX(directory: "/d"))
        #expect { try DatasetSource(parsing: "cifar") } throws: { error in
            "\(error)" == "cifar: unknown dataset; expected mnist10, mnist10:DIR, idx:DIR, npz:FILE, teacher:inputs=D,hidden=K[,…] or gaussian:inputs=D[,…]"
        }
    }
}

/// A data source defined only here: N two-by-two images of the digit (i mod 10).
struct TinySource: DataSourceFormat {
    static let scheme = "tiny"
    static let usage = "tiny:N"
    let count: Int
    init(argument: String?) throws(DataError) {
        guard let argument, let count = Int(argument), (1...1000).contains(count) else { throw DataError(file: "tiny:\(argument ?? "")", problem: "expected tiny:N with N in 1...1000") }
        self.count = count
    }
    var description: String { "tiny:\(count)" }
    func files() throws(DataError) -> IDXQuadruple {
        let images = IDXFile(dimensions: [count, 2, 2], values: (0..<count * 4).map { UInt8(truncatingIfNeeded: $0 * 37) })
        let labels = IDXFile(dimensions: [count], values: (0..<count).map { UInt8($0 % 10) })
        return IDXQuadruple(trainImages: images, trainLabels: labels, testImages: images, testLabels: labels)
    }
}
