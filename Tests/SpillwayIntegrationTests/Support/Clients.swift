import Foundation

/// Runs one scenario of Tests/clients/s3client.py (boto3) against `endpoint` and returns what it saw.
/// An S3 error that ended the scenario throws, unless `allowS3Error` (then it is returned as
/// `{"error": code, "status": …, "request_id": …}`).
func boto(
    _ scenario: String, endpoint: String, cluster: Cluster?, _ arguments: [String] = [], allowS3Error: Bool = false
) throws -> JSON {
    var args = [Paths.client, scenario, "--endpoint", endpoint]
    if let cluster { args += ["--cluster-json", cluster.infoJSON] }
    let result = try run("python3", args + arguments)
    let accepted: Set<Int32> = allowS3Error ? [0, 3] : [0]
    guard accepted.contains(result.status), let line = result.stdout.split(separator: "\n").last else {
        throw CommandError.failed("s3client.py \(scenario)", result)
    }
    return try JSON(parsing: String(line))
}

/// Starts a scenario in the background (for workloads that run while the test acts).
final class BackgroundClient: @unchecked Sendable {
    private let process = Process()
    private let output: LineReader
    private let errors: LineReader

    init(_ scenario: String, endpoint: String, cluster: Cluster?, _ arguments: [String] = []) throws {
        var args = [Paths.client, scenario, "--endpoint", endpoint]
        if let cluster { args += ["--cluster-json", cluster.infoJSON] }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        output = LineReader(out.fileHandleForReading)
        errors = LineReader(err.fileHandleForReading)
        try process.run()
    }

    /// Waits until the client prints a line containing `marker` (e.g. `"receiving"`).
    func waitFor(_ marker: String, timeout: TimeInterval = 30) throws {
        guard output.waitForLine(containing: marker, timeout: timeout) != nil else {
            throw CommandError.failed("background client never printed \(marker)",
                                      CommandResult(status: -1, stdout: output.all, stderr: errors.all))
        }
    }

    func result(timeout: TimeInterval) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            throw CommandError.failed("background client (timed out)", CommandResult(status: -1, stdout: output.all, stderr: errors.all))
        }
        output.waitForEnd(timeout: 5)
        guard process.terminationStatus == 0, let line = output.all.split(separator: "\n").last else {
            throw CommandError.failed(
                "background client", CommandResult(status: process.terminationStatus, stdout: output.all, stderr: errors.all))
        }
        return try JSON(parsing: String(line))
    }
}

/// The AWS CLI, pointed at the gateway with the cluster's credentials.
func awsCLI(_ arguments: [String], endpoint: String, cluster: Cluster) throws -> CommandResult {
    try requireTool("aws", install: "pip install awscli")
    return try run(
        "aws", ["--endpoint-url", endpoint] + arguments,
        environment: [
            "AWS_ACCESS_KEY_ID": cluster.accessKey, "AWS_SECRET_ACCESS_KEY": cluster.secretKey,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
        ])
}

/// rclone (Debian's), with an S3 remote named `gw` pointed at `endpoint` under the cluster's
/// credentials; `caBundle` for an https:// endpoint.
func rclone(_ arguments: [String], endpoint: String, cluster: Cluster, caBundle: String? = nil) throws -> CommandResult {
    try requireTool("rclone", install: "apt-get install rclone")
    return try run(
        "rclone", ["--config", "/dev/null", "--retries", "1", "--low-level-retries", "1"] + (caBundle.map { ["--ca-cert", $0] } ?? []) + arguments,
        environment: [
            "RCLONE_CONFIG_GW_TYPE": "s3", "RCLONE_CONFIG_GW_PROVIDER": "Other", "RCLONE_CONFIG_GW_ENDPOINT": endpoint,
            "RCLONE_CONFIG_GW_ACCESS_KEY_ID": cluster.accessKey, "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY": cluster.secretKey,
            "RCLONE_CONFIG_GW_REGION": "us-east-1", "RCLONE_CONFIG_GW_FORCE_PATH_STYLE": "true",
            // rclone's S3 SDK refuses --ca-cert when the environment names a CA bundle too.
            "AWS_CA_BUNDLE": "",
        ])
}
