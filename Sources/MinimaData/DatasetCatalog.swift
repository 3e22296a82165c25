import MinimaCore

/// Where a dataset comes from, as written on the command line and in trial descriptions:
/// `mnist10` (shipped inside the binary), `mnist10:DIR` (made from the 28×28 MNIST IDX files in
/// DIR — the same bytes as the shipped set), or `idx:DIR` (any MNIST-style IDX files in DIR at
/// their own resolution).
public enum DatasetSource: Hashable, Sendable, CustomStringConvertible {
    case mnist10
    case mnist10FromIDX(directory: String)
    case idx(directory: String)

    public init(parsing text: String) throws(DataError) {
        if text == "mnist10" { self = .mnist10; return }
        if text.hasPrefix("mnist10:") { self = .mnist10FromIDX(directory: String(text.dropFirst(8))); return }
        if text.hasPrefix("idx:") { self = .idx(directory: String(text.dropFirst(4))); return }
        throw DataError(file: text, problem: "unknown dataset; expected mnist10, mnist10:DIR or idx:DIR")
    }

    public var description: String {
        switch self {
        case .mnist10: "mnist10"
        case .mnist10FromIDX(let directory): "mnist10:\(directory)"
        case .idx(let directory): "idx:\(directory)"
        }
    }

    /// Loads the four IDX files (decompressed and validated).
    public func files() throws(DataError) -> IDXQuadruple {
        switch self {
        case .mnist10:
            return try Mnist10.embeddedFiles()
        case .mnist10FromIDX(let directory):
            var files = try IDXQuadruple.read(directory: directory)
            files.trainImages = try Mnist10.downsample(files.trainImages, name: directory + "/train-images-idx3-ubyte")
            files.testImages = try Mnist10.downsample(files.testImages, name: directory + "/t10k-images-idx3-ubyte")
            return files
        case .idx(let directory):
            return try IDXQuadruple.read(directory: directory)
        }
    }

    /// Loads the dataset and turns pixels into features (see ``FeatureScaling``).
    public func load() throws(DataError) -> TrainingData {
        try TrainingData(files: files(), name: description)
    }
}

/// Pixel q ∈ 0…255 becomes the feature x = (q/255 − μ)/σ, where μ and σ are the mean and
/// standard deviation of all training-set values q/255: two scalars, not one per pixel (per-pixel
/// scaling blows up the nearly constant corner pixels). μ and σ come from exact integer sums; the
/// network sees x = fma(q, scale, offset) in float32 with scale = Float(1/(255σ)) and
/// offset = Float(−μ/σ), which every implementation and instruction set computes the same.
public struct FeatureScaling: Sendable, Equatable {
    public let mean: Double
    public let standardDeviation: Double
    public let scale: Float
    public let offset: Float

    public init(trainingPixels: [UInt8]) {
        var sum: Int64 = 0, sumOfSquares: Int64 = 0
        for q in trainingPixels { sum += Int64(q); sumOfSquares += Int64(q) * Int64(q) }
        let n = Double(max(trainingPixels.count, 1))
        let meanPixel = Double(sum) / n
        let variancePixel = Double(sumOfSquares) / n - meanPixel * meanPixel
        mean = meanPixel / 255
        standardDeviation = max(variancePixel, 1e-12).squareRoot() / 255
        scale = Float(1 / (255 * standardDeviation))
        offset = Float(-mean / standardDeviation)
    }
}

extension TrainingData {
    /// Builds the training and test sets from IDX files, checking that images and labels agree.
    public init(files: IDXQuadruple, name: String) throws(DataError) {
        for (images, labels, split) in [(files.trainImages, files.trainLabels, "train"), (files.testImages, files.testLabels, "test")] {
            if images.count != labels.count {
                throw DataError(file: name, problem: "\(split) set has \(images.count) images but \(labels.count) labels")
            }
            if let bad = labels.values.firstIndex(where: { $0 > 9 }) {
                throw DataError(file: name, byteOffset: 8 + bad, problem: "\(split) label \(labels.values[bad]) of item \(bad) is not a digit 0…9")
            }
        }
        if files.trainImages.itemSize != files.testImages.itemSize {
            throw DataError(file: name, problem: "training images have \(files.trainImages.itemSize) pixels but test images \(files.testImages.itemSize)")
        }
        let scaling = FeatureScaling(trainingPixels: files.trainImages.values)
        let hash = files.contentSHA256
        func dataset(_ images: IDXFile, _ labels: IDXFile, _ split: String) -> Dataset {
            images.values.withUnsafeBufferPointer { values in
                labels.values.withUnsafeBufferPointer { labels in
                    Dataset(name: "\(name) (\(split))", contentSHA256: hash, count: images.count, featureCount: images.itemSize,
                            classCount: 10, values: values, labels: labels, scale: scaling.scale, offset: scaling.offset)
                }
            }
        }
        self.init(train: dataset(files.trainImages, files.trainLabels, "train"), test: dataset(files.testImages, files.testLabels, "test"))
    }
}
