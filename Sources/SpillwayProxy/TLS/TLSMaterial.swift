import Foundation
import NIOSSL
import SpillwayConfig

/// TLS contexts made from the config's files: one per listener and one per pool, per config
/// generation (never one per connection). A file that cannot be used is a problem at the line
/// that names it, so a bad certificate is refused like any other bad config.
public enum TLSMaterial {
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let file: FileReference
        public let message: String
        public var description: String { "\(file.path): \(message)" }
    }

    /// What a listener serves with: its context, and when its certificate expires.
    public struct Server: Sendable {
        public let context: NIOSSLContext
        /// Seconds since 1970 at which the leaf certificate stops being valid.
        public let notValidAfter: Int
        public let subject: String
        let config: ServerTLSConfig
    }

    public static func server(_ config: ServerTLSConfig) throws(Problem) -> Server {
        let chain = try certificates(config.certificate, what: "certificate")
        let key = try privateKey(config.key)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = version(config.minVersion)
        tls.applicationProtocols = ["http/1.1"]
        if let clientCA = config.clientCA {
            tls.trustRoots = .certificates(try certificates(clientCA, what: "client CA"))
            tls.certificateVerification = .noHostnameVerification  // a client certificate is required
        }
        let context = try make(tls, config.certificate, "the certificate and key do not belong together, or the key is not usable")
        return Server(context: context, notValidAfter: Int(chain[0].notValidAfter), subject: "\(chain[0])", config: config)
    }

    /// The context toward a pool's `https://` nodes.
    public static func client(_ config: NodeTLSConfig) throws(Problem) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = version(config.minVersion)
        tls.applicationProtocols = ["http/1.1"]
        tls.certificateVerification = config.verifyHostname ? .fullVerification : .noHostnameVerification
        if let ca = config.caFile { tls.trustRoots = .certificates(try certificates(ca, what: "CA")) }
        if let certificate = config.certificate, let key = config.key {
            tls.certificateChain = try certificates(certificate, what: "client certificate").map { .certificate($0) }
            tls.privateKey = .privateKey(try privateKey(key))
        }
        return try make(tls, config.certificate ?? config.caFile ?? FileReference(path: "pools[].tls"), "the TLS settings cannot be used")
    }

    private static func make(_ tls: TLSConfiguration, _ file: FileReference, _ why: String) throws(Problem) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw Problem(file: file, message: "\(why) (\(error))")
        }
    }

    private static func certificates(_ file: FileReference, what: String) throws(Problem) -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: file.path) else {
            throw Problem(file: file, message: "cannot read the \(what) file")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(file.path)
        } catch {
            throw Problem(file: file, message: "the \(what) file holds no PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw Problem(file: file, message: "the \(what) file holds no PEM certificate") }
        return chain
    }

    private static func privateKey(_ file: FileReference) throws(Problem) -> NIOSSLPrivateKey {
        guard FileManager.default.isReadableFile(atPath: file.path) else { throw Problem(file: file, message: "cannot read the key file") }
        do {
            return try NIOSSLPrivateKey(file: file.path, format: .pem)
        } catch {
            throw Problem(file: file, message: "the key file holds no PEM private key (\(error))")
        }
    }

    private static func version(_ v: SpillwayConfig.TLSVersion) -> NIOSSL.TLSVersion {
        switch v {
        case .v1_2: .tlsv12
        case .v1_3: .tlsv13
        }
    }

    /// Every TLS file of a config, checked as the gateway would use it: what `spillway check` and
    /// a reload refuse.
    public static func problems(in config: GatewayConfig) -> [Problem] {
        var problems: [Problem] = []
        for listener in config.listeners {
            guard let tls = listener.tls else { continue }
            do { _ = try server(tls) } catch { problems.append(error) }
        }
        for pool in config.pools where pool.nodes.contains(where: \.secure) {
            do { _ = try client(pool.tls) } catch { problems.append(error) }
        }
        return problems
    }
}
