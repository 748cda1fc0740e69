import NIOCore
import SpillwayHTTP1

/// Writes a message head onward without copying it: the head is sent as slices of the bytes it
/// arrived in, skipping the lines that must not be forwarded, with any lines of our own inserted
/// before the blank line that ends it.
enum HeadWriter {
    /// `head` spans the whole head including its final CRLF CRLF; `drop` are line ranges within it,
    /// in ascending order; `extra` holds complete header lines (each ending in CRLF).
    static func write(_ head: ByteBuffer, dropping drop: LineRanges, adding extra: ByteBuffer?, to emit: (ByteBuffer) -> Void) {
        guard !drop.isEmpty || extra != nil else {
            emit(head)
            return
        }
        writeKeptLines(head, dropping: drop, to: emit)
        if let extra { emit(extra) }
        emit(StaticBytes.crlf)
    }

    /// The lines of `head` not in `drop`, without the blank line that ends it (the caller adds
    /// its own fields, then the blank line).
    static func writeKeptLines(_ head: ByteBuffer, dropping drop: LineRanges, to emit: (ByteBuffer) -> Void) {
        let base = head.readerIndex
        let bodyOfHeadEnd = head.readableBytes - 2  // before the final CRLF
        var cursor = 0
        for line in drop {
            if line.lowerBound > cursor, let piece = head.getSlice(at: base + cursor, length: line.lowerBound - cursor) {
                emit(piece)
            }
            cursor = line.upperBound
        }
        if bodyOfHeadEnd > cursor, let piece = head.getSlice(at: base + cursor, length: bodyOfHeadEnd - cursor) {
            emit(piece)
        }
    }

    /// The head with `drop` removed, as one buffer (for a head that will be sent more than once).
    static func rebuilt(_ head: ByteBuffer, dropping drop: LineRanges, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard !drop.isEmpty else { return head }
        var out = allocator.buffer(capacity: head.readableBytes)
        write(head, dropping: drop, adding: nil) { piece in
            var piece = piece
            out.writeBuffer(&piece)
        }
        return out
    }
}

/// Byte strings the data plane writes often, allocated once.
enum StaticBytes {
    static let crlf = make("\r\n")
    static let connectionClose = make("Connection: close\r\n")
    static let connectionKeepAlive = make("Connection: keep-alive\r\n")
    static let continue100 = make("HTTP/1.1 100 Continue\r\n\r\n")

    private static func make(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}
