import Foundation

/// Where the pieces under test live. The gateway binary is the one `swift build` made
/// (or `SPILLWAY_BIN`), so the tests run exactly what a user runs.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var spillway: String {
        if let explicit = ProcessInfo.processInfo.environment["SPILLWAY_BIN"] { return explicit }
        return root.appendingPathComponent(".build/debug/spillway").path
    }

    static let cluster = root.appendingPathComponent("cluster/s3cluster.py").path
    static let client = root.appendingPathComponent("Tests/clients/s3client.py").path

    static func temporaryFile(_ name: String, contents: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
