import Foundation

/// A fresh directory under the system temp dir, removed after `body`.
func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("flowsentry-capture-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Little- or big-endian integers for building capture files byte by byte.
struct Bytes {
    var bigEndian: Bool
    var out: [UInt8] = []
    init(bigEndian: Bool = false) { self.bigEndian = bigEndian }
    mutating func u16(_ v: UInt16) {
        let b = [UInt8(v & 0xff), UInt8(v >> 8)]
        out += bigEndian ? b.reversed() : b
    }
    mutating func u32(_ v: UInt32) {
        let b = (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xff) }
        out += bigEndian ? b.reversed() : b
    }
    mutating func raw(_ b: [UInt8]) { out += b }
    /// Zero bytes up to a multiple of 4.
    mutating func pad4(_ n: Int) { out += [UInt8](repeating: 0, count: (4 - n % 4) % 4) }
}

/// Classic pcap (the libpcap file format, draft-ietf-opsawg-pcap):
/// 24-byte header, then per record ts_sec, ts_frac, caplen, len and the data.
func classicPcap(bigEndian: Bool = false, nanosecond: Bool = false, linkType: UInt32 = 1,
                 snaplen: UInt32 = 65535,
                 records: [(sec: UInt32, frac: UInt32, wire: UInt32, data: [UInt8])]) -> [UInt8] {
    var b = Bytes(bigEndian: bigEndian)
    b.u32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4)  // magic, written in the file's order
    b.u16(2); b.u16(4)                              // version 2.4
    b.u32(0); b.u32(0)                              // thiszone, sigfigs
    b.u32(snaplen)
    b.u32(linkType)
    for r in records {
        b.u32(r.sec); b.u32(r.frac); b.u32(UInt32(r.data.count)); b.u32(r.wire)
        b.raw(r.data)
    }
    return b.out
}

/// A 60-byte Ethernet/IPv4/UDP frame, 10.0.0.1:5353 → 10.0.0.2:53 (checksums zero).
func udpFrame(payload: UInt8 = 0x61) -> [UInt8] {
    var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]  // MACs, EtherType IPv4
    f += [0x45, 0, 0, 46, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]  // IPv4, total 46
    f += [0x14, 0xe9, 0, 53, 0, 26, 0, 0]  // UDP 5353 → 53, length 26
    f += [UInt8](repeating: payload, count: 18)
    return f
}

/// The same frame as TCP (SYN 40000 → 80), 54 bytes.
func tcpFrame() -> [UInt8] {
    var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
    f += [0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
    f += [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]
    return f
}
