#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole contents of the file at `path`. The error says what the operating system said.
func readFile(_ path: String) throws(DataError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    if descriptor < 0 { throw DataError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var info = stat()
    if fstat(descriptor, &info) != 0 { throw DataError(file: path, problem: "cannot stat: \(String(cString: strerror(errno)))") }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError(file: path, problem: "is a directory, not a file") }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var filled = 0
    while filled < bytes.count {
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
        if count < 0 {
            if errno == EINTR { continue }
            throw DataError(file: path, byteOffset: filled, problem: "read failed: \(String(cString: strerror(errno)))")
        }
        if count == 0 { break }
        filled += count
    }
    if filled < bytes.count { bytes.removeSubrange(filled...) }
    return bytes
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }
