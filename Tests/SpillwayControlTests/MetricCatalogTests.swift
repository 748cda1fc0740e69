import Foundation
@testable import SpillwayControl
import SpillwayPolicy
import Testing

/// Each metric is declared once (MetricCatalog); the docs and `/metrics` are made from that.
@Suite struct MetricCatalogTests {
    static let observability = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/observability.md")

    @Test func theDocumentedTableIsTheCatalog() throws {
        let document = try String(contentsOf: Self.observability, encoding: .utf8)
        let committed = try #require(MetricCatalog.section(of: document), "docs/observability.md has no generated metrics table")
        #expect(committed == MetricCatalog.markdown(), "docs/observability.md is stale: run `spillway metrics-reference` and paste its output")
    }

    @Test func namesAreUniqueAndPrometheusShaped() {
        let names = MetricCatalog.all.map(\.name)
        #expect(Set(names).count == names.count)
        for metric in MetricCatalog.all {
            #expect(metric.name.hasPrefix("spillway_"))
            #expect(metric.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(metric.name)")
            #expect(metric.kind != .counter || metric.name.hasSuffix("_total"), "a counter's name ends in _total: \(metric.name)")
            #expect(!metric.help.contains("\n") && !metric.help.contains("\\"), "help text goes on one exposition line: \(metric.name)")
        }
    }

    @Test func theExpositionCarriesHelpBeforeEachDeclaredType() {
        let exposition = Array("""
            # TYPE spillway_retries_total counter
            spillway_retries_total{pool="a"} 2
            # TYPE something_else gauge
            something_else 1

            """.utf8)
        let lines = String(decoding: MetricsExport.withHelp(exposition), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines == [
            "# HELP spillway_retries_total \(MetricCatalog.retries.help)",
            "# TYPE spillway_retries_total counter",
            "spillway_retries_total{pool=\"a\"} 2",
            "# TYPE something_else gauge",
            "something_else 1",
        ])
    }
}
