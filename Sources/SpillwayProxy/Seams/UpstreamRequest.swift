import NIOCore
import SpillwayExchange
import SpillwayHTTP1

/// The request head each attempt sends: made afresh per attempt, because an attempt may need
/// fields the client's head does not have (a resume adds `Range` and `If-Match`) or must replace
/// some (re-signing for a pool with its own credentials replaces `Authorization`, `Host` and the
/// date). Fields are replaced by dropping their lines and adding new ones, so the rest of the head
/// goes out as the client sent it, byte for byte.
protocol UpstreamRequest {
    func head(for kind: AttemptKind, allocator: ByteBufferAllocator) -> ByteBuffer
}

/// Today's behaviour: the client's head minus its hop-by-hop lines; a resume adds the range still
/// missing and the entity tag the download started with.
struct PassThroughRequest: UpstreamRequest {
    /// The client's head without its hop-by-hop lines.
    let forwarded: ByteBuffer
    /// The ETag of the response being resumed (quotes included), once a response is resumable.
    var etag: ByteBuffer?
    /// A follower trying a coalesced flight under its own signature: its request as it sent it,
    /// made conditional on not being the flight's object (`304` lets it in; anything else is its
    /// own answer). `If-None-Match` is not among the fields a client signs, so adding it keeps the
    /// client's signature valid, whatever else (a `Range`) that covers.
    var trialETag: ByteBuffer?

    func head(for kind: AttemptKind, allocator: ByteBufferAllocator) -> ByteBuffer {
        var edit = HeadEdit()
        if case .resume(let offset, let total) = kind, var etag {
            edit.add("Range", "bytes=\(offset)-\(total - 1)")
            edit.add("If-Match", &etag)
        }
        if var trial = trialETag { edit.add("If-None-Match", &trial) }
        return edit.applied(to: forwarded, allocator: allocator)
    }
}

/// Lines to drop from a head, and lines to add before its end: enough to replace any field.
struct HeadEdit {
    var drop = LineRanges()
    private var added: ByteBuffer?

    mutating func add(_ name: String, _ value: String) {
        var lines = added ?? ByteBuffer()
        lines.writeString(name)
        lines.writeString(": ")
        lines.writeString(value)
        lines.writeString("\r\n")
        added = lines
    }

    mutating func add(_ name: String, _ value: inout ByteBuffer) {
        var lines = added ?? ByteBuffer()
        lines.writeString(name)
        lines.writeString(": ")
        lines.writeBuffer(&value)
        lines.writeString("\r\n")
        added = lines
    }

    /// The head with the edit applied, as one buffer (a head is sent once per attempt).
    func applied(to head: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard !drop.isEmpty || added != nil else { return head }
        var out = allocator.buffer(capacity: head.readableBytes + (added?.readableBytes ?? 0))
        HeadWriter.write(head, dropping: drop, adding: added) { piece in
            var piece = piece
            out.writeBuffer(&piece)
        }
        return out
    }
}
