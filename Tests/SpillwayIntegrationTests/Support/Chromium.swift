import Foundation

/// Headless Chromium (Debian's `chromium`), loading a page the way an operator's browser would.
enum Chromium {
    /// The page's DOM after its scripts ran for `millis` of (virtual) time.
    static func dom(of url: String, millis: Int = 3000) throws -> String {
        let result = try withProfile { try run("chromium", arguments(millis: millis, profile: $0) + ["--dump-dom", url]) }
        guard result.status == 0 else { throw CommandError.failed("chromium --dump-dom", result) }
        return result.stdout
    }

    /// A PNG of the page after its scripts ran for `millis`.
    static func screenshot(of url: String, to path: String, width: Int = 1400, height: Int = 1000, millis: Int = 4000) throws {
        let result = try withProfile {
            try run("chromium", arguments(millis: millis, profile: $0) + ["--window-size=\(width),\(height)", "--screenshot=\(path)", url])
        }
        guard result.status == 0 else { throw CommandError.failed("chromium --screenshot", result) }
    }

    /// A fresh profile directory for one run of the browser, removed when it is done (each is a
    /// few MiB, and every test run used to leave its own behind in the temporary directory).
    private static func withProfile<T>(_ body: (String) throws -> T) throws -> T {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-chromium-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        return try body(profile)
    }

    private static func arguments(millis: Int, profile: String) throws -> [String] {
        try requireTool("chromium", install: "apt-get install chromium")
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        return ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)",
                "--virtual-time-budget=\(millis)"]
    }

    /// The text of every element with `data-metric="name"`, in page order.
    static func metric(_ name: String, in dom: String) -> [String] {
        var values: [String] = []
        // The page's own script mentions the attribute too; only the rendered elements count.
        var rest = dom[...]
        if let script = rest.range(of: "<script") { rest = rest[..<script.lowerBound] }
        let marker = "data-metric=\"\(name)\">"
        while let start = rest.range(of: marker) {
            let after = rest[start.upperBound...]
            let end = after.firstIndex(of: "<") ?? after.endIndex
            values.append(String(after[..<end]))
            rest = after[end...]
        }
        return values
    }
}
