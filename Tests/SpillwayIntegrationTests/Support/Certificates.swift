import Foundation

/// A test certificate authority made with `openssl` when a test asks for it: real PEM files for
/// real TLS (EC P-256, valid for 30 days), in a directory of their own.
struct TestPKI {
    let directory: URL
    let name: String

    var caCertificate: String { directory.appendingPathComponent("\(name)-ca.pem").path }
    var caKey: String { directory.appendingPathComponent("\(name)-ca.key").path }

    /// A new CA under a fresh temporary directory (or `directory`).
    init(name: String = "test", directory: URL? = nil) throws {
        try requireTool("openssl", install: "apt-get install openssl")
        self.name = name
        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("spillway-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-keyout", caKey, "-out", caCertificate, "-subj", "/CN=Spillway test CA \(name)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    struct Leaf {
        let certificate: String
        let key: String
    }

    /// A certificate this CA signs: for a server (`names` as its DNS and IP subject alternative
    /// names) or a client. `days` may be short, to test expiry.
    @discardableResult
    func issue(_ leaf: String, names: [String] = ["localhost", "127.0.0.1"], client: Bool = false, days: Int = 30) throws -> Leaf {
        let cert = directory.appendingPathComponent("\(leaf).pem").path
        let key = directory.appendingPathComponent("\(leaf).key").path
        let csr = directory.appendingPathComponent("\(leaf).csr").path
        let ext = directory.appendingPathComponent("\(leaf).ext")
        let sans = names.map { $0.first?.isNumber == true || $0.contains(":") ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try """
            subjectAltName=\(sans)
            extendedKeyUsage=\(client ? "clientAuth" : "serverAuth")
            keyUsage=critical,digitalSignature
            """.write(to: ext, atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=\(names.first ?? leaf)",
        ])
        try openssl([
            "x509", "-req", "-in", csr, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial", "-days", "\(days)",
            "-out", cert, "-extfile", ext.path,
        ])
        return Leaf(certificate: cert, key: key)
    }

    /// The SHA-256 fingerprint of a certificate file, as `openssl x509 -fingerprint` prints it.
    static func fingerprint(of certificate: String) throws -> String {
        let r = try run("openssl", ["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
        guard r.status == 0 else { throw CommandError.failed("openssl fingerprint", r) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "=").last ?? ""
    }

    private func openssl(_ arguments: [String]) throws {
        let r = try run("openssl", arguments)
        guard r.status == 0 else { throw CommandError.failed("openssl \(arguments.first ?? "")", r) }
    }
}
