import Decoding

/// A long-header packet's fields up to its packet number (RFC 9000 §17.2,
/// §17.2.2 for the Initial's token), read from a datagram:
///
/// ```
/// first(1) version(4) dcid_len(1) dcid(0..20) scid_len(1) scid(0..20)
/// [Initial: token_length(varint) token] length(varint) packet_number(1..4, protected) payload
/// ```
struct QUICLongHeader {
    let version: UInt32
    /// The packet is an Initial of a version the sensor can open.
    let isInitial: Bool
    let dcid: [UInt8]
    /// Where the packet starts, its (protected) packet number starts, and it ends, in the datagram.
    let start: Int
    let packetNumberOffset: Int
    let end: Int
}

/// Reads and opens a client's Initial packets (RFC 9001 §5): header
/// protection removed, packet number decoded, payload opened with the
/// unprotected header as associated data. Every offset and length is read
/// through `ByteView`; a packet that is cut, malformed or does not
/// authenticate gives nil.
enum QUICInitialPacket {
    /// The long header at `offset` of `datagram`; nil when the bytes there
    /// are not a long header, a connection ID is longer than 20 bytes, or a
    /// length runs past the datagram, or the version is neither 1 nor 2
    /// (another version's layout is not known). 0-RTT and Handshake packets
    /// are read as far as their length (`isInitial` false), to step over them.
    static func header(_ datagram: ByteView, at offset: Int) -> QUICLongHeader? {
        guard let first = datagram.u8(offset), first & 0x80 != 0, let version = datagram.u32(offset + 1),
              let initialType = QUICHeader.initialType(version: version),
              let dcidLength = datagram.u8(offset + 5), dcidLength <= 20 else { return nil }
        var p = offset + 6
        guard datagram.has(p, Int(dcidLength)) else { return nil }
        let dcid = datagram.withBytes(from: p, length: Int(dcidLength)) { Array($0) }
        p += Int(dcidLength)
        guard let scidLength = datagram.u8(p), scidLength <= 20, datagram.has(p + 1, Int(scidLength)) else { return nil }
        p += 1 + Int(scidLength)
        let type = (first >> 4) & 0x03
        let retryType: UInt8 = version == QUICHeader.version2 ? 0b00 : 0b11
        guard type != retryType else { return nil }  // a Retry has no length field (and no client sends one)
        if type == initialType {
            guard let tokenLength = varint(datagram, &p), tokenLength <= UInt64(datagram.count),
                  datagram.has(p, Int(tokenLength)) else { return nil }
            p += Int(tokenLength)
        }
        guard let length = varint(datagram, &p), length <= UInt64(datagram.count), datagram.has(p, Int(length))
        else { return nil }
        return QUICLongHeader(version: version, isInitial: type == initialType && first & 0x40 != 0, dcid: dcid,
                              start: offset, packetNumberOffset: p, end: p + Int(length))
    }

    /// A variable-length integer (RFC 9000 §16): the first byte's two high
    /// bits give its length, 1, 2, 4 or 8 bytes. Advances `p` past it.
    static func varint(_ b: ByteView, _ p: inout Int) -> UInt64? {
        guard let first = b.u8(p) else { return nil }
        let length = 1 << Int(first >> 6)
        guard b.has(p, length) else { return nil }
        var v = UInt64(first & 0x3F)
        for i in 1..<length { v = v << 8 | UInt64(b.u8(p + i) ?? 0) }
        p += length
        return v
    }

    /// The full packet number from its truncated form (RFC 9000 §A.3):
    /// the value closest to the one after `largest` (−1 before any packet).
    static func decodePacketNumber(largest: Int64, truncated: UInt64, bits: Int) -> UInt64 {
        let expected = largest + 1
        let window = Int64(1) << bits
        let half = window / 2
        let candidate = (expected & ~(window - 1)) | Int64(truncated)
        if candidate <= expected - half && candidate < (Int64(1) << 62) - window { return UInt64(candidate + window) }
        if candidate > expected + half && candidate >= window { return UInt64(candidate - window) }
        return UInt64(max(0, candidate))
    }

    /// Opens the Initial packet `h` of `datagram` with `keys`: its payload
    /// (the frames) and its packet number, or nil when the packet is too
    /// short to sample (RFC 9001 §5.4.2), the mask cannot be made, or the
    /// payload does not authenticate.
    static func open(_ datagram: ByteView, _ h: QUICLongHeader, keys: QUICInitialKeys,
                     largest: Int64) -> (payload: [UInt8], packetNumber: UInt64)? {
        let sampleOffset = h.packetNumberOffset + 4
        guard h.isInitial, sampleOffset + 16 <= h.end, datagram.has(sampleOffset, 16),
              let mask = keys.headerMask(sample: datagram.withBytes(from: sampleOffset, length: 16) { Array($0) }),
              mask.count >= 5, let protected = datagram.u8(h.start) else { return nil }
        let first = protected ^ (mask[0] & 0x0F)
        let pnLength = Int(first & 0x03) + 1
        var header = datagram.withBytes(from: h.start, length: h.packetNumberOffset + pnLength - h.start) { Array($0) }
        guard header.count == h.packetNumberOffset + pnLength - h.start else { return nil }
        header[0] = first
        var truncated: UInt64 = 0
        for i in 0..<pnLength {
            let k = header.count - pnLength + i
            header[k] ^= mask[1 + i]
            truncated = truncated << 8 | UInt64(header[k])
        }
        let number = decodePacketNumber(largest: largest, truncated: truncated, bits: 8 * pnLength)
        let sealedStart = h.packetNumberOffset + pnLength
        let sealed = datagram.withBytes(from: sealedStart, length: h.end - sealedStart) { Array($0) }
        guard sealed.count == h.end - sealedStart,
              let payload = keys.open(sealed: sealed, packetNumber: number, header: header) else { return nil }
        return (payload, number)
    }
}
