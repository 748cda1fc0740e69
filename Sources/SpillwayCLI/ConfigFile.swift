import Foundation
import SpillwayConfig
import SpillwayProxy

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

    /// `file` names the source in problems; relative paths (`auth.credentials_file`, TLS files,
    /// secret files) are taken from `directory`. Secrets in files and environment variables are
    /// read here, so every load (and every reload) reads them afresh.
    static func parse(text: String, file: String, directory: String) -> Result<GatewayConfig, ConfigError> {
        switch ConfigLoader.load(text: text, file: file) {
        case .failure(let error):
            return .failure(error)
        case .success(var config):
            var issues = resolveFiles(&config, file: file, directory: directory)
            if let credentialsPath = config.protection.identity.credentialsFile {
                let resolved = FileReference(path: credentialsPath).resolved(in: directory).path
                if let credentialsText = read(resolved) {
                    switch ConfigLoader.loadCredentials(text: credentialsText, file: resolved) {
                    case .success(let credentials): config.protection.identity.credentials.merge(credentials) { $1 }
                    case .failure(let error): issues += error.issues
                    }
                } else {
                    issues.append(ConfigIssue(file: file, line: 1, column: 1, message: "cannot read the credentials file \(resolved)",
                                              fix: "check auth.credentials_file and its permissions"))
                }
            }
            // Certificates and keys are checked as the gateway would use them, so a bad file is
            // refused at its line, at start, by `spillway check`, and on a reload alike.
            if issues.isEmpty {
                issues += TLSMaterial.problems(in: config).map {
                    ConfigIssue(file: file, line: $0.file.line, column: $0.file.column, message: "\($0.file.path): \($0.message)",
                                fix: "check the file: PEM, readable, and the key belonging to its certificate")
                }
            }
            return issues.isEmpty ? .success(config) : .failure(ConfigError(issues: issues))
        }
    }

    /// Makes every file path absolute and reads the pools' secrets.
    private static func resolveFiles(_ config: inout GatewayConfig, file: String, directory: String) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let environment = ProcessInfo.processInfo.environment
        for i in config.listeners.indices {
            guard var tls = config.listeners[i].tls else { continue }
            tls.certificate = tls.certificate.resolved(in: directory)
            tls.key = tls.key.resolved(in: directory)
            tls.clientCA = tls.clientCA?.resolved(in: directory)
            config.listeners[i].tls = tls
        }
        for i in config.pools.indices {
            var pool = config.pools[i]
            pool.tls.caFile = pool.tls.caFile?.resolved(in: directory)
            pool.tls.certificate = pool.tls.certificate?.resolved(in: directory)
            pool.tls.key = pool.tls.key?.resolved(in: directory)
            if var credentials = pool.credentials {
                func secret(_ source: SecretSource, _ what: String) -> String? {
                    switch source {
                    case .inline(let value):
                        return value
                    case .file(let ref):
                        let path = ref.resolved(in: directory).path
                        guard let text = read(path) else {
                            issues.append(ConfigIssue(file: file, line: ref.line, column: ref.column, message: "cannot read the \(what) file \(path)",
                                                      fix: "check the path and its permissions"))
                            return nil
                        }
                        return text.trimmingCharacters(in: .whitespacesAndNewlines)
                    case .environment(let name, let line):
                        guard let value = environment[name], !value.isEmpty else {
                            issues.append(ConfigIssue(file: file, line: line, column: 1, message: "the environment variable \(name) (the pool's \(what)) is not set",
                                                      fix: "set \(name), or name the \(what) another way"))
                            return nil
                        }
                        return value
                    }
                }
                credentials.resolvedSecret = secret(credentials.secret, "secret")
                credentials.resolvedSessionToken = credentials.sessionToken.flatMap { secret($0, "session token") }
                pool.credentials = credentials
            }
            config.pools[i] = pool
        }
        return issues
    }

    private static func problem(_ file: String, _ message: String, fix: String) -> ConfigError {
        ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, message: message, fix: fix)])
    }
}
