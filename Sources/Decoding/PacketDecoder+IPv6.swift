extension PacketDecoder {
    /// IPv6 fixed header (40 bytes):
    ///
    ///     0 version/class/label (4) | 4 payload length (2) | 6 next header | 7 hop limit
    ///     8 src (16) | 24 dst (16)
    ///
    /// followed by extension headers: hop-by-hop (0), routing (43), fragment
    /// (44), destination options (60) and AH (51), walked up to a fixed count.
    func decodeIPv6(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let v = b.u8(o), b.has(o, 40),
              let plen = b.u16(o + 4), var next = b.u8(o + 6), let hop = b.u8(o + 7),
              let s0 = b.rawU64(o + 8), let s1 = b.rawU64(o + 16),
              let d0 = b.rawU64(o + 24), let d1 = b.rawU64(o + 32)
        else { return fail(.truncatedIPv6, &p) }
        guard v >> 4 == 6 else { return fail(.badIPVersion, &p) }
        var total = 40 + Int(plen)
        if plen == 0 { total = p.wireLength - o }  // jumbogram or TSO: use the wire
        guard total <= p.wireLength - o else { return fail(.ipLengthExceedsWire, &p) }

        p.ipVersion = 6
        p.ipOffset = o
        p.src = IPAddress(hi: s0, lo: s1, version: 6)
        p.dst = IPAddress(hi: d0, lo: d1, version: 6)
        p.ttl = hop
        p.ipLength = total
        let end = o + total

        var h = o + 40
        var count = 0
        loop: while true {
            switch next {
            case 0, 43, 60, 135, 139, 140:
                // Hop-by-hop, routing, destination options, mobility, HIP, shim6:
                // next header (1), length in 8-byte units not counting the first 8.
                guard let n = b.u8(h), let len = b.u8(h + 1) else { return fail(.truncatedIPv6Extension, &p) }
                let size = (Int(len) + 1) * 8
                guard b.has(h, size) else { return fail(.truncatedIPv6Extension, &p) }
                next = n
                h += size
            case 44:
                // Fragment: next (1), reserved (1), offset/flags (2), id (4).
                guard let n = b.u8(h), let off = b.u16(h + 2), let id = b.u32(h + 4) else {
                    return fail(.truncatedIPv6Extension, &p)
                }
                p.isFragment = true
                p.fragmentOffset = off >> 3
                p.moreFragments = off & 1 != 0
                p.fragmentID = id
                next = n
                h += 8
                if p.fragmentOffset != 0 { break loop }
            case 51:
                // AH: next (1), length in 4-byte units minus 2.
                guard let n = b.u8(h), let len = b.u8(h + 1) else { return fail(.truncatedIPv6Extension, &p) }
                let size = (Int(len) + 2) * 4
                guard b.has(h, size) else { return fail(.truncatedIPv6Extension, &p) }
                next = n
                h += size
            default:
                break loop
            }
            count += 1
            if count > 8 { return fail(.ipv6TooManyExtensions, &p) }
            if h > end { return fail(.truncatedIPv6Extension, &p) }
        }
        p.proto = next
        if next == 59 {  // no next header
            p.payloadOffset = h
            p.payloadLength = 0
            return true
        }
        return decodeIPPayload(next, b, at: h, end: end, into: &p)
    }
}
