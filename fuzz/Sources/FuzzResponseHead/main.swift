import FuzzDriver
import SpillwayHTTP1

fuzz { bytes in
    guard let end = HeadScanner.endOfHead(bytes) else { return }
    guard let parsed = try? ResponseHead.parse(UnsafeRawBufferPointer(rebasing: bytes[..<end])) else { return }
    precondition((100...999).contains(parsed.status))
    for line in parsed.dropLines { precondition(line.upperBound <= end) }
    if let range = parsed.contentRange { precondition(range.first <= range.last) }
    _ = parsed.bodyFraming(requestWasHEAD: false)
}
