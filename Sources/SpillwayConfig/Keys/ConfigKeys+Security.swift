/// The keys of TLS, of pools that sign with their own credentials, and of tenants' access policies.
extension ConfigKeys {
    public enum Listen {
        public static let address = ConfigKey("listen[].address", .hostPort, .required, "In the long form of a listen entry: the address.")
        public static let tls = ConfigKey("listen[].tls", .section, .none, "TLS on this listener (HTTPS). Plain and TLS listeners run side by side.")
        public static let certificate = ConfigKey("listen[].tls.certificate", .string, .required, "PEM certificate chain, leaf first. Reloaded on `SIGHUP`, `POST /api/reload`, and when the file changes.")
        public static let key = ConfigKey("listen[].tls.key", .string, .required, "PEM private key of the certificate.")
        public static let clientCA = ConfigKey("listen[].tls.client_ca", .string, .none, "PEM CAs that sign client certificates: with it, clients must present one (mutual TLS).")
        public static let minVersion = ConfigKey("listen[].tls.min_version", .choice(TLSVersion.allCases.map(\.rawValue)), .text("`1.2`"), "The oldest TLS version accepted.")
    }

    public enum Security {
        public static let tls = ConfigKey("pools[].tls", .section, .none, "TLS toward the pool's `https://` nodes (and their health probes).")
        public static let caFile = ConfigKey("pools[].tls.ca_file", .string, .text("the system's roots"), "PEM CAs to trust.")
        public static let verifyHostname = ConfigKey("pools[].tls.verify_hostname", .bool, .bool(true), "Check that a node's certificate names it. `false` is logged at start.")
        public static let serverName = ConfigKey("pools[].tls.server_name", .string, .text("the URL's host"), "The name sent as SNI and checked in the certificate.")
        public static let certificate = ConfigKey("pools[].tls.certificate", .string, .none, "PEM client certificate, for nodes that ask for one.")
        public static let key = ConfigKey("pools[].tls.key", .string, .none, "Its PEM private key.")
        public static let minVersion = ConfigKey("pools[].tls.min_version", .choice(TLSVersion.allCases.map(\.rawValue)), .text("`1.2`"), "The oldest TLS version used.")

        public static let credentials = ConfigKey("pools[].credentials", .section, .none, "The pool's own identity: requests to it are re-signed with SigV4 (needs `auth.verify_signatures: true`). Without it, requests go under the client's own signature, byte for byte.")
        public static let accessKeyID = ConfigKey("pools[].credentials.access_key_id", .string, .required, "The pool's access key id.")
        public static let secret = ConfigKey("pools[].credentials.secret_access_key", .string, .none, "Its secret, inline (or one of the next two).")
        public static let secretFile = ConfigKey("pools[].credentials.secret_access_key_file", .string, .none, "A file holding the secret (read at every load).")
        public static let secretEnv = ConfigKey("pools[].credentials.secret_access_key_env", .string, .none, "An environment variable holding the secret.")
        public static let sessionToken = ConfigKey("pools[].credentials.session_token", .string, .none, "A session token, for temporary credentials (or the next two).")
        public static let sessionTokenFile = ConfigKey("pools[].credentials.session_token_file", .string, .none, "A file holding the session token.")
        public static let sessionTokenEnv = ConfigKey("pools[].credentials.session_token_env", .string, .none, "An environment variable holding the session token.")

        public static let signing = ConfigKey("pools[].signing", .section, .none, "How requests to a credentialed pool are signed.")
        public static let region = ConfigKey("pools[].signing.region", .string, .required, "The region in the signature's scope.")
        public static let service = ConfigKey("pools[].signing.service", .string, .text("`s3`"), "The service in the signature's scope.")
        public static let addressing = ConfigKey("pools[].signing.addressing", .choice(SigningConfig.Addressing.allCases.map(\.rawValue)), .text("`path`"), "`path`: `node/bucket/key`; `virtual`: `bucket.node/key`.")
        public static let payload = ConfigKey("pools[].signing.payload", .choice(SigningConfig.PayloadMode.allCases.map(\.rawValue)), .text("`pass`"), "`pass`: bodies go as the client framed them. `decode`: `aws-chunked` uploads are decoded into plain bodies, and Spillway checks their trailing checksum itself (storage that predates trailing checksums).")
        public static let unsignedOverHTTP = ConfigKey("pools[].signing.unsigned_payload_over_http", .bool, .bool(false), "Send bodies whose hash is not known (`UNSIGNED-PAYLOAD`, presigned uploads) to plain-HTTP nodes; refused otherwise.")
        public static let maxChunkSize = ConfigKey("pools[].signing.max_chunk_size", .size(1024...(64 << 20)), .size(8 << 20), "The largest `aws-chunked` chunk re-signed; each is held whole while its signature is made. Larger ones are refused.")
    }

    public enum Access {
        public static let allow = ConfigKey("tenants[].allow", .sections, .text("everything"), "The tenant's access policy: a request must match one rule, or it gets `403 AccessDenied` and never reaches storage.")
        public static let buckets = ConfigKey("tenants[].allow[].buckets", .list("bucket names or globs"), .text("any"), "Buckets the rule covers.")
        public static let prefixes = ConfigKey("tenants[].allow[].prefixes", .list("key prefixes"), .text("any"), "Key prefixes the rule covers.")
        public static let operations = ConfigKey("tenants[].allow[].operations", .list("`read`, `list`, `write`, `delete`, `other`"), .text("all"), "Operation classes the rule allows.")
    }
}
