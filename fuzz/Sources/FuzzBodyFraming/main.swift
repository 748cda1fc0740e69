import FuzzDriver
import SpillwayHTTP1

// The first byte picks the framing and the read size; the rest is the body, fed in pieces as a
// network would deliver it. Whatever the pieces, the tracker takes no more than it was given and
// the data ranges it reports lie inside what it took.
fuzz { bytes in
    guard let first = bytes.first else { return }
    let framing: BodyFraming = first & 3 == 0 ? .chunked : first & 3 == 1 ? .length(Int(first)) : first & 3 == 2 ? .untilClose : .none
    let step = Int(first >> 2) + 1
    var tracker = BodyTracker(framing)
    var offset = 1
    while offset < bytes.count && !tracker.isComplete {
        let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + step)])
        guard let n = try? tracker.consume(piece, data: { r in precondition(r.lowerBound >= 0 && r.upperBound <= piece.count) }) else { return }
        precondition(n <= piece.count)
        offset += n
        if n < piece.count { break }
    }
}
