import SpillwayS3
import Yams

/// Listeners with TLS, pools' TLS, credentials and signing, and tenants' access policies.
extension ConfigLoader {
    /// `listen`: a list of `host:port`, or of `{ address, tls }`.
    static func readListeners(_ value: Node, _ r: YAMLReader) -> [Listener] {
        var out: [Listener] = []
        for item in r.list(value) {
            if case .mapping = item {
                var address: HostPort?
                var tls: ServerTLSConfig?
                for (key, _, v) in r.entries(item, of: "listen[]", named: "a listen entry") {
                    switch key {
                    case "address": address = r.hostPort(v, ConfigKeys.Listen.address, allowPortZero: true)
                    case "tls": tls = readServerTLS(v, r)
                    default: break
                    }
                }
                if let address { out.append(Listener(address: address, tls: tls)) } else {
                    r.report(item, "a listen entry has no address", fix: "add 'address: 127.0.0.1:9443'")
                }
                continue
            }
            guard let text = r.string(item, "a listen address") else { continue }
            if let hp = ValueParsers.hostPort(text, allowPortZero: true) {
                out.append(Listener(address: HostPort(host: hp.host, port: hp.port)))
            } else {
                r.report(item, "listen address '\(text)' is not host:port", fix: "for example 127.0.0.1:9000 or [::1]:9000")
            }
        }
        return out
    }

    static func readServerTLS(_ node: Node, _ r: YAMLReader) -> ServerTLSConfig? {
        typealias Keys = ConfigKeys.Listen
        var certificate: FileReference?
        var key: FileReference?
        var clientCA: FileReference?
        var version = TLSVersion.v1_2
        for (k, _, v) in r.entries(node, of: "listen[].tls", named: "listen tls") {
            switch k {
            case "certificate": certificate = file(v, Keys.certificate, r)
            case "key": key = file(v, Keys.key, r)
            case "client_ca": clientCA = file(v, Keys.clientCA, r)
            case "min_version": version = r.choice(v, Keys.minVersion).flatMap(TLSVersion.init(rawValue:)) ?? version
            default: break
            }
        }
        guard let certificate, let key else {
            r.report(node, "listen tls needs a certificate and a key", fix: "add 'certificate: server.pem' and 'key: server.key'")
            return nil
        }
        return ServerTLSConfig(certificate: certificate, key: key, clientCA: clientCA, minVersion: version)
    }

    static func readNodeTLS(_ node: Node, _ r: YAMLReader) -> NodeTLSConfig {
        typealias Keys = ConfigKeys.Security
        var tls = NodeTLSConfig()
        r.fill(&tls, from: node, of: "pools[].tls", named: "tls", [
            .custom(Keys.caFile) { t, v, r in t.caFile = file(v, Keys.caFile, r) },
            .bool(Keys.verifyHostname, \.verifyHostname),
            .string(Keys.serverName, \.serverName),
            .custom(Keys.certificate) { t, v, r in t.certificate = file(v, Keys.certificate, r) },
            .custom(Keys.key) { t, v, r in t.key = file(v, Keys.key, r) },
            .custom(Keys.minVersion) { t, v, r in t.minVersion = r.choice(v, Keys.minVersion).flatMap(TLSVersion.init(rawValue:)) ?? t.minVersion },
        ])
        if (tls.certificate == nil) != (tls.key == nil) {
            r.report(node, "a client certificate needs its key (and a key its certificate)", fix: "give both tls.certificate and tls.key")
        }
        return tls
    }

    static func readCredentials(pool node: Node, _ r: YAMLReader) -> PoolCredentials? {
        typealias Keys = ConfigKeys.Security
        var accessKey: String?
        var secrets: [SecretSource] = []
        var tokens: [SecretSource] = []
        for (k, _, v) in r.entries(node, of: "pools[].credentials", named: "credentials") {
            switch k {
            case "access_key_id": accessKey = r.string(v, Keys.accessKeyID)
            case "secret_access_key": if let s = r.string(v, Keys.secret) { secrets.append(.inline(s)) }
            case "secret_access_key_file": if let f = file(v, Keys.secretFile, r) { secrets.append(.file(f)) }
            case "secret_access_key_env": if let e = r.string(v, Keys.secretEnv) { secrets.append(.environment(e, line: v.mark?.line ?? 1)) }
            case "session_token": if let s = r.string(v, Keys.sessionToken) { tokens.append(.inline(s)) }
            case "session_token_file": if let f = file(v, Keys.sessionTokenFile, r) { tokens.append(.file(f)) }
            case "session_token_env": if let e = r.string(v, Keys.sessionTokenEnv) { tokens.append(.environment(e, line: v.mark?.line ?? 1)) }
            default: break
            }
        }
        guard let accessKey, !accessKey.isEmpty else {
            r.report(node, "credentials need an access_key_id", fix: "add 'access_key_id: AKIA...'")
            return nil
        }
        guard secrets.count == 1, let secret = secrets.first else {
            r.report(
                node, secrets.isEmpty ? "credentials need a secret" : "credentials give the secret more than once",
                fix: "give exactly one of secret_access_key, secret_access_key_file and secret_access_key_env")
            return nil
        }
        if tokens.count > 1 {
            r.report(node, "credentials give the session token more than once", fix: "give one of session_token, session_token_file, session_token_env")
        }
        return PoolCredentials(accessKeyID: accessKey, secret: secret, sessionToken: tokens.first)
    }

    static func readSigning(_ node: Node, _ r: YAMLReader) -> SigningConfig? {
        typealias Keys = ConfigKeys.Security
        var region: String?
        var signing = SigningConfig(region: "")
        r.fill(&signing, from: node, of: "pools[].signing", named: "signing", [
            .custom(Keys.region) { _, v, r in region = r.string(v, Keys.region) },
            .string(Keys.service, \.service),
            .custom(Keys.addressing) { s, v, r in s.addressing = r.choice(v, Keys.addressing).flatMap(SigningConfig.Addressing.init(rawValue:)) ?? s.addressing },
            .custom(Keys.payload) { s, v, r in s.payload = r.choice(v, Keys.payload).flatMap(SigningConfig.PayloadMode.init(rawValue:)) ?? s.payload },
            .bool(Keys.unsignedOverHTTP, \.unsignedPayloadOverHTTP),
            .size(Keys.maxChunkSize, \.maxChunkSize),
        ])
        guard let region, !region.isEmpty else {
            r.report(node, "signing needs a region", fix: "add 'region: us-east-1' (the region the pool's storage signs for)")
            return nil
        }
        signing.region = region
        return signing
    }

    /// Checks across pools and `auth`: signing and credentials come together; `decode` changes the
    /// body, so its requests must be signed anew; and a pool signs only for clients whose own
    /// signature was verified first (else anyone could act with the pool's identity).
    static func checkSigning(_ pools: [(PoolConfig, Node)], verifySignatures: Bool, _ r: YAMLReader) {
        for (pool, node) in pools {
            let credentials = keyNode("credentials", in: node)
            let signing = keyNode("signing", in: node)
            switch (pool.credentials, pool.signing) {
            case (.some, nil):
                r.report(credentials ?? node, "pool '\(pool.name)' has credentials but no signing section",
                         fix: "add 'signing: { region: <the region the pool's storage signs for> }'")
            case (nil, .some):
                r.report(signing ?? node, "pool '\(pool.name)' has a signing section but no credentials",
                         fix: "add 'credentials: { access_key_id: ..., secret_access_key_file: ... }', or remove signing")
            case (.some, .some):
                if !verifySignatures {
                    r.report(credentials ?? node, "pool '\(pool.name)' signs with its own credentials, but auth.verify_signatures is off",
                             fix: "set 'auth: { verify_signatures: true }' with the clients' secrets, so only verified clients act with the pool's identity")
                }
            case (nil, nil):
                break
            }
        }
    }

    /// The key node of `name` in a mapping, for a problem's line.
    static func keyNode(_ name: String, in node: Node) -> Node? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.first { $0.key.string == name }?.key
    }

    /// `tenants[].allow`.
    static func readAllow(_ value: Node, _ r: YAMLReader) -> [AccessRule] {
        typealias Keys = ConfigKeys.Access
        var rules: [AccessRule] = []
        for item in r.list(value) {
            var rule = AccessRule()
            for (k, _, v) in r.entries(item, of: "tenants[].allow[]", named: "an allow rule") {
                switch k {
                case "buckets": rule.buckets = r.list(v).compactMap { r.string($0, "a bucket name or glob") }
                case "prefixes": rule.prefixes = r.list(v).compactMap { r.string($0, "a key prefix") }
                case "operations":
                    for op in r.list(v) {
                        guard let name = r.string(op, "an operation class") else { continue }
                        if let cls = S3OperationClass(rawValue: name) { rule.operations.insert(cls) } else {
                            var fix = "use read, list, write, delete or other"
                            if let near = YAMLReader.nearest(name, in: S3OperationClass.allCases.map(\.rawValue)) { fix = "did you mean '\(near)'? " + fix }
                            r.report(op, "unknown operation class '\(name)'", fix: fix)
                        }
                    }
                default: break
                }
            }
            rules.append(rule)
        }
        if rules.isEmpty { r.report(value, "allow lists no rule", fix: "add a rule, e.g. '- { buckets: [datasets], operations: [read, list] }', or remove allow") }
        return rules
    }

    private static func file(_ node: Node, _ key: ConfigKey, _ r: YAMLReader) -> FileReference? {
        guard let path = r.string(node, key), !path.isEmpty else { return nil }
        return FileReference(path: path, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }
}
