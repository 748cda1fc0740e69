import ArgumentParser
import Foundation
import SpillwayControl
import SpillwayPolicy

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live terminal view of a running gateway: nodes, tenants and buckets, refreshed every second.",
        discussion: """
            Reads the admin API of a running gateway:
              spillway top --admin http://127.0.0.1:9901
            The token comes from --token or SPILLWAY_ADMIN_TOKEN. Ctrl-C quits.
            """
    )

    @Option(name: .long, help: "The gateway's admin address, e.g. http://127.0.0.1:9901.")
    var admin: String

    @Option(name: .long, help: "Bearer token for the admin API (default: $SPILLWAY_ADMIN_TOKEN).")
    var token: String?

    @Option(name: .long, help: "Seconds between refreshes.")
    var interval: Double = 1

    @Option(name: .long, help: "Stop after this many refreshes (default: run until interrupted).")
    var count: Int?

    func validate() throws {
        guard URL(string: admin)?.host != nil else { throw ValidationError("--admin wants a URL, e.g. http://127.0.0.1:9901") }
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1") }
    }

    func run() async throws {
        let token = token ?? ProcessInfo.processInfo.environment["SPILLWAY_ADMIN_TOKEN"]
        // On a terminal, redraw in place like top; into a pipe, print one frame after another.
        let terminal = isatty(STDOUT_FILENO) == 1
        var previous: (status: GatewayStatus, at: ContinuousClock.Instant)?
        var frames = 0
        while count.map({ frames < $0 }) ?? true {
            let status: GatewayStatus
            do {
                status = try await fetch(token: token)
            } catch {
                FileHandle.standardError.write(Data("spillway top: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let now = ContinuousClock.now
            let seconds = previous.map { (now - $0.at).seconds } ?? 0
            let frame = StatusTable.render(status, previous: previous?.status, seconds: seconds)
            FileHandle.standardOutput.write(Data(((terminal ? "\u{1B}[H\u{1B}[2J" : "") + frame + "\n\n").utf8))
            previous = (status, now)
            frames += 1
            if count.map({ frames < $0 }) ?? true { try await Task.sleep(for: .seconds(interval)) }
        }
    }

    private func fetch(token: String?) async throws -> GatewayStatus {
        let base = admin.hasSuffix("/") ? String(admin.dropLast()) : admin
        var request = URLRequest(url: URL(string: base + "/api/status")!, timeoutInterval: 5)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let code = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard code == 200 else {
            let body = String(data: data, encoding: .utf8) ?? ""
            throw TopError(description: "\(base)/api/status answered \(code): \(body)")
        }
        return try JSONDecoder().decode(GatewayStatus.self, from: data)
    }

    struct TopError: Error, CustomStringConvertible {
        let description: String
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
