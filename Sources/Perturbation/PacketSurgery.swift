import Decoding

/// Where the editable headers of one packet sit in its bytes: an untunnelled,
/// unfragmented IPv4 or IPv6 (no extension headers) packet carrying TCP, UDP
/// or ICMP, captured whole. Anything else is left as it was.
struct PacketLayout: Sendable {
    var ipOffset: Int
    var ipVersion: UInt8
    var proto: UInt8
    var l4Offset: Int
    var payloadOffset: Int
    var payloadLength: Int

    init(ipOffset: Int, ipVersion: UInt8 = 4, proto: UInt8, l4Offset: Int, payloadOffset: Int, payloadLength: Int) {
        self.ipOffset = ipOffset
        self.ipVersion = ipVersion
        self.proto = proto
        self.l4Offset = l4Offset
        self.payloadOffset = payloadOffset
        self.payloadLength = payloadLength
    }

    init?(_ p: DecodedPacket, bytes: [UInt8]) {
        guard p.tunnel == .none, p.encapsulationDepth == 0, !p.isFragment,
              p.capturedLength == p.wireLength, p.capturedLength == bytes.count,
              p.proto == IPProto.tcp || p.proto == IPProto.udp || p.proto == IPProto.icmp || p.proto == IPProto.icmpv6,
              p.payloadOffset + p.payloadLength <= bytes.count else { return nil }
        let o = p.ipOffset
        switch p.ipVersion {
        case 4:
            guard o + 20 <= bytes.count else { return nil }
            l4Offset = o + Int(bytes[o] & 0x0f) * 4
        case 6:
            guard o + 40 <= bytes.count, bytes[o + 6] == p.proto else { return nil }
            l4Offset = o + 40
        default: return nil
        }
        guard l4Offset <= p.payloadOffset else { return nil }
        ipOffset = o
        ipVersion = p.ipVersion
        proto = p.proto
        payloadOffset = p.payloadOffset
        payloadLength = p.payloadLength
    }

    var isTCP: Bool { proto == IPProto.tcp }
    var payloadEnd: Int { payloadOffset + payloadLength }
}

/// Edits of one packet's bytes that keep its headers consistent: lengths,
/// the IPv4 header checksum and the TCP/UDP/ICMPv6 checksum are recomputed
/// after every edit, so tshark reads the result as a well-formed packet.
enum PacketSurgery {
    static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }
    static func put16(_ b: inout [UInt8], _ o: Int, _ v: UInt16) { b[o] = UInt8(v >> 8); b[o + 1] = UInt8(v & 0xff) }
    static func put32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) {
        for i in 0..<4 { b[o + i] = UInt8((v >> (24 - 8 * UInt32(i))) & 0xff) }
    }

    static func tcpFlags(_ b: [UInt8], _ l: PacketLayout) -> UInt8 { b[l.l4Offset + 13] }
    static func seq(_ b: [UInt8], _ l: PacketLayout) -> UInt32 { u32(b, l.l4Offset + 4) }
    static func ack(_ b: [UInt8], _ l: PacketLayout) -> UInt32 { u32(b, l.l4Offset + 8) }

    /// The packet with `payload` in place of its payload (anything the link
    /// layer had after the IP datagram, such as Ethernet padding, is dropped).
    static func replacingPayload(_ b: [UInt8], _ l: PacketLayout, with payload: ArraySlice<UInt8>) -> ([UInt8], PacketLayout) {
        var out = Array(b[0..<l.payloadOffset])
        out.append(contentsOf: payload)
        var nl = l
        nl.payloadLength = payload.count
        fixLengths(&out, nl)
        return (out, nl)
    }

    /// Sets the IP and UDP length fields from the bytes, then the checksums.
    static func fixLengths(_ b: inout [UInt8], _ l: PacketLayout) {
        let end = l.payloadEnd
        if l.ipVersion == 4 {
            put16(&b, l.ipOffset + 2, UInt16(end - l.ipOffset))
        } else {
            put16(&b, l.ipOffset + 4, UInt16(end - l.ipOffset - 40))
        }
        if l.proto == IPProto.udp { put16(&b, l.l4Offset + 4, UInt16(end - l.l4Offset)) }
        fixChecksums(&b, l)
    }

    static func fixChecksums(_ b: inout [UInt8], _ l: PacketLayout) {
        if l.ipVersion == 4 {
            let hl = l.l4Offset - l.ipOffset
            put16(&b, l.ipOffset + 10, 0)
            put16(&b, l.ipOffset + 10, ~fold(sum(b, l.ipOffset, hl)))
        }
        // IPv4 ICMP has no pseudo-header; TCP, UDP and ICMPv6 do.
        let at: Int
        switch l.proto {
        case IPProto.tcp: at = l.l4Offset + 16
        case IPProto.udp: at = l.l4Offset + 6
        case IPProto.icmp, IPProto.icmpv6: at = l.l4Offset + 2
        default: return
        }
        guard at + 2 <= b.count else { return }
        put16(&b, at, 0)
        let len = l.payloadEnd - l.l4Offset
        var s = sum(b, l.l4Offset, len)
        if l.proto != IPProto.icmp {
            if l.ipVersion == 4 {
                s += sum(b, l.ipOffset + 12, 8)
            } else {
                s += sum(b, l.ipOffset + 8, 32)
            }
            s += UInt32(l.proto) + UInt32(len)
        }
        var c = ~fold(s)
        if l.proto == IPProto.udp && c == 0 { c = 0xffff }
        put16(&b, at, c)
    }

    static func sum(_ b: [UInt8], _ from: Int, _ count: Int) -> UInt32 {
        var s: UInt32 = 0
        var i = from
        let end = from + count
        while i + 1 < end { s &+= UInt32(b[i]) << 8 | UInt32(b[i + 1]); i += 2 }
        if i < end { s &+= UInt32(b[i]) << 8 }
        return s
    }

    static func fold(_ s: UInt32) -> UInt16 {
        var s = s
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return UInt16(s)
    }
}
