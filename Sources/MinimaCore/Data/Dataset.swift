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
    public let classCount: Int
    let storage: Storage
    let labels: UnsafeMutableBufferPointer<UInt8>

    enum Storage {
        /// `rowStride` floats per sample.
        case floats(UnsafeMutableBufferPointer<Float>)
        /// `byteStride` bytes per sample, expanded as fma(q, scale, offset).
        case bytes(UnsafeMutableBufferPointer<UInt8>, byteStride: Int, scale: Float, offset: Float)
    }

    /// Makes a dataset of `count` samples stored as floats. `fill` writes each sample's
    /// `featureCount` features (the padding after them is already zero) and returns its label.
    public init(
        name: String, contentSHA256: String, count: Int, featureCount: Int, classCount: Int,
        fill: (_ sample: Int, _ features: UnsafeMutableBufferPointer<Float>) -> UInt8
    ) {
        precondition(count >= 0 && featureCount > 0 && classCount >= 2 && classCount <= 256)
        self.name = name
        self.contentSHA256 = contentSHA256
        self.count = count
        self.featureCount = featureCount
        self.rowStride = paddedWidth(featureCount)
        self.classCount = classCount
        let features = allocateAligned(Float.self, count: count * rowStride)
        storage = .floats(features)
        labels = allocateAligned(UInt8.self, count: max(count, 1))
        for sample in 0..<count {
            let row = UnsafeMutableBufferPointer(rebasing: features[sample * rowStride ..< sample * rowStride + featureCount])
            let label = fill(sample, row)
            precondition(Int(label) < classCount, "label \(label) of sample \(sample) is not below classCount \(classCount)")
            labels[sample] = label
        }
    }

    /// Makes a dataset of `count` samples of `featureCount` byte values each (row-major in
    /// `values`), whose features are fma(value, scale, offset).
    public init(
        name: String, contentSHA256: String, count: Int, featureCount: Int, classCount: Int,
        values: UnsafeBufferPointer<UInt8>, labels: UnsafeBufferPointer<UInt8>, scale: Float, offset: Float
    ) {
        precondition(values.count == count * featureCount && labels.count == count)
        precondition(featureCount > 0 && classCount >= 2 && classCount <= 256)
        self.name = name
        self.contentSHA256 = contentSHA256
        self.count = count
        self.featureCount = featureCount
        self.rowStride = paddedWidth(featureCount)
        self.classCount = classCount
        let byteStride = (featureCount + 63) & ~63
        let bytes = allocateAligned(UInt8.self, count: count * byteStride)
        for sample in 0..<count {
            for k in 0..<featureCount { bytes[sample * byteStride + k] = values[sample * featureCount + k] }
        }
        storage = .bytes(bytes, byteStride: byteStride, scale: scale, offset: offset)
        self.labels = allocateAligned(UInt8.self, count: max(count, 1))
        for sample in 0..<count {
            precondition(Int(labels[sample]) < classCount, "label \(labels[sample]) of sample \(sample) is not below classCount \(classCount)")
            self.labels[sample] = labels[sample]
        }
    }

    deinit {
        switch storage {
        case .floats(let features): features.deallocate()
        case .bytes(let bytes, _, _, _): bytes.deallocate()
        }
        labels.deallocate()
    }

    public func label(_ sample: Int) -> Int { Int(labels[sample]) }

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
        precondition(train.featureCount == test.featureCount && train.classCount == test.classCount,
                     "training and test sets must have the same shape")
        self.train = train
        self.test = test
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
