extension PacketDecoder {
    /// GRE (RFC 2784/2890, and PPTP's enhanced GRE version 1):
    ///
    ///     0 flags/version (2) | 2 protocol type (2) | [checksum+reserved (4)] [key (4)] [seq (4)] [ack (4, v1)]
    ///
    /// Payloads: IPv4, IPv6, transparent Ethernet bridging, MPLS, PPP (v1),
    /// and ERSPAN type II/III (port mirroring).
    func decodeGRE(_ b: ByteView, at o: Int, end: Int, into p: inout DecodedPacket) -> Bool {
        guard let fv = b.u16(o), let proto = b.u16(o + 2) else { return fail(.truncatedGRE, &p) }
        let version = fv & 0x7
        var h = o + 4
        if fv & 0x8000 != 0 { h += 4 }       // checksum present
        if fv & 0x2000 != 0 { h += 4 }       // key present
        if fv & 0x1000 != 0 { h += 4 }       // sequence present
        if version == 1 && fv & 0x0080 != 0 { h += 4 }  // acknowledgment (PPTP)
        if fv & 0x4000 != 0 && version == 0 { return fail(.unsupportedGREProtocol, &p) }  // source routing
        guard b.has(o, h - o), h <= end else { return fail(.truncatedGRE, &p) }
        guard enterTunnel(.gre, &p) else { return false }
        switch proto {
        case 0x0800: return decodeIPv4(b, at: h, into: &p)
        case 0x86DD: return decodeIPv6(b, at: h, into: &p)
        case 0x6558: return decodeEthernet(b, at: h, into: &p)
        case 0x8847, 0x8848: return decodeMPLS(b, at: h, into: &p)
        case 0x880B: return decodePPP(b, at: h, into: &p)
        case 0x88BE:
            // ERSPAN type II: 8-byte header, then the mirrored Ethernet frame.
            // (Without the sequence bit it is type I: no header at all.)
            if p.tunnel == .gre { p.tunnel = .erspan }
            let skip = fv & 0x1000 != 0 ? 8 : 0
            guard b.has(h, skip) else { return fail(.truncatedERSPAN, &p) }
            return decodeEthernet(b, at: h + skip, into: &p)
        case 0x22EB:
            // ERSPAN type III: 12-byte header (+8 optional platform subheader).
            if p.tunnel == .gre { p.tunnel = .erspan }
            guard let w = b.u8(h + 11) else { return fail(.truncatedERSPAN, &p) }
            let skip = 12 + (w & 0x01 != 0 ? 8 : 0)
            guard b.has(h, skip) else { return fail(.truncatedERSPAN, &p) }
            return decodeEthernet(b, at: h + skip, into: &p)
        default: return fail(.unsupportedGREProtocol, &p)
        }
    }

    /// VXLAN (RFC 7348): flags (1, I bit 0x08), reserved (3), VNI (3), reserved (1),
    /// then an Ethernet frame.
    func decodeVXLAN(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let flags = b.u8(o), b.has(o, 8) else { return fail(.truncatedVXLAN, &p) }
        // Not VXLAN after all (the I flag is mandatory): keep it as a UDP flow.
        guard flags & 0x08 != 0 else { return true }
        guard enterTunnel(.vxlan, &p) else { return false }
        p.srcPort = 0; p.dstPort = 0; p.hasPorts = false
        return decodeEthernet(b, at: o + 8, into: &p)
    }
}
