import MinimaCore

/// A kind of data source: how a dataset named `SCHEME` or `SCHEME:ARGUMENT` (in a spec's
/// `data.dataset`, a trial description, `minima train --dataset`) is read. Sources produce the four
/// IDX files of an MNIST-style dataset, which is also what a coordinator serves to workers that
/// lack the data. The formats are listed once, in ``DatasetSource/formats``; an extension adds its
/// own with ``DatasetSource/register(_:)``.
public protocol DataSourceFormat: Sendable {
    /// The name, or the part before the colon (`mnist10`, `idx`).
    static var scheme: String { get }
    /// How to write it, for messages (`idx:DIR`).
    static var usage: String { get }
    /// A source from the part after `scheme:` (nil: the scheme alone).
    init(argument: String?) throws(DataError)
    /// The name it is written as (parsing it gives the same source).
    var description: String { get }
    /// Loads the four IDX files (decompressed and validated).
    func files() throws(DataError) -> IDXQuadruple
}

/// Where a dataset comes from: `mnist10` (shipped inside the binary), `mnist10:DIR` (made from the
/// 28×28 MNIST IDX files in DIR — the same bytes as the shipped set), `idx:DIR` (any MNIST-style
/// IDX files in DIR at their own resolution), or a registered format.
public struct DatasetSource: Hashable, Sendable, CustomStringConvertible {
    public let format: any DataSourceFormat

    public init(_ format: any DataSourceFormat) { self.format = format }

    /// The built-in formats, listed once.
    static let builtIn: [any DataSourceFormat.Type] = [Mnist10Source.self, IDXSource.self, NpzSource.self, TeacherSource.self, GaussianSource.self]
    private static let registered = RegistryLock<[any DataSourceFormat.Type]>(builtIn)

    /// Adds a format (a scheme already registered is not replaced).
    public static func register(_ format: any DataSourceFormat.Type) {
        registered.withLock { formats in if !formats.contains(where: { $0.scheme == format.scheme }) { formats.append(format) } }
    }

    /// Every format, built-in ones first.
    public static var formats: [any DataSourceFormat.Type] { registered.withLock { $0 } }
    /// "mnist10, mnist10:DIR, idx:DIR or npz:FILE": what a dataset name may be, for messages.
    public static var expected: String {
        let usages = formats.map { $0.usage }
        return usages.count > 1 ? usages.dropLast().joined(separator: ", ") + " or " + usages.last! : usages.joined()
    }

    public init(parsing text: String) throws(DataError) {
        let colon = text.firstIndex(of: ":")
        let scheme = colon.map { String(text[..<$0]) } ?? text
        let argument = colon.map { String(text[text.index(after: $0)...]) }
        guard let format = Self.formats.first(where: { $0.scheme == scheme }) else {
            throw DataError(file: text, problem: "unknown dataset; expected \(Self.expected)")
        }
        self.format = try format.init(argument: argument)
    }

    public static let mnist10 = DatasetSource(Mnist10Source())
    public static func mnist10FromIDX(directory: String) -> DatasetSource { DatasetSource(Mnist10Source(directory: directory)) }
    public static func idx(directory: String) -> DatasetSource { DatasetSource(IDXSource(directory: directory)) }

    public var description: String { format.description }
    public static func == (a: DatasetSource, b: DatasetSource) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Loads the four IDX files (decompressed and validated).
    public func files() throws(DataError) -> IDXQuadruple { try format.files() }

    /// Loads the dataset and turns pixels into features (see ``FeatureScaling``).
    public func load() throws(DataError) -> TrainingData {
        try TrainingData(files: files(), name: description)
    }
}

/// `mnist10`: MNIST downsampled to 10×10, shipped inside the binary; `mnist10:DIR`: the same set
/// made from the 28×28 MNIST IDX files in DIR (the same bytes as the shipped one).
struct Mnist10Source: DataSourceFormat {
    static let scheme = "mnist10"
    static let usage = "mnist10, mnist10:DIR"
    /// nil: the embedded set.
    let directory: String?
    init(directory: String? = nil) { self.directory = directory }
    init(argument: String?) throws(DataError) { self.init(directory: argument) }
    var description: String { directory.map { "mnist10:\($0)" } ?? "mnist10" }
    func files() throws(DataError) -> IDXQuadruple {
        guard let directory else { return try Mnist10.embeddedFiles() }
        var files = try IDXQuadruple.read(directory: directory)
        files.trainImages = try Mnist10.downsample(files.trainImages, name: directory + "/train-images-idx3-ubyte")
        files.testImages = try Mnist10.downsample(files.testImages, name: directory + "/t10k-images-idx3-ubyte")
        return files
    }
}

/// `idx:DIR`: any MNIST-style IDX files in DIR at their own resolution.
struct IDXSource: DataSourceFormat {
    static let scheme = "idx"
    static let usage = "idx:DIR"
    let directory: String
    init(directory: String) { self.directory = directory }
    init(argument: String?) throws(DataError) {
        guard let argument else { throw DataError(file: "idx", problem: "names no directory; expected idx:DIR") }
        self.init(directory: argument)
    }
    var description: String { "idx:\(directory)" }
    func files() throws(DataError) -> IDXQuadruple { try IDXQuadruple.read(directory: directory) }
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
    /// The most classes a labelled dataset may have.
    public static let maximumClasses = 65_536

    /// Builds the training and test sets from IDX files, checking that features and targets agree.
    ///
    /// Features of unsigned bytes are scaled by mnist10's global rule (``FeatureScaling``); float32
    /// features are used as they are. Targets of rank 1 and integer type (unsigned byte or int32)
    /// are classes 0…C−1 with C = the largest label + 1 (at least 2); float32 targets of shape (n,)
    /// or (n, m) are regression targets (m values per sample, for `mse`).
    public init(files: IDXQuadruple, name: String) throws(DataError) {
        for (images, labels, split) in [(files.trainImages, files.trainLabels, "train"), (files.testImages, files.testLabels, "test")] {
            if images.count != labels.count {
                throw DataError(file: name, problem: "\(split) set has \(images.count) images but \(labels.count) labels")
            }
        }
        if files.trainImages.itemSize != files.testImages.itemSize {
            throw DataError(file: name, problem: "training images have \(files.trainImages.itemSize) pixels but test images \(files.testImages.itemSize)")
        }
        guard files.trainImages.elementType == files.testImages.elementType, files.trainImages.elementType != .int32 else {
            throw DataError(file: name, problem: "features must be unsigned bytes or float32 in both sets, found \(files.trainImages.elementType.name) (train) and \(files.testImages.elementType.name) (test)")
        }
        let targets = try Self.targets(files, name: name)
        let hash = files.contentSHA256
        let scaling = files.trainImages.elementType == .unsignedByte ? FeatureScaling(trainingPixels: files.trainImages.values) : nil
        func dataset(_ images: IDXFile, _ split: String, _ targets: Dataset.SampleTargets) throws(DataError) -> Dataset {
            if let scaling {
                return images.values.withUnsafeBufferPointer { values in
                    Dataset(name: "\(name) (\(split))", contentSHA256: hash, count: images.count, featureCount: images.itemSize,
                            values: values, targets: targets, scale: scaling.scale, offset: scaling.offset)
                }
            }
            let features = images.floats()
            if let bad = features.firstIndex(where: { !$0.isFinite }) {
                throw DataError(file: name, problem: "\(split) feature \(bad % images.itemSize) of item \(bad / images.itemSize) is \(features[bad]); features must be finite")
            }
            return Dataset(name: "\(name) (\(split))", contentSHA256: hash, count: images.count, featureCount: images.itemSize, features: features, targets: targets)
        }
        self.init(train: try dataset(files.trainImages, "train", targets.train), test: try dataset(files.testImages, "test", targets.test))
    }

    /// The two sets' targets: classes (integer labels) or values (float32), checked.
    private static func targets(_ files: IDXQuadruple, name: String) throws(DataError) -> (train: Dataset.SampleTargets, test: Dataset.SampleTargets) {
        let train = files.trainLabels, test = files.testLabels
        guard train.elementType == test.elementType, train.dimensions.dropFirst() == test.dimensions.dropFirst() else {
            throw DataError(file: name, problem: "training targets are \(train.elementType.name) of shape \(train.dimensions) but test targets \(test.elementType.name) of shape \(test.dimensions)")
        }
        if train.elementType == .float32 {
            guard train.dimensions.count <= 2, train.itemSize >= 1 else {
                throw DataError(file: name, problem: "regression targets must have shape (n,) or (n, m), found \(train.dimensions)")
            }
            var sets: [[Float]] = []
            for (file, split) in [(train, "train"), (test, "test")] {
                let values = file.floats()
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw DataError(file: name, problem: "\(split) target \(bad % file.itemSize) of item \(bad / file.itemSize) is \(values[bad]); targets must be finite")
                }
                sets.append(values)
            }
            return (.values(sets[0], width: train.itemSize), .values(sets[1], width: train.itemSize))
        }
        guard train.dimensions.count == 1 else {
            throw DataError(file: name, problem: "class labels must have shape (n,), found \(train.dimensions) (float32 targets are read as regression targets)")
        }
        let labels = (train: train.integers(), test: test.integers())
        for (values, split, file) in [(labels.train, "train", train), (labels.test, "test", test)] {
            if let bad = values.firstIndex(where: { $0 < 0 || Int($0) >= maximumClasses }) {
                throw DataError(file: name, byteOffset: 8 + bad * file.elementType.size, problem: "\(split) label \(values[bad]) of item \(bad) is not a class 0…\(maximumClasses - 1)")
            }
        }
        let classCount = max(2, Int(max(labels.train.max() ?? 0, labels.test.max() ?? 0)) + 1)
        return (.labels(labels.train, classCount: classCount), .labels(labels.test, classCount: classCount))
    }
}
