import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on loopback that records every byte it forwards: a wire tap between two ZeroMQ
/// peers, so tests can see what crosses the network.
final class WireTap: @unchecked Sendable {   // `captured` is only read after the relay thread finished or under `lock`
    let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var stopped = false
    private var thread: Thread?

    /// Listens on a free loopback port and relays connections to `upstreamPort`.
    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 4) == 0 else { close(listener); throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in relay() }
        self.thread = thread
        thread.start()
    }

    /// Everything relayed so far, both directions.
    var captured: [UInt8] { lock.withLock { bytes } }

    func contains(_ needle: [UInt8]) -> Bool {
        let haystack = captured
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0 ..< $0 + needle.count].elementsEqual(needle) }
    }

    func stop() { lock.withLock { stopped = true } }

    deinit { stop(); close(listener) }

    private func relay() {
        var pairs: [(Int32, Int32)] = []
        while !lock.withLock({ stopped }) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for (a, b) in pairs { fds.append(pollfd(fd: a, events: Int16(POLLIN), revents: 0)); fds.append(pollfd(fd: b, events: Int16(POLLIN), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), 50) > 0 else { continue }
            let polled = pairs
            if fds[0].revents & Int16(POLLIN) != 0 {
                let client = accept(listener, nil, nil)
                let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = UInt16(upstreamPort).bigEndian
                let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                if client >= 0 && connected == 0 { pairs.append((client, server)) } else { close(client); close(server) }
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            for (index, (a, b)) in polled.enumerated() {
                for (from, to, slot) in [(a, b, 1 + 2 * index), (b, a, 2 + 2 * index)] where fds[slot].revents != 0 {
                    let count = read(from, &buffer, buffer.count)
                    if count > 0 {
                        lock.withLock { bytes += buffer[0..<count] }
                        _ = write(to, buffer, count)
                    }
                }
            }
        }
        for (a, b) in pairs { close(a); close(b) }
    }
}
