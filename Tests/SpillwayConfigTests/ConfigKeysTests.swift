import Foundation
import SpillwayConfig
import SpillwayHTTP1
import Testing
import Yams

/// The key declarations are the one source: the reference, the example config and the loader's
/// checks must all agree with them.
@Suite("Config keys, declared once")
struct ConfigKeysTests {
    static let example = URLPaths.repositoryRoot.appendingPathComponent("config/spillway.example.yaml")
    static let reference = URLPaths.repositoryRoot.appendingPathComponent("docs/configuration.md")

    @Test func theReferenceIsTheOneRenderedFromTheKeys() throws {
        let document = try String(contentsOf: Self.reference, encoding: .utf8)
        let committed = try #require(ConfigReference.section(of: document), "docs/configuration.md has no generated key table")
        #expect(committed == ConfigReference.markdown(), "docs/configuration.md is stale: run `spillway config-reference` and paste its output")
    }

    @Test func theExampleConfigNamesEveryKey() throws {
        let root = try #require(try Yams.compose(yaml: try String(contentsOf: Self.example, encoding: .utf8)))
        let limitsSections = ["tenants[].limits", "default_limits", "buckets[].limits"]
        var missing: [String] = []
        for key in ConfigKeys.all {
            let paths = key.path.hasPrefix("limits.") ? limitsSections.map { $0 + key.path.dropFirst("limits".count) } : [key.path]
            if !paths.contains(where: { Self.present($0.split(separator: ".").map(String.init), in: root) }) { missing.append(key.path) }
        }
        #expect(missing.isEmpty, "config/spillway.example.yaml does not mention: \(missing.joined(separator: ", "))")
    }

    @Test func theExampleConfigIsValidAndSaysWhatItMeans() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let config = try ConfigLoader.load(text: text, file: "spillway.example.yaml").get()
        #expect(config.pools.map(\.name) == ["primary", "archive", "cloud", "replica"])
        #expect(config.listeners.map { $0.tls != nil } == [false, true])
        #expect(config.pools.map { $0.credentials != nil } == [false, true, true, true])
        #expect(config.pools[1].signing?.payload == .decode && config.pools[2].signing?.addressing == .virtual)
        #expect(config.routes.count == 2 && config.defaultPool == "primary")
        #expect(config.pools[0].nodes.map(\.weight) == [2, 1, 1])
        #expect(config.observability.admin?.listen.port == 9901)
    }

    @Test func sectionsAllowExactlyTheKeysDeclaredUnderThem() {
        #expect(ConfigKeys.names(in: "pools[].retry") == ["max_attempts", "max_resumes", "budget_percent", "min_per_second", "backoff_base", "backoff_max", "replay_buffer"])
        let typo = ConfigLoader.load(text: "listen: 127.0.0.1:0\npools: [{ name: p, nodes: [http://127.0.0.1:9], retry: { max_atempts: 2 } }]\n", file: "t.yaml")
        guard case .failure(let error) = typo else {
            Issue.record("a typo was accepted")
            return
        }
        #expect(error.issues.first?.fix?.contains("did you mean 'max_attempts'") == true)
    }

    @Test func thePureLayersDefaultsAreTheKeysDefaults() {
        let limits = HeadLimits()
        #expect(limits.maxHeadBytes == ConfigKeys.HTTP.maxHeadSize.size)
        #expect(limits.maxHeaders == ConfigKeys.HTTP.maxHeaders.int)
        #expect(limits.maxTargetBytes == ConfigKeys.HTTP.maxTargetLength.size)
        #expect(Set(ConfigKeys.all.map(\.path)).count == ConfigKeys.all.count, "a key is declared twice")
    }

    /// Whether `path` (with `[]` for "some element of a list") exists in the YAML tree.
    static func present(_ path: [String], in node: Node) -> Bool {
        guard let first = path.first else { return true }
        let rest = Array(path.dropFirst())
        let isList = first.hasSuffix("[]")
        let name = isList ? String(first.dropLast(2)) : first
        guard case .mapping(let mapping) = node, let value = mapping.first(where: { $0.key.string == name })?.value else { return false }
        guard isList else { return present(rest, in: value) }
        guard case .sequence(let items) = value else { return rest.isEmpty }
        return rest.isEmpty || items.contains { present(rest, in: $0) }
    }
}
