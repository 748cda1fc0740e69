import Foundation

struct CommandResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CommandError: Error, CustomStringConvertible {
    case failed(String, CommandResult)
    case missingTool(String, String)

    var description: String {
        switch self {
        case .failed(let what, let r): "\(what) exited \(r.status)\nstdout: \(r.stdout)\nstderr: \(r.stderr)"
        case .missingTool(let tool, let how): "\(tool) is not installed; install it with: \(how)"
        }
    }
}

/// Runs a program to completion and captures its output (both pipes drained concurrently, so a
/// chatty program cannot block on a full pipe).
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let collected = OutputCollector()
    let group = DispatchGroup()
    for (pipe, isErr) in [(out, false), (err, true)] {
        group.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.set(data, isErr: isErr)
            group.leave()
        }
    }
    process.waitUntilExit()
    group.wait()
    return CommandResult(status: process.terminationStatus, stdout: collected.stdout, stderr: collected.stderr)
}

private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    func set(_ data: Data, isErr: Bool) { lock.withLock { if isErr { err = data } else { out = data } } }
    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
}

/// Fails loudly, with how to install it, when a tool the tests need is missing.
func requireTool(_ name: String, install: String) throws {
    let found = try run("sh", ["-c", "command -v \(name)"])
    if found.status != 0 { throw CommandError.missingTool(name, install) }
}

/// A loopback port nothing listens on right now, for a child process that needs one chosen for it.
func freeLoopbackPort() throws -> Int {
    let probe = try run("python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
    guard let port = Int(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw CommandError.failed("finding a free port", probe)
    }
    return port
}
