/// Finds where a message head ends (the blank line after the header fields) without copying.
public enum HeadScanner {
    /// The offset just past `\r\n\r\n`, searching from `start` (a caller that already scanned part
    /// of the bytes passes where it stopped, minus 3, so a terminator split across reads is found).
    public static func endOfHead(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        let count = bytes.count
        var i = max(start, 0)
        while i + 3 < count {
            // Jump from LF to LF: the terminator is the only place two come within two bytes.
            if bytes[i + 3] != 10 {
                i += bytes[i + 3] == 13 ? 1 : 4
                continue
            }
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 { return i + 4 }
            i += 1
        }
        return nil
    }
}
