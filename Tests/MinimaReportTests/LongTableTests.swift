import Foundation
import MinimaCore
import MinimaExperiment
import MinimaReport
import Testing

@Suite("Long-format tables beside trials.csv")
struct LongTableTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md")

    /// The README's table of tables names every file and every column a built-in kind writes.
    @Test func theReadmeListsEveryTableAndColumn() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "### Results as tables").dropFirst().first?.components(separatedBy: "\n## ").first)
        var specs = [try #require(try Presets.spec("connectivity"))]
        var network = try #require(try Presets.spec("landscape"))
        network.probes?.registered = ["slice": .init()]
        specs.append(network)
        let tables = specs.flatMap { ReportKinds.kind(of: $0).tables(spec: $0) }
        #expect(Set(tables.map(\.file)).count == 6)
        for table in tables {
            let line = try #require(section.split(separator: "\n").first { $0.hasPrefix("| `\(table.file)` |") }, "\(table.file) is not in the README's table")
            for column in table.columns { #expect(line.contains("`\(column.name)`"), "\(table.file): column \(column.name) is not in the README") }
        }
    }

    @Test func aTableWithNoRowsIsNotWritten() throws {
        let table = LongTable(file: "x.csv", summary: "", columns: [.init("a", "")]) { row in row.trial == 1 ? [["7"], ["8"]] : [] }
        let rows = (0..<3).map { TrialRow(trial: $0, point: 0, restart: $0, state: "done", outcome: nil, status: nil, worker: nil, seconds: nil, failure: nil) }
        #expect(table.render(rows) == "trial,point,restart,a\n1,0,1,7\n1,0,1,8\n")
        #expect(table.render([rows[0], rows[2]]) == nil)
    }
}
