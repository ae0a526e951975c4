extension PacketDecoder {
    /// PPP: optional HDLC address/control (ff 03), then a 1- or 2-byte protocol.
    func decodePPP(_ b: ByteView, at start: Int, into p: inout DecodedPacket) -> Bool {
        var o = start
        guard let first = b.u8(o) else { return fail(.truncatedPPP, &p) }
        if first == 0xFF {
            guard b.u8(o + 1) == 0x03 else { return fail(.truncatedPPP, &p) }
            o += 2
        }
        guard let hi = b.u8(o) else { return fail(.truncatedPPP, &p) }
        let proto: UInt16
        if hi & 0x01 == 1 {
            // Protocol-field compression: one byte.
            proto = UInt16(hi)
            o += 1
        } else {
            guard let v = b.u16(o) else { return fail(.truncatedPPP, &p) }
            proto = v
            o += 2
        }
        return decodePPPProtocol(proto, b, at: o, into: &p)
    }

    func decodePPPProtocol(_ proto: UInt16, _ b: ByteView, at o: Int,
                           into p: inout DecodedPacket) -> Bool {
        switch proto {
        case 0x0021: return decodeIPv4(b, at: o, into: &p)
        case 0x0057: return decodeIPv6(b, at: o, into: &p)
        case 0x0281, 0x0283: return decodeMPLS(b, at: o, into: &p)
        default: return fail(.unsupportedPPPProtocol, &p)
        }
    }

    /// PPPoE session stage (EtherType 0x8864):
    ///
    ///     0 ver/type (1) | 1 code (1) | 2 session id (2) | 4 length (2) | 6 PPP protocol (2)
    func decodePPPoESession(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let vt = b.u8(o), let proto = b.u16(o + 6) else { return fail(.truncatedPPPoE, &p) }
        guard vt == 0x11 else { return fail(.notIP, &p) }
        return decodePPPProtocol(proto, b, at: o + 8, into: &p)
    }
}
