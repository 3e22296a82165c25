import CMinimaKernels

/// An immutable in-memory labelled dataset.
///
/// Features are stored either as floats (any data) or, for image data, as one byte per value
/// that is expanded when a batch is loaded as x = fma(q, scale, offset) in float32 — 4× less memory
/// traffic for the random row reads of SGD, and the same bits on every instruction set. Rows are
/// padded (to 16 floats or 64 bytes) with zeros and 64-byte aligned. The memory is owned here and
/// freed in `deinit`; being immutable, one dataset is shared by all threads of a worker.
public final class Dataset: @unchecked Sendable {
    public let name: String
    /// SHA-256 of the dataset's canonical bytes (see `MinimaData`), the identity that trial
    /// descriptions refer to.
    public let contentSHA256: String
    public let count: Int
    public let featureCount: Int
    /// Floats per row in a batch (a multiple of 16).
    public let rowStride: Int
    /// What each sample is to be mapped to: a class, or a vector of target values.
    public let targets: TargetShape
    let storage: Storage
    /// Each sample's class (0 for every sample of a regression set).
    let labels: UnsafeMutableBufferPointer<Int32>
    /// Regression targets, `paddedWidth(width)` floats per sample (zero padded); nil for classes.
    let targetValues: UnsafeMutableBufferPointer<Float>?

    enum Storage {
        /// `rowStride` floats per sample.
        case floats(UnsafeMutableBufferPointer<Float>)
        /// `byteStride` bytes per sample, expanded as fma(q, scale, offset).
        case bytes(UnsafeMutableBufferPointer<UInt8>, byteStride: Int, scale: Float, offset: Float)
    }

    /// The outputs a network needs: one per class, or one per target value.
    public var outputCount: Int { targets.outputCount }
    /// Whether the samples have target vectors (regression) rather than classes.
    public var hasTargetValues: Bool { targetValues != nil }

    /// Makes a dataset of `count` samples stored as floats. `fill` writes each sample's
    /// `featureCount` features (the padding after them is already zero) and returns its label.
    public convenience init(
        name: String, contentSHA256: String, count: Int, featureCount: Int, classCount: Int,
        fill: (_ sample: Int, _ features: UnsafeMutableBufferPointer<Float>) -> UInt8
    ) {
        var features = [Float](repeating: 0, count: count * featureCount)
        var labels = [Int32](repeating: 0, count: count)
        features.withUnsafeMutableBufferPointer { all in
            for sample in 0..<count {
                labels[sample] = Int32(fill(sample, UnsafeMutableBufferPointer(rebasing: all[sample * featureCount ..< (sample + 1) * featureCount])))
            }
        }
        self.init(name: name, contentSHA256: contentSHA256, count: count, featureCount: featureCount, features: features, targets: .labels(labels, classCount: classCount))
    }

    /// The targets of a dataset's samples, row-major.
    public enum SampleTargets {
        case labels([Int32], classCount: Int)
        case values([Float], width: Int)
    }

    /// Makes a dataset of `count` samples of `featureCount` float features each (row-major in
    /// `features`), used as they are.
    public init(name: String, contentSHA256: String, count: Int, featureCount: Int, features: [Float], targets: SampleTargets) {
        precondition(count >= 0 && featureCount > 0 && features.count == count * featureCount)
        self.name = name
        self.contentSHA256 = contentSHA256
        self.count = count
        self.featureCount = featureCount
        self.rowStride = paddedWidth(featureCount)
        let stored = allocateAligned(Float.self, count: count * rowStride)
        for sample in 0..<count {
            for k in 0..<featureCount { stored[sample * rowStride + k] = features[sample * featureCount + k] }
        }
        storage = .floats(stored)
        (self.targets, self.labels, self.targetValues) = Self.store(targets, count: count)
    }

    /// Makes a dataset of `count` samples of `featureCount` byte values each (row-major in
    /// `values`), whose features are fma(value, scale, offset).
    public init(
        name: String, contentSHA256: String, count: Int, featureCount: Int,
        values: UnsafeBufferPointer<UInt8>, targets: SampleTargets, scale: Float, offset: Float
    ) {
        precondition(values.count == count * featureCount && featureCount > 0)
        self.name = name
        self.contentSHA256 = contentSHA256
        self.count = count
        self.featureCount = featureCount
        self.rowStride = paddedWidth(featureCount)
        let byteStride = (featureCount + 63) & ~63
        let bytes = allocateAligned(UInt8.self, count: count * byteStride)
        for sample in 0..<count {
            for k in 0..<featureCount { bytes[sample * byteStride + k] = values[sample * featureCount + k] }
        }
        storage = .bytes(bytes, byteStride: byteStride, scale: scale, offset: offset)
        (self.targets, self.labels, self.targetValues) = Self.store(targets, count: count)
    }

    private static func store(_ targets: SampleTargets, count: Int) -> (TargetShape, UnsafeMutableBufferPointer<Int32>, UnsafeMutableBufferPointer<Float>?) {
        let labels = allocateAligned(Int32.self, count: max(count, 1))
        switch targets {
        case .labels(let given, let classCount):
            precondition(given.count == count && classCount >= 2)
            for sample in 0..<count {
                precondition(given[sample] >= 0 && Int(given[sample]) < classCount, "label \(given[sample]) of sample \(sample) is not below classCount \(classCount)")
                labels[sample] = given[sample]
            }
            return (.classes(classCount), labels, nil)
        case .values(let given, let width):
            precondition(width >= 1 && given.count == count * width)
            let stride = paddedWidth(width)
            let stored = allocateAligned(Float.self, count: max(count * stride, 1))
            for sample in 0..<count {
                for k in 0..<width { stored[sample * stride + k] = given[sample * width + k] }
            }
            return (.values(width), labels, stored)
        }
    }

    deinit {
        switch storage {
        case .floats(let features): features.deallocate()
        case .bytes(let bytes, _, _, _): bytes.deallocate()
        }
        labels.deallocate()
        targetValues?.deallocate()
    }

    /// The class of `sample` (0 in a regression set).
    public func label(_ sample: Int) -> Int { Int(labels[sample]) }

    /// The target values of `sample` (a regression set), or its one-hot class vector.
    public func targetVector(_ sample: Int) -> [Float] {
        guard let targetValues else {
            var onehot = [Float](repeating: 0, count: outputCount)
            onehot[Int(labels[sample])] = 1
            return onehot
        }
        let stride = paddedWidth(outputCount)
        return Array(targetValues[sample * stride ..< sample * stride + outputCount])
    }

    /// The features of `sample` (without padding), as the network sees them.
    public func features(_ sample: Int) -> [Float] {
        var row = [Float](repeating: 0, count: rowStride)
        row.withUnsafeMutableBufferPointer { copyRow(sample, into: $0.baseAddress!) }
        return Array(row[0..<featureCount])
    }

    /// Writes the features of `sample` to `destination` (`featureCount` values; the padding after
    /// them is left as it is).
    @inline(__always)
    func copyRow(_ sample: Int, into destination: UnsafeMutablePointer<Float>) {
        switch storage {
        case .floats(let features):
            destination.update(from: features.baseAddress! + sample * rowStride, count: rowStride)
        case .bytes(let bytes, let byteStride, let scale, let offset):
            minima_expand_bytes(bytes.baseAddress! + sample * byteStride, destination, featureCount, scale, offset)
        }
    }

    /// The address and length in bytes of `sample`'s stored row (for prefetching).
    @inline(__always)
    func storedRow(_ sample: Int) -> (UnsafeRawPointer, Int) {
        switch storage {
        case .floats(let features): (UnsafeRawPointer(features.baseAddress! + sample * rowStride), rowStride * 4)
        case .bytes(let bytes, let byteStride, _, _): (UnsafeRawPointer(bytes.baseAddress! + sample * byteStride), featureCount)
        }
    }
}

/// The datasets a trial reads: the training set (from which subsets and validation splits are
/// drawn) and the test set.
public struct TrainingData: Sendable {
    public let train: Dataset
    public let test: Dataset
    public init(train: Dataset, test: Dataset) {
        precondition(train.featureCount == test.featureCount && train.targets == test.targets,
                     "training and test sets must have the same shape")
        self.train = train
        self.test = test
    }
}

/// What a dataset's samples are mapped to.
public enum TargetShape: Hashable, Sendable {
    /// One of `count` classes (a label per sample).
    case classes(Int)
    /// A vector of `width` real values per sample (regression).
    case values(Int)

    public var outputCount: Int {
        switch self { case .classes(let count): count; case .values(let width): width }
    }
}

/// The rounded-up width that vector loops use: a multiple of 16 floats (one 512-bit register).
@inlinable public func paddedWidth(_ width: Int) -> Int { (width + 15) & ~15 }

/// Zero-initialized memory aligned to 64 bytes (a cache line and an AVX-512 register).
func allocateAligned<T>(_ type: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1) * MemoryLayout<T>.stride)
    return UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: count), count: count)
}

/// The sample indices a trial uses, drawn deterministically from its description.
public struct SampleSplit: Sendable, Equatable {
    /// Training samples (indices into the training set), ascending.
    public var training: [Int32]
    /// Validation samples (indices into the training set), ascending.
    public var validation: [Int32]
    /// Test samples (indices into the test set), ascending.
    public var test: [Int32]

    public init(selection: DataSelection, seed: UInt64, trialIndex: UInt64, trainingCount: Int, testCount: Int) throws(TrialDescriptionError) {
        var chosen: [Int32]
        switch selection.trainingSubset {
        case .all:
            chosen = (0..<Int32(trainingCount)).map { $0 }
        case .first(let n):
            guard n <= trainingCount else {
                throw TrialDescriptionError(field: "data.trainingSubset", problem: "asks for the first \(n) samples but the training set has \(trainingCount)")
            }
            chosen = (0..<Int32(n)).map { $0 }
        case .sample(let n):
            guard n <= trainingCount else {
                throw TrialDescriptionError(field: "data.trainingSubset", problem: "asks for \(n) samples but the training set has \(trainingCount)")
            }
            var all = (0..<Int32(trainingCount)).map { $0 }
            var stream = RandomStream(seed: seed, trial: trialIndex, purpose: .trainingSubset)
            stream.shuffle(&all)
            chosen = Array(all[0..<n]).sorted()
        }
        guard selection.validationCount < chosen.count else {
            throw TrialDescriptionError(field: "data.validationCount", problem: "holds out \(selection.validationCount) of \(chosen.count) training samples, leaving none to train on")
        }
        var validation: [Int32] = []
        if selection.validationCount > 0 {
            var shuffled = chosen
            var stream = RandomStream(seed: seed, trial: trialIndex, purpose: .validationSplit)
            stream.shuffle(&shuffled)
            validation = Array(shuffled[0..<selection.validationCount]).sorted()
            let held = Set(validation)
            chosen.removeAll(where: held.contains)
        }
        let testCount = min(selection.testLimit ?? testCount, testCount)
        self.training = chosen
        self.validation = validation
        self.test = (0..<Int32(testCount)).map { $0 }
    }
}
