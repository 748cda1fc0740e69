import SpillwayS3

/// A file the config names, with where it names it: a file that cannot be used is reported at
/// that line, like any other problem.
public struct FileReference: Sendable, Equatable, CustomStringConvertible {
    /// As written; relative paths are taken from the config file's directory.
    public var path: String
    public var line: Int
    public var column: Int

    public init(path: String, line: Int = 1, column: Int = 1) {
        self.path = path
        self.line = line
        self.column = column
    }

    public var description: String { path }

    /// `path` taken from `directory` when it is relative.
    public func resolved(in directory: String) -> FileReference {
        guard !path.hasPrefix("/"), !directory.isEmpty else { return self }
        var copy = self
        copy.path = directory.hasSuffix("/") ? directory + path : directory + "/" + path
        return copy
    }
}

public enum TLSVersion: String, Sendable, Equatable, CaseIterable {
    case v1_2 = "1.2"
    case v1_3 = "1.3"
}

/// TLS toward clients on one listener.
public struct ServerTLSConfig: Sendable, Equatable {
    /// PEM: the certificate chain, leaf first.
    public var certificate: FileReference
    public var key: FileReference
    /// PEM CAs that sign client certificates: with it, a client must present one (mutual TLS).
    public var clientCA: FileReference?
    public var minVersion: TLSVersion

    public init(certificate: FileReference, key: FileReference, clientCA: FileReference? = nil, minVersion: TLSVersion = .v1_2) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
        self.minVersion = minVersion
    }

    /// Every file it reads, for the watcher that reloads certificates when they change.
    public var files: [FileReference] { [certificate, key] + (clientCA.map { [$0] } ?? []) }
}

/// One address Spillway accepts S3 clients on.
public struct Listener: Sendable, Equatable {
    public var address: HostPort
    public var tls: ServerTLSConfig?

    public init(address: HostPort, tls: ServerTLSConfig? = nil) {
        self.address = address
        self.tls = tls
    }
}

/// TLS toward a pool's `https://` nodes.
public struct NodeTLSConfig: Sendable, Equatable {
    /// PEM CAs to trust; nil: the system's roots.
    public var caFile: FileReference?
    /// Check that the node's certificate names the node. Turning it off is logged at start.
    public var verifyHostname: Bool
    /// The name sent as SNI and checked in the certificate, when it is not the URL's host.
    public var serverName: String?
    /// A client certificate and key, for nodes that ask for one.
    public var certificate: FileReference?
    public var key: FileReference?
    public var minVersion: TLSVersion

    public init(
        caFile: FileReference? = nil, verifyHostname: Bool = true, serverName: String? = nil, certificate: FileReference? = nil,
        key: FileReference? = nil, minVersion: TLSVersion = .v1_2
    ) {
        self.caFile = caFile
        self.verifyHostname = verifyHostname
        self.serverName = serverName
        self.certificate = certificate
        self.key = key
        self.minVersion = minVersion
    }

    public var files: [FileReference] { [caFile, certificate, key].compactMap { $0 } }
}

/// Where a secret comes from. Files and variables are read when the config is loaded (and again on
/// every reload), so a rotated secret is picked up by `SIGHUP`.
public enum SecretSource: Sendable, Equatable {
    case inline(String)
    case file(FileReference)
    case environment(String, line: Int)
}

/// The identity a pool's requests are signed with.
public struct PoolCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secret: SecretSource
    public var sessionToken: SecretSource?
    /// Filled when the config is loaded from its file (`ConfigFile`), from `secret` and `sessionToken`.
    public var resolvedSecret: String?
    public var resolvedSessionToken: String?

    public init(accessKeyID: String, secret: SecretSource, sessionToken: SecretSource? = nil) {
        self.accessKeyID = accessKeyID
        self.secret = secret
        self.sessionToken = sessionToken
        if case .inline(let s) = secret { resolvedSecret = s }
        if case .inline(let t)? = sessionToken { resolvedSessionToken = t }
    }
}

/// How requests to a credentialed pool are signed.
public struct SigningConfig: Sendable, Equatable {
    public enum Addressing: String, Sendable, Equatable, CaseIterable {
        /// `https://node/bucket/key`.
        case path
        /// `https://bucket.node/key`.
        case virtual
    }

    public enum PayloadMode: String, Sendable, Equatable, CaseIterable {
        /// The body goes as the client framed it (an `aws-chunked` body is re-signed chunk by chunk).
        case pass
        /// `aws-chunked` bodies are decoded: the node gets a plain body of the decoded length, and
        /// Spillway checks the trailing checksum itself (for storage that predates trailing checksums).
        case decode
    }

    public var region: String
    public var service: String
    public var addressing: Addressing
    public var payload: PayloadMode
    /// Send bodies signed `UNSIGNED-PAYLOAD` to plain-HTTP nodes (refused unless this is on).
    public var unsignedPayloadOverHTTP: Bool
    /// The largest `aws-chunked` chunk re-signed (it is held whole while its new signature is made).
    public var maxChunkSize: Int

    public init(
        region: String, service: String = "s3", addressing: Addressing = .path, payload: PayloadMode = .pass,
        unsignedPayloadOverHTTP: Bool = false, maxChunkSize: Int = ConfigKeys.Security.maxChunkSize.size
    ) {
        self.region = region
        self.service = service
        self.addressing = addressing
        self.payload = payload
        self.unsignedPayloadOverHTTP = unsignedPayloadOverHTTP
        self.maxChunkSize = maxChunkSize
    }
}

/// One rule of a tenant's access policy: a request is allowed when some rule matches all of it.
public struct AccessRule: Sendable, Equatable {
    /// Bucket names or globs; empty: every bucket.
    public var buckets: [String]
    /// Key prefixes; empty: every key.
    public var prefixes: [String]
    /// Operation classes; empty: all of them.
    public var operations: Set<S3OperationClass>

    public init(buckets: [String] = [], prefixes: [String] = [], operations: Set<S3OperationClass> = []) {
        self.buckets = buckets
        self.prefixes = prefixes
        self.operations = operations
    }
}

extension AccessRule {
    /// Whether the rule covers an operation of this class on this bucket and key. `keyOrPrefix`:
    /// the object's key, or for a listing the prefix it lists.
    public func allows(bucket: Substring?, keyOrPrefix: String?, operation: S3OperationClass) -> Bool {
        if !operations.isEmpty, !operations.contains(operation) { return false }
        if !buckets.isEmpty {
            guard let bucket, buckets.contains(where: { ValueParsers.globMatches($0[...], bucket) }) else { return false }
        }
        if !prefixes.isEmpty {
            guard let keyOrPrefix, prefixes.contains(where: { keyOrPrefix.hasPrefix($0) }) else { return false }
        }
        return true
    }
}

extension Array where Element == AccessRule {
    /// A tenant's policy: no rules allow everything; otherwise some rule must cover the request.
    public func allows(bucket: Substring?, keyOrPrefix: String?, operation: S3OperationClass) -> Bool {
        isEmpty || contains { $0.allows(bucket: bucket, keyOrPrefix: keyOrPrefix, operation: operation) }
    }
}
