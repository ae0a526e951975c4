extension PacketDecoder {
    /// Ethernet II, or IEEE 802.3 with LLC/SNAP.
    ///
    ///     0  dst MAC (6) | 6 src MAC (6) | 12 EtherType or length (2) | 14 ...
    ///     802.3: 14 DSAP | 15 SSAP | 16 control | SNAP: 17 OUI (3) | 20 EtherType
    func decodeEthernet(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let type = b.u16(o + 12) else { return fail(.truncatedLink, &p) }
        if type >= 0x0600 { return decodeEtherType(type, b, at: o + 14, into: &p) }
        // 802.3 length field: LLC follows.
        guard let dsap = b.u8(o + 14), let ssap = b.u8(o + 15), let ctrl = b.u8(o + 16) else {
            return fail(.truncatedLink, &p)
        }
        guard dsap == 0xAA, ssap == 0xAA, ctrl == 0x03 else {
            // Plain LLC (STP, NetBIOS, ...) is not IP; an IP-over-LLC DSAP 0x06 is.
            if dsap == 0x06 && ssap == 0x06 { return decodeIPv4(b, at: o + 17, into: &p) }
            return fail(.notIP, &p)
        }
        guard let snapType = b.u16(o + 20) else { return fail(.truncatedLink, &p) }
        return decodeEtherType(snapType, b, at: o + 22, into: &p)
    }

    /// 802.1Q / 802.1ad tag: TCI (2) then the inner EtherType (2).
    func decodeVLAN(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let tci = b.u16(o), let inner = b.u16(o + 2) else { return fail(.truncatedVLAN, &p) }
        let id = tci & 0x0FFF
        switch p.vlanCount {
        case 0: p.vlan0 = id
        case 1: p.vlan1 = id
        case 2: p.vlan2 = id
        default: break
        }
        if p.vlanCount < 255 { p.vlanCount &+= 1 }
        if p.vlanCount > 8 { return fail(.encapsulationTooDeep, &p) }
        return decodeEtherType(inner, b, at: o + 4, into: &p)
    }

    /// MPLS label stack: 4-byte entries until the bottom-of-stack bit, then IP
    /// by its version nibble, or an Ethernet pseudowire behind a zero control word.
    func decodeMPLS(_ b: ByteView, at start: Int, into p: inout DecodedPacket) -> Bool {
        var o = start
        var labels = 0
        while true {
            guard let entry = b.u32(o) else { return fail(.truncatedMPLS, &p) }
            o += 4
            labels += 1
            if entry & 0x100 != 0 { break }
            if labels >= 16 { return fail(.encapsulationTooDeep, &p) }
        }
        guard let first = b.u8(o) else { return fail(.truncatedMPLS, &p) }
        switch first >> 4 {
        case 4: return decodeIPv4(b, at: o, into: &p)
        case 6: return decodeIPv6(b, at: o, into: &p)
        case 0:
            // Pseudowire control word, then an Ethernet frame.
            guard p.encapsulationDepth < maxEncapsulation else { return fail(.encapsulationTooDeep, &p) }
            p.encapsulationDepth &+= 1
            return decodeEthernet(b, at: o + 4, into: &p)
        default: return fail(.notIP, &p)
        }
    }
}
