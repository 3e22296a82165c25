import CMnist10
import MinimaCore

/// mnist10: MNIST area-averaged to 10×10 in exact integer arithmetic, the canonical dataset of
/// Minima (Choromanska et al. 2015 trained on MNIST downsampled to 10×10). See docs/DATA.md.
public enum Mnist10 {
    /// A[i][j] = 5 · |[j, j+1) ∩ [2.8 i, 2.8 (i+1))|: how much of input column (or row) j falls in
    /// output cell i, in fifths of a pixel. Every row sums to 14.
    public static let areaMatrix: [[Int]] = (0..<10).map { i in
        (0..<28).map { j in max(0, min(5 * j + 5, 14 * i + 14) - max(5 * j, 14 * i)) }
    }

    /// Downsamples 28×28 images (an IDX array N×28×28) to N×10×10:
    /// S = A · image · Aᵀ (exact), stored as (S + 98) div 196 (round half up).
    public static func downsample(_ images: IDXFile, name: String = "images") throws(DataError) -> IDXFile {
        guard images.dimensions.count == 3, images.dimensions[1] == 28, images.dimensions[2] == 28 else {
            throw DataError(file: name, problem: "mnist10 needs 28×28 images, found dimensions \(images.dimensions.map(String.init).joined(separator: "×"))")
        }
        let count = images.count
        var output = [UInt8](repeating: 0, count: count * 100)
        // The nonzero span of each row of A (at most 4 input pixels per output cell).
        let spans: [(first: Int, weights: [Int])] = areaMatrix.map { row in
            let first = row.firstIndex(where: { $0 > 0 })!
            let last = row.lastIndex(where: { $0 > 0 })!
            return (first, Array(row[first...last]))
        }
        images.values.withUnsafeBufferPointer { pixels in
            var columnSums = [Int](repeating: 0, count: 28 * 10)  // image · Aᵀ: 28 rows × 10 cells
            for n in 0..<count {
                let image = pixels.baseAddress! + n * 784
                for r in 0..<28 {
                    for (cell, span) in spans.enumerated() {
                        var sum = 0
                        for (k, weight) in span.weights.enumerated() { sum += weight * Int(image[r * 28 + span.first + k]) }
                        columnSums[r * 10 + cell] = sum
                    }
                }
                for (i, span) in spans.enumerated() {
                    for cell in 0..<10 {
                        var s = 0
                        for (k, weight) in span.weights.enumerated() { s += weight * columnSums[(span.first + k) * 10 + cell] }
                        output[n * 100 + i * 10 + cell] = UInt8((s + 98) / 196)
                    }
                }
            }
        }
        return IDXFile(dimensions: [count, 10, 10], values: output)
    }

    /// SHA-256 of the four uncompressed IDX files of the shipped set, in the order train images,
    /// train labels, test images, test labels (as in Sources/CMnist10/include/mnist10/SHA256SUMS.uncompressed).
    public static let shippedFileSHA256 = [
        "8854619d40cb01a9aa97487e2d04796060f61754d3853a630699b1b30b1181f3",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "feec3ff69990632233777e91ceb858f6c5508295d4b6c04acebb9cf2d2223ca8",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ]

    /// The four IDX files embedded in this binary.
    public static func embeddedFiles() throws(DataError) -> IDXQuadruple {
        func embedded(_ accessor: (UnsafeMutablePointer<Int>) -> UnsafePointer<UInt8>?, _ name: String, rank: Int) throws(DataError) -> IDXFile {
            var length = 0
            let start = accessor(&length)
            let bytes = Array(UnsafeBufferPointer(start: start, count: length))
            return try IDXFile.parse(bytes, name: "embedded mnist10/\(name)", expectedRank: rank)
        }
        return IDXQuadruple(
            trainImages: try embedded({ mnist10_train_images_gz($0) }, "train-images-10x10-idx3-ubyte.gz", rank: 3),
            trainLabels: try embedded({ mnist10_train_labels_gz($0) }, "train-labels-idx1-ubyte.gz", rank: 1),
            testImages: try embedded({ mnist10_test_images_gz($0) }, "t10k-images-10x10-idx3-ubyte.gz", rank: 3),
            testLabels: try embedded({ mnist10_test_labels_gz($0) }, "t10k-labels-idx1-ubyte.gz", rank: 1))
    }
}

/// The four files of an MNIST-style dataset.
public struct IDXQuadruple: Sendable {
    public var trainImages: IDXFile
    public var trainLabels: IDXFile
    public var testImages: IDXFile
    public var testLabels: IDXFile

    public init(trainImages: IDXFile, trainLabels: IDXFile, testImages: IDXFile, testLabels: IDXFile) {
        self.trainImages = trainImages
        self.trainLabels = trainLabels
        self.testImages = testImages
        self.testLabels = testLabels
    }

    /// The dataset's identity: SHA-256 of the four files' SHA-256 hex digests, one per line, in
    /// the order train images, train labels, test images, test labels.
    public var contentSHA256: String {
        let lines = [trainImages.sha256, trainLabels.sha256, testImages.sha256, testLabels.sha256].joined(separator: "\n") + "\n"
        return SHA256.hex(of: Array(lines.utf8))
    }

    /// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    /// t10k-labels-idx1-ubyte from `directory`, each raw or with `.gz` (also the `.idx3-ubyte`
    /// spelling some mirrors use). With `imageStem` other image names can be read
    /// (`train-images-10x10-idx3-ubyte` for mnist10 files).
    public static func read(directory: String, imageSuffix: String = "") throws(DataError) -> IDXQuadruple {
        func locate(_ stem: String) throws(DataError) -> String {
            let dotted = stem.replacingFirst("-idx", with: ".idx")
            for candidate in [stem, stem + ".gz", dotted, dotted + ".gz"] where fileExists(directory + "/" + candidate) {
                return directory + "/" + candidate
            }
            throw DataError(file: directory, problem: "no \(stem) or \(stem).gz in this directory")
        }
        // Features of any rank ≥ 2 (MNIST's images are N×28×28, a table N×d); targets N (classes
        // or single values) or N×m (regression targets).
        func read(_ stem: String, ranks: ClosedRange<Int>) throws(DataError) -> IDXFile {
            let path = try locate(stem)
            let file = try IDXFile.read(contentsOf: path)
            guard ranks.contains(file.dimensions.count) else {
                throw DataError(file: path, byteOffset: 3, problem: "has \(file.dimensions.count) dimensions; expected \(ranks.lowerBound == ranks.upperBound ? "\(ranks.lowerBound)" : "\(ranks.lowerBound)…\(ranks.upperBound)")")
            }
            return file
        }
        return IDXQuadruple(
            trainImages: try read("train-images\(imageSuffix)-idx3-ubyte", ranks: 2...8),
            trainLabels: try read("train-labels-idx1-ubyte", ranks: 1...2),
            testImages: try read("t10k-images\(imageSuffix)-idx3-ubyte", ranks: 2...8),
            testLabels: try read("t10k-labels-idx1-ubyte", ranks: 1...2))
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}
