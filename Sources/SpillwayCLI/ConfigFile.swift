import Foundation
import SpillwayConfig

/// Reads a config file from disk; a missing or unreadable file is reported like any other problem.
enum ConfigFile {
    static func load(path: String) -> Result<GatewayConfig, ConfigError> {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return .failure(
                ConfigError(issues: [
                    ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the file", fix: "check the path and its permissions")
                ]))
        }
        return ConfigLoader.load(text: text, file: path)
    }
}
