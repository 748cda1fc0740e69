import NIOSSL
import SpillwayConfig

/// Certificates reloaded when their files change, without a config change and without dropping a
/// connection: each TLS listener and each pool with `https://` nodes gets a new context if its
/// files are usable, and keeps the one it has if not (logged and counted).
extension GatewayServer {
    /// (Re)starts watching the TLS files of the config in force.
    func watchCertificates() {
        let state = store.load()
        var paths = state.snapshot.config.listeners.flatMap { $0.tls?.files ?? [] }.map(\.path)
        paths += state.pools.filter(\.policy.hasTLSNodes).flatMap { $0.policy.tls.files }.map(\.path)
        let watcher = paths.isEmpty ? nil : CertificateWatcher(paths: Array(Set(paths)).sorted()) { [self] in refreshCertificates() }
        certificateWatcher.withLock { current in
            current?.stop()
            current = watcher
        }
        watcher?.start()
    }

    func refreshCertificates() {
        let state = store.load()
        var (changed, problems) = serverTLS.refresh(state.snapshot.config.listeners)
        for pool in state.pools where pool.policy.hasTLSNodes {
            do {
                pool.tls?.install(try TLSMaterial.client(pool.policy.tls))
                changed += 1
            } catch {
                problems.append(error)
            }
        }
        telemetry.countTLSReload(applied: problems.isEmpty)
        serverTLS.countReload(applied: problems.isEmpty)
        if problems.isEmpty {
            logger.notice("certificates reloaded", metadata: ["contexts": "\(changed)"])
        } else {
            for problem in problems {
                logger.error(
                    "certificate reload refused; the previous certificate stays",
                    metadata: ["file": "\(problem.file.path)", "config-line": "\(problem.file.line)", "why": "\(problem.message)"])
            }
        }
    }
}
