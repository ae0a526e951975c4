extension PacketDecoder {
    /// TCP header:
    ///
    ///     0 src port (2) | 2 dst port (2) | 4 seq (4) | 8 ack (4)
    ///     12 data offset/reserved | 13 flags | 14 window (2) | 16 checksum | 18 urgent | 20 options
    func decodeTCP(_ b: ByteView, at o: Int, end: Int, into p: inout DecodedPacket) -> Bool {
        guard b.has(o, 20), let sp = b.u16(o), let dp = b.u16(o + 2), let seq = b.u32(o + 4),
              let off = b.u8(o + 12), let flags = b.u8(o + 13), let win = b.u16(o + 14)
        else { return fail(.truncatedTCP, &p) }
        let hlen = Int(off >> 4) * 4
        guard hlen >= 20, o + hlen <= end else { return fail(.tcpBadDataOffset, &p) }
        guard b.has(o, hlen) else { return fail(.truncatedTCP, &p) }
        p.srcPort = sp
        p.dstPort = dp
        p.hasPorts = true
        p.tcpSeq = seq
        p.tcpFlags = flags
        p.tcpWindow = win
        p.payloadOffset = o + hlen
        p.payloadLength = end - (o + hlen)
        return true
    }

    /// UDP header: src port (2), dst port (2), length (2), checksum (2).
    /// UDP 4789 carries VXLAN, decapsulated to the inner flow.
    func decodeUDP(_ b: ByteView, at o: Int, end: Int, into p: inout DecodedPacket) -> Bool {
        guard let sp = b.u16(o), let dp = b.u16(o + 2), let len = b.u16(o + 4), b.has(o, 8)
        else { return fail(.truncatedUDP, &p) }
        guard o + 8 <= end else { return fail(.udpBadLength, &p) }
        if Int(len) < 8 && !p.isFragment { return fail(.udpBadLength, &p) }
        p.srcPort = sp
        p.dstPort = dp
        p.hasPorts = true
        p.payloadOffset = o + 8
        p.payloadLength = end - (o + 8)
        if dp == 4789 && !p.isFragment {
            return decodeVXLAN(b, at: o + 8, into: &p)
        }
        return true
    }

    /// SCTP common header: src port (2), dst port (2), verification tag (4), checksum (4).
    func decodeSCTP(_ b: ByteView, at o: Int, end: Int, into p: inout DecodedPacket) -> Bool {
        guard let sp = b.u16(o), let dp = b.u16(o + 2), b.has(o, 12) else { return fail(.truncatedSCTP, &p) }
        guard o + 12 <= end else { return fail(.truncatedSCTP, &p) }
        p.srcPort = sp
        p.dstPort = dp
        p.hasPorts = true
        p.payloadOffset = o + 12
        p.payloadLength = end - (o + 12)
        return true
    }

    /// ICMP / ICMPv6: type (1), code (1), checksum (2). Type and code stand
    /// in for ports as Zeek and Community ID do: the source port is the type,
    /// the destination port the counterpart type for request/response pairs,
    /// else the code.
    func decodeICMP(_ b: ByteView, at o: Int, end: Int, into p: inout DecodedPacket) -> Bool {
        guard let type = b.u8(o), let code = b.u8(o + 1), b.has(o, 4), o + 4 <= end
        else { return fail(.truncatedICMP, &p) }
        p.icmpType = type
        p.icmpCode = code
        p.srcPort = UInt16(type)
        if let counterpart = ICMPPairs.counterpart(type: type, v6: p.proto == IPProto.icmpv6) {
            p.dstPort = UInt16(counterpart)
        } else {
            p.dstPort = UInt16(code)
        }
        p.hasPorts = true
        p.payloadOffset = o + 4
        p.payloadLength = end - (o + 4)
        return true
    }
}

/// ICMP request/response type pairs (as in the Community ID spec).
public enum ICMPPairs {
    public static func counterpart(type: UInt8, v6: Bool) -> UInt8? {
        if v6 {
            switch type {
            case 128: 129
            case 129: 128
            case 133: 134
            case 134: 133
            case 135: 136
            case 136: 135
            case 130: 131
            case 131: 130
            case 139: 140
            case 140: 139
            case 144: 145
            case 145: 144
            default: nil
            }
        } else {
            switch type {
            case 8: 0
            case 0: 8
            case 13: 14
            case 14: 13
            case 15: 16
            case 16: 15
            case 10: 9
            case 9: 10
            case 17: 18
            case 18: 17
            default: nil
            }
        }
    }
}
