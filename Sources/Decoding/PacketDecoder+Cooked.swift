extension PacketDecoder {
    /// Linux cooked capture v1 (16 bytes):
    ///
    ///     0 packet type (2) | 2 ARPHRD (2) | 4 addr len (2) | 6 addr (8) | 14 protocol (2)
    func decodeSLL(_ b: ByteView, into p: inout DecodedPacket) -> Bool {
        guard let hatype = b.u16(2), let proto = b.u16(14) else { return fail(.truncatedLink, &p) }
        return decodeCookedProtocol(proto, hatype: hatype, b, at: 16, into: &p)
    }

    /// Linux cooked capture v2 (20 bytes):
    ///
    ///     0 protocol (2) | 2 reserved (2) | 4 ifindex (4) | 8 ARPHRD (2) |
    ///     10 packet type (1) | 11 addr len (1) | 12 addr (8)
    func decodeSLL2(_ b: ByteView, into p: inout DecodedPacket) -> Bool {
        guard let proto = b.u16(0), let hatype = b.u16(8), b.has(0, 20) else {
            return fail(.truncatedLink, &p)
        }
        return decodeCookedProtocol(proto, hatype: hatype, b, at: 20, into: &p)
    }

    func decodeCookedProtocol(_ proto: UInt16, hatype: UInt16, _ b: ByteView, at o: Int,
                              into p: inout DecodedPacket) -> Bool {
        // ARPHRD_IPGRE (778): the protocol field is a GRE protocol type;
        // ARPHRD_NETLINK (824) carries no IP. Otherwise it is an EtherType.
        if hatype == 824 { return fail(.notIP, &p) }
        if proto == 0x0004 { return fail(.notIP, &p) }  // 802.2 LLC frames
        return decodeEtherType(proto, b, at: o, into: &p)
    }

    /// BSD loopback: a 4-byte address family, host order (DLT_NULL, the
    /// writer's order: accept either) or network order (DLT_LOOP).
    func decodeLoopback(_ b: ByteView, into p: inout DecodedPacket) -> Bool {
        guard let raw = b.u32(0) else { return fail(.truncatedLink, &p) }
        // Read as big-endian; a little-endian writer puts the family in the top byte.
        let family = raw > 0xFFFF ? raw.byteSwapped : raw
        switch family {
        case 2: return decodeIPv4(b, at: 4, into: &p)
        case 10, 24, 28, 30: return decodeIPv6(b, at: 4, into: &p)  // Linux, NetBSD/OpenBSD, FreeBSD, Darwin
        default: return fail(.notIP, &p)
        }
    }
}
