/// Finds the S3 error code (`<Code>NoSuchKey</Code>`) at the start of an error response body that
/// passes through, so metrics and the access log can name it without buffering the body.
public enum ErrorCodeSniffer {
    /// Bodies longer than this before `<Code>` are not S3 errors worth reading further.
    public static let window = 2048

    private static let open: [UInt8] = Array("<Code>".utf8)

    public static func code(in bytes: UnsafeRawBufferPointer) -> String? {
        let open = Self.open
        let limit = min(bytes.count, window)
        guard limit >= open.count else { return nil }
        var i = 0
        while i + open.count <= limit {
            if bytes[i] == open[0], (1..<open.count).allSatisfy({ bytes[i + $0] == open[$0] }) {
                let start = i + open.count
                var end = start
                while end < limit, bytes[end] != UInt8(ascii: "<") { end += 1 }
                guard end < limit, end > start, end - start <= 64 else { return nil }
                let code = Array(bytes[start..<end])
                // Codes are identifiers; anything else is not an S3 error body.
                guard code.allSatisfy({ $0 < 0x80 && (UInt8(ascii: "A")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                    return nil
                }
                return String(decoding: code, as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}
