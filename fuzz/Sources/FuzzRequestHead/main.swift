import FuzzDriver
import SpillwayHTTP1

// A request head as a client sends it: the scanner finds its end, the parser reads it under the
// default limits, and what it reports must stay inside the bytes.
fuzz { bytes in
    guard let end = HeadScanner.endOfHead(bytes) else { return }
    let head = UnsafeRawBufferPointer(rebasing: bytes[..<end])
    guard let parsed = try? RequestHead.parse(head) else { return }
    precondition(parsed.targetRange.upperBound <= end && parsed.methodRange.upperBound <= end)
    for line in parsed.dropLines { precondition(line.upperBound <= end) }
    _ = parsed.bodyFraming
    _ = RequestHead.fieldIndex(in: head)
}
