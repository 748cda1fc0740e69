/// RFC 3986 percent-decoding for S3 keys. A `+` in a path is a plus sign, not a space.
public enum PercentDecoding {
    public static func decode(_ raw: Substring) -> String {
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return String(raw) }
        return String(decoding: decodeBytes(raw.utf8), as: UTF8.self)
    }

    /// The decoded bytes, whatever they are (SigV4 canonicalises bytes, not text).
    public static func decodeBytes(_ raw: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var it = raw.makeIterator()
        while let byte = it.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let hi = it.next() else { bytes.append(byte); break }
            guard let lo = it.next() else { bytes.append(byte); bytes.append(hi); break }
            if let h = hexValue(hi), let l = hexValue(lo) {
                bytes.append(h << 4 | l)
            } else {
                bytes.append(contentsOf: [byte, hi, lo])
            }
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
