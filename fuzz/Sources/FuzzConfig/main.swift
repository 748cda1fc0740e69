import FuzzDriver
import SpillwayConfig

// Any text as a config file: it loads, or is refused with problems that each name a line.
fuzz { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    switch ConfigLoader.load(text: text, file: "fuzz.yaml") {
    case .success: break
    case .failure(let error): precondition(!error.issues.isEmpty && error.issues.allSatisfy { $0.line >= 1 })
    }
    _ = ConfigLoader.loadCredentials(text: text, file: "credentials.yaml")
}
