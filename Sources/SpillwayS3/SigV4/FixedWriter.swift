/// Writes bytes into a buffer sized beforehand (on the stack, or a string's own storage), so that a
/// string to sign or an `Authorization` value costs no intermediate array or string.
struct FixedWriter {
    let out: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ out: UnsafeMutableBufferPointer<UInt8>) { self.out = out }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        for b in bytes {
            out[count] = b
            count += 1
        }
    }

    mutating func put(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { put($0) } }

    mutating func put(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBufferPointer { put($0) } }

    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { put($0) }
    }

    mutating func put(byte: UInt8) {
        out[count] = byte
        count += 1
    }

    /// Lower-case hex of a digest.
    mutating func putHex(_ raw: UnsafeRawBufferPointer) {
        for b in raw {
            put(byte: SigV4.hexDigit(b >> 4))
            put(byte: SigV4.hexDigit(b & 0xF))
        }
    }
}
