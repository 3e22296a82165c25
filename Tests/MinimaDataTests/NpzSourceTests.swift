import Foundation
import MinimaCore
import MinimaData
import Testing

/// `npz:FILE` — the user's own data, written by numpy itself (the files a user has).
@Suite("npz data source")
struct NpzSourceTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("minima-npz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Runs a Python snippet with numpy (`D` is the test's directory) and returns its output.
    @discardableResult
    func python(_ code: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy as np, zipfile, struct\nD = '\(directory)'\n" + code]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else { throw NpzTestError(output: output) }
        return output
    }
    struct NpzTestError: Error { var output: String }

    /// A small dataset: 4×5 uint8 images, int64 labels (numpy's default integer).
    static let make = """
        rng = np.random.default_rng(3)
        arrays = dict(x_train=rng.integers(0, 256, (120, 4, 5), dtype=np.uint8), y_train=rng.integers(0, 10, 120),
                      x_test=rng.integers(0, 256, (30, 4, 5), dtype=np.uint8), y_test=rng.integers(0, 10, 30).astype(np.uint8))
        """

    func problem(_ code: String, file: String = "bad.npz") throws -> String? {
        try python(Self.make + "\n" + code)
        do { _ = try DatasetSource(parsing: "npz:\(directory)/\(file)").load(); return nil } catch { return error.description }
    }

    @Test func numpysStoredAndCompressedArchivesGiveTheSameDatasetThatTrains() throws {
        try python(Self.make + "\nnp.savez(D + '/plain.npz', **arrays)\nnp.savez_compressed(D + '/packed.npz', **arrays)\nprint(arrays['x_train'][7, 2, 3], arrays['y_train'][7])")
        let plain = try DatasetSource(parsing: "npz:\(directory)/plain.npz")
        #expect(plain.description == "npz:\(directory)/plain.npz")
        let files = try plain.files(), packed = try DatasetSource(parsing: "npz:\(directory)/packed.npz").files()
        #expect(files.trainImages == packed.trainImages && files.testLabels == packed.testLabels && files.contentSHA256 == packed.contentSHA256)
        #expect(files.trainImages.dimensions == [120, 4, 5] && files.testLabels.dimensions == [30])
        let expected = try python(Self.make + "\nprint(arrays['x_train'][7, 2, 3], arrays['y_train'][7])").split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(Int(files.trainImages.values[7 * 20 + 2 * 5 + 3]) == expected[0] && Int(files.trainLabels.values[7]) == expected[1])
        // It trains like any dataset (the same bits twice).
        let data = try plain.load()
        #expect(data.train.featureCount == 20 && data.train.count == 120 && data.test.count == 30)
        let description = TrialDescription(seed: 1, trialIndex: 0, data: DataSelection(dataset: plain.description), model: ModelSpec(hidden: [6], activation: .relu, loss: .softmaxCrossEntropy),
                                           initialization: Initialization(scheme: .fanInUniform), optimizer: OptimizerSpec(batchSize: 10, learningRate: 0.05),
                                           stopping: StoppingRule(maxEpochs: 2))
        let first = try Trainer.run(description, data: data), again = try Trainer.run(description, data: data)
        #expect(first.status == .completed && first.parametersSHA256 == again.parametersSHA256)
    }

    @Test func anArchiveWithItsOwnArrayNamesIsReadByRenamingThem() throws {
        try python(Self.make + "\nnp.savez(D + '/plain.npz', **arrays)\nnp.savez(D + '/own.npz', X=arrays['x_train'], y=arrays['y_train'], Xt=arrays['x_test'], y_test=arrays['y_test'])")
        let own = try DatasetSource(parsing: "npz:\(directory)/own.npz#x_train=X,y_train=y,x_test=Xt")
        #expect(own.description == "npz:\(directory)/own.npz#x_train=X,y_train=y,x_test=Xt")
        #expect(try own.files().contentSHA256 == DatasetSource(parsing: "npz:\(directory)/plain.npz").files().contentSHA256)
        #expect { try DatasetSource(parsing: "npz:\(directory)/own.npz#x_tran=X") } throws: { error in
            "\(error)".contains("'x_tran=X' is not ARRAY=NAME with ARRAY one of x_train, y_train, x_test, y_test")
        }
        #expect { try DatasetSource(parsing: "npz:\(directory)/own.npz#x_train=../x") } throws: { error in "\(error)".contains("is not ARRAY=NAME") }
        #expect { try DatasetSource(parsing: "npz:\(directory)/own.npz").files() } throws: { error in "\(error)".contains("or name yours: npz:FILE#x_train=NAME") }
    }

    @Test func badArchivesAreRefusedWithTheFileAndTheArrayNamed() throws {
        let path = "\(directory)/bad.npz"
        #expect(try problem("arrays['x_train'] = arrays['x_train'].astype(np.int16); np.savez(D + '/bad.npz', **arrays)")
                == "\(path): x_train: features must be uint8 ('|u1') or little-endian float32/float64 ('<f4', '<f8'), got '<i2'")
        #expect(try problem("x = arrays['x_train'].astype(np.float32); x[3, 1, 2] = np.nan; arrays['x_train'] = x; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): x_train: value nan in row 3, column 7; features must be finite numbers")
        #expect(try problem("arrays['x_train'] = arrays['x_train'].astype(np.float64) * 1e300; np.savez(D + '/bad.npz', **arrays)")?.hasSuffix("does not fit in float32") == true)
        #expect(try problem("arrays['y_train'] = arrays['y_train'][:100]; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): x_train has 120 rows but y_train has 100")
        #expect(try problem("arrays['y_test'] = arrays['y_test'].astype(np.int64); arrays['y_test'][4] = 70000; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): y_test: label 70000 of row 4 is not a class 0…65535")
        #expect(try problem("arrays['y_train'][0] = -1; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): y_train: label -1 of row 0 is not a class 0…65535")
        #expect(try problem("arrays['y_train'] = arrays['y_train'].astype(np.float64); np.savez(D + '/bad.npz', **arrays)")
                == "\(path): y_train holds regression targets of shape [120] but y_test class labels; both must be integer classes or both float targets of one width")
        #expect(try problem("y = arrays['y_train'].astype(np.float32); y[5] = np.inf; arrays['y_train'] = y; arrays['y_test'] = arrays['y_test'].astype(np.float32); np.savez(D + '/bad.npz', **arrays)")
                == "\(path): y_train: target inf in row 5, column 0; targets must be finite numbers")
        #expect(try problem("arrays['y_train'] = np.zeros((120, 2, 2), np.float32); np.savez(D + '/bad.npz', **arrays)")
                == "\(path): y_train: regression targets must have shape (n,) or (n, m), got [120, 2, 2]")
        #expect(try problem("arrays['y_train'] = arrays['y_train'].astype('S1'); np.savez(D + '/bad.npz', **arrays)")?.contains("is not a plain number type") == true)
        #expect(try problem("del arrays['x_test']; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): has no array x_test (it holds x_train, y_test, y_train); expected x_train, y_train, x_test, y_test, or name yours: npz:FILE#x_train=NAME,y_train=NAME,…")
        #expect(try problem("arrays['x_train'] = np.asfortranarray(arrays['x_train']); np.savez(D + '/bad.npz', **arrays)")
                == "\(path): x_train: is stored in Fortran order; save numpy.ascontiguousarray(…) instead")
        #expect(try problem("arrays['x_test'] = arrays['x_test'][:, :3, :]; np.savez(D + '/bad.npz', **arrays)")
                == "\(path): x_train's rows have shape [4, 5] but x_test's [3, 5]")
        #expect(try problem("open(D + '/bad.npz', 'wb').write(b'PK not really')") == "\(path): not a zip archive (no end-of-central-directory record); expected an .npz from numpy.savez")
        // Truncated: the archive cut in the middle of an array.
        let truncated = try #require(try problem("np.savez(D + '/whole.npz', **arrays); b = open(D + '/whole.npz', 'rb').read(); open(D + '/bad.npz', 'wb').write(b[:len(b) // 2])"))
        #expect(truncated.hasPrefix("\(path): not a zip archive"))
        // A shape that asks for more data than the array has.
        #expect(try problem("""
            np.savez(D + '/whole.npz', **arrays); b = bytearray(open(D + '/whole.npz', 'rb').read())
            i = b.find(b"(120, 4, 5)"); b[i:i + 11] = b"(120, 4, 6)"; open(D + '/bad.npz', 'wb').write(b)
            """) == "\(path): x_train: shape [120, 4, 6] of |u1 needs 2880 data bytes, the array has 2400 (truncated)")
        // A shape whose element count fits but whose bytes (× 8 for int64) overflow.
        #expect(try problem("""
            h = "{'descr': '<i8', 'fortran_order': False, 'shape': (2147483647, 2147483647), }"
            h = h + ' ' * (63 - (10 + len(h)) % 64) + '\\n'
            npy = b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode() + bytes(16)
            with zipfile.ZipFile(D + '/bad.npz', 'w') as z:
                for k, v in arrays.items():
                    if k == 'y_train': z.writestr(k + '.npy', npy)
                    else:
                        import io; f = io.BytesIO(); np.save(f, v); z.writestr(k + '.npy', f.getvalue())
            """) == "\(path): y_train: shape [2147483647, 2147483647] is too large")
        // A zip bomb: 50 MB of zeros that declare 1,000 bytes inflate no further than 1,001.
        let bomb = try #require(try problem("""
            with zipfile.ZipFile(D + '/bad.npz', 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('x_train.npy', bytes(50_000_000))
            b = bytearray(open(D + '/bad.npz', 'rb').read()); c = b.find(b'PK\\x01\\x02'); b[c + 24:c + 28] = struct.pack('<I', 1000)
            open(D + '/bad.npz', 'wb').write(b)
            """))
        #expect(bomb.hasPrefix("\(path): x_train.npy: inflates to more than 1001 bytes; refusing it (a deflate bomb, or not a dataset)"))
        #expect(throws: DataError(file: "\(directory)/missing.npz", problem: "cannot open: No such file or directory")) { try DatasetSource(parsing: "npz:\(directory)/missing.npz").files() }
        #expect(throws: DataError(file: "npz", problem: "names no file; expected npz:FILE")) { try DatasetSource(parsing: "npz:") }
    }
}
