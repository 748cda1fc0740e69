import Foundation
import SpillwayConfig

/// Reads a config from disk (or from text sent to the admin API); a missing or unreadable file is
/// reported like any other problem, with the file it concerns.
enum ConfigFile {
    static func load(path: String) -> Result<GatewayConfig, ConfigError> {
        guard let text = read(path) else {
            return .failure(problem(path, "cannot read the file", fix: "check the path and its permissions"))
        }
        return parse(text: text, file: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// `file` names the source in problems; a relative `auth.credentials_file` is taken from `directory`.
    static func parse(text: String, file: String, directory: String) -> Result<GatewayConfig, ConfigError> {
        switch ConfigLoader.load(text: text, file: file) {
        case .failure(let error):
            return .failure(error)
        case .success(var config):
            guard let credentialsPath = config.protection.identity.credentialsFile else { return .success(config) }
            let resolved = credentialsPath.hasPrefix("/")
                ? credentialsPath : URL(fileURLWithPath: directory).appendingPathComponent(credentialsPath).path
            guard let credentialsText = read(resolved) else {
                return .failure(problem(file, "cannot read the credentials file \(resolved)", fix: "check auth.credentials_file and its permissions"))
            }
            switch ConfigLoader.loadCredentials(text: credentialsText, file: resolved) {
            case .success(let credentials):
                config.protection.identity.credentials.merge(credentials) { $1 }
                return .success(config)
            case .failure(let error):
                return .failure(error)
            }
        }
    }

    private static func problem(_ file: String, _ message: String, fix: String) -> ConfigError {
        ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, message: message, fix: fix)])
    }
}
