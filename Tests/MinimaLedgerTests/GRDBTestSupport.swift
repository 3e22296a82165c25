@_exported import GRDB

/// Direct access to a ledger file, for tests that must make one a real Minima would not.
enum GRDBTestSupport {
    static func queue(_ path: String) throws -> DatabaseQueue { try DatabaseQueue(path: path) }
}
