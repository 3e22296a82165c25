import CZlib

/// gzip (RFC 1952) decompression through zlib.
public enum Gzip {
    /// True when `bytes` start with the gzip magic number 1f 8b.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The most a stream may inflate to (the largest IDX dataset Minima reads, full MNIST, is 55 MB):
    /// a small gzip bomb is refused instead of exhausting memory.
    public static let maximumInflatedBytes = 2 << 30

    /// Inflates a complete gzip stream (`raw`: a raw deflate stream, as in a zip entry), at most
    /// `limit` bytes. `name` is used in errors, which give the offset in the compressed input
    /// where zlib stopped.
    public static func decompress(_ compressed: UnsafeRawBufferPointer, name: String, limit: Int = maximumInflatedBytes, raw: Bool = false) throws(DataError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: a gzip wrapper with the largest window; −15: no wrapper.
        guard inflateInit2_(&stream, raw ? -15 : 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(file: name, problem: "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        let format = raw ? "deflate" : "gzip"
        var output = [UInt8](repeating: 0, count: min(max(compressed.count * 4, 1 << 16), max(limit, 1)))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(compressed.count)
        while true {
            if produced == output.count {
                guard output.count < limit else {
                    throw DataError(file: name, byteOffset: compressed.count - Int(stream.avail_in),
                                    problem: "inflates to more than \(limit) bytes; refusing it (a \(format) bomb, or not a dataset)")
                }
                output += [UInt8](repeating: 0, count: min(output.count, limit - output.count))
            }
            let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
                stream.avail_out = UInt32(buffer.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced = buffer.count - Int(stream.avail_out)
                return status
            }
            let consumed = compressed.count - Int(stream.avail_in)
            switch status {
            case Z_STREAM_END:
                output.removeSubrange(produced...)
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw DataError(file: name, byteOffset: consumed, problem: "\(format) stream is truncated (ends before its end marker)")
            case Z_BUF_ERROR:
                continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw DataError(file: name, byteOffset: consumed, problem: "corrupt \(format) data (\(message))")
            }
        }
    }

    public static func decompress(_ compressed: [UInt8], name: String, limit: Int = maximumInflatedBytes, raw: Bool = false) throws(DataError) -> [UInt8] {
        let result = compressed.withUnsafeBytes { buffer -> Result<[UInt8], DataError> in
            do throws(DataError) { return .success(try decompress(buffer, name: name, limit: limit, raw: raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
