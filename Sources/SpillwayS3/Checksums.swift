import Crypto

/// The checksums S3 accepts for an object (`x-amz-checksum-*`), computed as the bytes pass, for
/// uploads whose trailing checksum Spillway checks itself (`payload: decode`).
public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
    case crc32, crc32c, crc64nvme, sha1, sha256

    /// From a trailer or header name, `x-amz-checksum-crc32c` (any case).
    public init?(fieldName: some StringProtocol) {
        let lower = fieldName.lowercased()
        guard lower.hasPrefix("x-amz-checksum-") else { return nil }
        self.init(rawValue: String(lower.dropFirst("x-amz-checksum-".count)))
    }

    public var fieldName: String { "x-amz-checksum-\(rawValue)" }
}

/// One checksum over a stream of bytes; `base64` is the value S3 puts in `x-amz-checksum-*`.
public struct RunningChecksum {
    private enum State {
        case crc32(UInt32, table: CRCTables<UInt32>)
        case crc64(UInt64, table: CRCTables<UInt64>)
        case sha1(Insecure.SHA1)
        case sha256(SHA256)
    }

    private var state: State
    public let algorithm: ChecksumAlgorithm

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: state = .crc32(0xFFFF_FFFF, table: CRCTable.crc32)
        case .crc32c: state = .crc32(0xFFFF_FFFF, table: CRCTable.crc32c)
        case .crc64nvme: state = .crc64(0xFFFF_FFFF_FFFF_FFFF, table: CRCTable.crc64nvme)
        case .sha1: state = .sha1(Insecure.SHA1())
        case .sha256: state = .sha256(SHA256())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .crc32(let crc, let table): state = .crc32(table.update(crc, bytes), table: table)
        case .crc64(let crc, let table): state = .crc64(table.update(crc, bytes), table: table)
        case .sha1(var h):
            h.update(bufferPointer: bytes)
            state = .sha1(h)
        case .sha256(var h):
            h.update(bufferPointer: bytes)
            state = .sha256(h)
        }
    }

    /// The digest, big-endian, as S3 encodes it.
    public var digest: [UInt8] {
        switch state {
        case .crc32(let crc, _): withUnsafeBytes(of: (~crc).bigEndian, Array.init)
        case .crc64(let crc, _): withUnsafeBytes(of: (~crc).bigEndian, Array.init)
        case .sha1(let h): Array(h.finalize())
        case .sha256(let h): Array(h.finalize())
        }
    }

    public var base64: String { Base64.encode(digest) }
}

/// Slicing-by-8 tables of a reflected CRC: eight bytes a step, so a checksum keeps up with the
/// network (about 2 GB/s on one core, where a byte-at-a-time table gives about 400 MB/s).
final class CRCTables<Word: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    private let tables: [Word]  // 8 × 256

    init(reflectedPolynomial poly: Word) {
        var t = [Word](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = Word(i)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ poly : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(truncatingIfNeeded: prev & 0xFF)]
            }
        }
        tables = t
    }

    func update(_ crc: Word, _ bytes: UnsafeRawBufferPointer) -> Word {
        var c = crc
        var i = 0
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            while n - i >= 8 {
                var block: UInt64 = 0
                withUnsafeMutableBytes(of: &block) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 8)])) }
                block = UInt64(littleEndian: block)
                // The low bytes of the block are the first bytes of the stream; fold the CRC in.
                let mixed = block ^ UInt64(truncatingIfNeeded: c)
                var next: Word = 0
                for k in 0..<8 {
                    next ^= t[(7 - k) * 256 + Int(truncatingIfNeeded: (mixed >> (8 * UInt64(k))) & 0xFF)]
                }
                c = next
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t[Int(truncatingIfNeeded: (c ^ Word(bytes[i])) & 0xFF)]
                i += 1
            }
        }
        return c
    }
}

enum CRCTable {
    static let crc32 = CRCTables<UInt32>(reflectedPolynomial: 0xEDB8_8320)
    static let crc32c = CRCTables<UInt32>(reflectedPolynomial: 0x82F6_3B78)
    static let crc64nvme = CRCTables<UInt64>(reflectedPolynomial: 0x9A6C_9329_AC4B_C9B5)
}

/// Standard base64 with padding, as S3 writes checksums.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
