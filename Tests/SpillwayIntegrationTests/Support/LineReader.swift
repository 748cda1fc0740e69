import Foundation

/// Collects a child's output as it arrives, so a test can wait for a line (e.g. "listening on")
/// and later read everything the child wrote.
final class LineReader: @unchecked Sendable {
    private var text = ""
    private let condition = NSCondition()
    private var ended = false

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self else { return }
            if data.isEmpty {
                h.readabilityHandler = nil
                self.condition.lock()
                self.ended = true
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            self.condition.lock()
            self.text += String(decoding: data, as: UTF8.self)
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    var all: String {
        condition.lock()
        defer { condition.unlock() }
        return text
    }

    /// Waits until the writer closed its end (so `all` is complete); false on timeout.
    @discardableResult
    func waitForEnd(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !ended {
            if !condition.wait(until: deadline) { return ended }
        }
        return true
    }

    /// The first line containing `marker`, waiting up to `timeout`.
    func waitForLine(containing marker: String, timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            if !condition.wait(until: deadline) { return nil }
        }
    }
}
