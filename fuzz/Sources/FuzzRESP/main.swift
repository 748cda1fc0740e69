import FuzzDriver
import SpillwayRESP

fuzz { bytes in
    guard let first = bytes.first else { return }
    var reader = RESPReader()
    let step = Int(first) + 1
    var offset = 1
    while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        guard (try? reader.read(bytes[offset..<end])) != nil else { return }
        precondition(reader.pending <= RESPReader.maxBulk + RESPReader.maxLine + step + 8)
        offset = end
    }
}
