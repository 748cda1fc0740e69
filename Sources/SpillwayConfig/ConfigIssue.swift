/// One problem in a config file: where it is and what to do about it.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var fix: String?

    public init(file: String, line: Int, column: Int, message: String, fix: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.fix = fix
    }

    /// `file:line:column: error: message (fix)`, the shape compilers use so editors can jump to it.
    public var description: String {
        var text = "\(file):\(line):\(column): error: \(message)"
        if let fix { text += "\n    fix: \(fix)" }
        return text
    }
}

/// A config that was refused, with every problem found (not only the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
