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
        switch ConfigLoader.load(text: text, file: path) {
        case .failure(let error):
            return .failure(error)
        case .success(var config):
            guard let credentialsPath = config.protection.identity.credentialsFile else { return .success(config) }
            // Relative to the config file's directory.
            let resolved = credentialsPath.hasPrefix("/")
                ? credentialsPath : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(credentialsPath).path
            guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8) else {
                return .failure(
                    ConfigError(issues: [
                        ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the credentials file \(resolved)",
                                    fix: "check auth.credentials_file and its permissions")
                    ]))
            }
            switch ConfigLoader.loadCredentials(text: text, file: resolved) {
            case .success(let credentials):
                config.protection.identity.credentials.merge(credentials) { $1 }
                return .success(config)
            case .failure(let error):
                return .failure(error)
            }
        }
    }
}
