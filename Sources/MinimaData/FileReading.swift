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

/// Writes `bytes` to `path` through `path.partial`, fsync and rename: a reader sees the old file
/// or the whole new one, never a part.
func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(DataError) {
    let temporary = path + ".partial"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if descriptor < 0 { throw DataError(file: path, problem: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if count < 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(temporary)
            throw DataError(file: path, byteOffset: written, problem: "write failed: \(reason)")
        }
        written += count
    }
    let synced = fsync(descriptor) == 0
    let syncError = errno
    let closed = close(descriptor) == 0
    if !synced || !closed {
        let reason = String(cString: strerror(synced ? errno : syncError))
        unlink(temporary)
        throw DataError(file: path, problem: "cannot flush: \(reason)")
    }
    if rename(temporary, path) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw DataError(file: path, problem: "cannot rename \(temporary) into place: \(reason)")
    }
}
