import Foundation

enum URLPaths {
    /// The package root, found from this file's location (Tests/SpillwayConfigTests/…).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
