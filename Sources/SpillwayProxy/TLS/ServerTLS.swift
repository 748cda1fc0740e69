import NIOSSL
import SpillwayConfig
import SpillwayPolicy
import Synchronization

/// The TLS files of a config that cannot be used; the config is refused with them.
public struct TLSProblems: Error, CustomStringConvertible {
    public let problems: [TLSMaterial.Problem]
    public var description: String {
        problems.map { "TLS file \($0.file.path) (config line \($0.file.line)): \($0.message)" }.joined(separator: "\n")
    }
}

/// The TLS context of each TLS listener, for new handshakes. Replaced whole when the config is
/// applied (every reload re-reads the files) or when a watched file changes; connections already
/// open keep the context they were accepted with.
final class ServerTLS: Sendable {
    private let current = Mutex<[Int: TLSMaterial.Server]>([:])
    private let lastProblem = Mutex<String?>(nil)
    /// Reloads after a watched file changed, put in force and refused.
    let reloads = Atomic<Int>(0)
    let refusals = Atomic<Int>(0)

    func countReload(applied: Bool) {
        if applied { reloads.wrappingAdd(1, ordering: .relaxed) } else { refusals.wrappingAdd(1, ordering: .relaxed) }
    }

    /// The context for the next handshake on listener `index` (nil: a plain listener).
    func context(listener index: Int) -> NIOSSLContext? { current.withLock { $0[index]?.context } }

    /// Contexts for every TLS listener of `listeners`, or every problem: a config whose TLS files
    /// cannot be used is refused whole, and the running contexts stay.
    static func prepare(_ listeners: [Listener]) -> Result<[Int: TLSMaterial.Server], TLSProblems> {
        var made: [Int: TLSMaterial.Server] = [:]
        var problems: [TLSMaterial.Problem] = []
        for (index, listener) in listeners.enumerated() {
            guard let tls = listener.tls else { continue }
            do { made[index] = try TLSMaterial.server(tls) } catch { problems.append(error) }
        }
        return problems.isEmpty ? .success(made) : .failure(TLSProblems(problems: problems))
    }

    func install(_ contexts: [Int: TLSMaterial.Server]) {
        current.withLock { $0 = contexts }
        lastProblem.withLock { $0 = nil }
    }

    /// A watched file changed: each listener gets its new certificate if its files are usable, and
    /// keeps the one it has if not. Returns the problems (each one is logged and counted).
    func refresh(_ listeners: [Listener]) -> (changed: Int, problems: [TLSMaterial.Problem]) {
        var problems: [TLSMaterial.Problem] = []
        var changed = 0
        var next = current.withLock { $0 }
        for (index, listener) in listeners.enumerated() {
            guard let tls = listener.tls else { continue }
            do {
                let made = try TLSMaterial.server(tls)
                next[index] = made
                changed += 1
            } catch {
                problems.append(error)
            }
        }
        current.withLock { $0 = next }
        lastProblem.withLock { $0 = problems.isEmpty ? nil : problems.map(\.description).joined(separator: "; ") }
        return (changed, problems)
    }

    /// The address each listener was bound to (port 0 in the config becomes a real one), by index.
    let bound = Mutex<[Int: String]>([:])

    /// Each TLS listener's certificate now: for `/api/status` and the expiry metric.
    func status(_ listeners: [Listener]) -> [ListenerTLSStatus] {
        let bound = self.bound.withLock { $0 }
        let contexts = current.withLock { $0 }
        let problem = lastProblem.withLock { $0 }
        return listeners.enumerated().compactMap { index, listener in
            guard let made = contexts[index] else { return nil }
            return ListenerTLSStatus(
                address: bound[index] ?? listener.address.description, subject: made.subject, notValidAfter: made.notValidAfter,
                mutualTLS: listener.tls?.clientCA != nil, lastReloadProblem: problem)
        }
    }
}
