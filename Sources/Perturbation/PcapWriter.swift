#if canImport(Glibc)
import Glibc
#endif

/// Writes a classic pcap file with nanosecond timestamps (magic 0xa1b23c4d),
/// which libpcap, tshark and FlowSentry read as they read any capture.
final class PcapWriter {
    private let file: UnsafeMutablePointer<FILE>
    let path: String

    init(path: String, dlt: Int32, snaplen: Int = 262_144) throws(PerturbationError) {
        guard let f = fopen(path, "wb") else {
            throw PerturbationError("\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        file = f
        self.path = path
        var h: [UInt8] = []
        Self.le32(&h, 0xa1b2_3c4d)
        Self.le16(&h, 2)
        Self.le16(&h, 4)
        Self.le32(&h, 0)
        Self.le32(&h, 0)
        Self.le32(&h, UInt32(snaplen))
        Self.le32(&h, UInt32(bitPattern: dlt))
        try write(h)
    }

    deinit { fclose(file) }

    func append(timestampNs: Int64, wireLength: Int, bytes: [UInt8]) throws(PerturbationError) {
        var h: [UInt8] = []
        h.reserveCapacity(16)
        Self.le32(&h, UInt32(truncatingIfNeeded: timestampNs / 1_000_000_000))
        Self.le32(&h, UInt32(truncatingIfNeeded: timestampNs % 1_000_000_000))
        Self.le32(&h, UInt32(bytes.count))
        Self.le32(&h, UInt32(max(wireLength, bytes.count)))
        try write(h)
        try write(bytes)
    }

    func close() throws(PerturbationError) {
        if fflush(file) != 0 { throw PerturbationError("\(path): cannot write: \(String(cString: strerror(errno)))") }
    }

    private func write(_ b: [UInt8]) throws(PerturbationError) {
        let n = b.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != b.count { throw PerturbationError("\(path): cannot write: \(String(cString: strerror(errno)))") }
    }

    private static func le16(_ b: inout [UInt8], _ v: UInt16) { b.append(UInt8(v & 0xff)); b.append(UInt8(v >> 8)) }
    private static func le32(_ b: inout [UInt8], _ v: UInt32) {
        for i in 0..<4 { b.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) }
    }
}
