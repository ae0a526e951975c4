extension PacketDecoder {
    /// IPv4 header:
    ///
    ///     0 version/IHL | 1 TOS | 2 total length (2) | 4 id (2) | 6 flags/frag offset (2)
    ///     8 TTL | 9 protocol | 10 checksum (2) | 12 src (4) | 16 dst (4) | 20 options
    ///
    /// The whole header (with options) must be captured. The total length may
    /// exceed what was captured (snaplen) but not what was on the wire.
    func decodeIPv4(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let vihl = b.u8(o), b.has(o, 20) else { return fail(.truncatedIPv4, &p) }
        guard vihl >> 4 == 4 else { return fail(.badIPVersion, &p) }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= 20 else { return fail(.ipv4BadHeaderLength, &p) }
        guard b.has(o, ihl),
              let total16 = b.u16(o + 2), let id = b.u16(o + 4), let frag = b.u16(o + 6),
              let ttl = b.u8(o + 8), let proto = b.u8(o + 9),
              let src = b.rawU32(o + 12), let dst = b.rawU32(o + 16)
        else { return fail(.truncatedIPv4, &p) }
        let total = Int(total16)
        guard total >= ihl else { return fail(.ipv4BadTotalLength, &p) }
        guard total <= p.wireLength - o else { return fail(.ipLengthExceedsWire, &p) }

        p.ipVersion = 4
        p.ipOffset = o
        p.src = IPAddress(hi: UInt64(src), lo: 0, version: 4)
        p.dst = IPAddress(hi: UInt64(dst), lo: 0, version: 4)
        p.proto = proto
        p.ttl = ttl
        p.ipLength = total
        let offset = frag & 0x1FFF
        let more = frag & 0x2000 != 0
        if offset != 0 || more {
            p.isFragment = true
            p.fragmentOffset = offset
            p.moreFragments = more
            p.fragmentID = UInt32(id)
        }
        return decodeIPPayload(proto, b, at: o + ihl, end: o + total, into: &p)
    }
}
