import SpillwayRESP
import Testing

@Suite("Reading Redis replies")
struct RESPReaderTests {
    @Test func repliesAreReadWhateverTheReadSizes() throws {
        let wire = Array(":42\r\n+OK\r\n-ERR no\r\n$2\r\n17\r\n$-1\r\n".utf8)
        for step in [1, 2, 5, wire.count] {
            var reader = RESPReader()
            var replies: [RESPReader.Reply] = []
            var offset = 0
            while offset < wire.count {
                let n = min(step, wire.count - offset)
                replies += try reader.read(wire[offset..<(offset + n)])
                offset += n
            }
            #expect(replies == [.integer(42), .simple("OK"), .error("ERR no"), .bulk(Array("17".utf8)), .bulk(nil)])
            #expect(reader.pending == 0)
        }
    }

    @Test func absurdLengthsAreAProtocolErrorNotAnOverflow() {
        var reader = RESPReader()
        #expect(throws: RESPReader.Problem.badLength) { try reader.read(Array("$9223372036854775807\r\n".utf8)) }
        var long = RESPReader()
        #expect(throws: RESPReader.Problem.lineTooLong) { try long.read(Array(repeating: UInt8(ascii: "1"), count: 10_000)) }
        var huge = RESPReader()
        #expect(throws: RESPReader.Problem.badLength) { try huge.read(Array(":99999999999999999999\r\n".utf8)) }
        // Found by fuzzing: an empty line once made an inverted range and trapped.
        var empty = RESPReader()
        #expect(throws: RESPReader.Problem.unknownType(13)) { try empty.read(Array(":42\r\n\r\n".utf8)) }
        var unknown = RESPReader()
        #expect(throws: RESPReader.Problem.unknownType(UInt8(ascii: "*"))) { try unknown.read(Array("*1\r\n".utf8)) }
    }
}
