/// One decode chain over a fixed set of layers. `decode` fills a reused
/// `DecodedPacket` in place and never allocates. Each protocol lives in its
/// own file as an extension (`PacketDecoder+IPv4.swift`, ...); dispatch on
/// the next-protocol value happens in `decodeEtherType` and
/// `decodeIPPayload`.
public struct PacketDecoder: Sendable {
    public let linkType: LinkType
    /// Tunnels (GRE, VXLAN, IP-in-IP, MPLS pseudowires) followed at most this deep.
    public var maxEncapsulation: UInt8

    public init(linkType: LinkType, maxEncapsulation: UInt8 = 4) {
        self.linkType = linkType
        self.maxEncapsulation = maxEncapsulation
    }

    /// Decodes one captured packet. Returns true when the packet carries an IP
    /// flow; false with `p.anomaly` set when it was skipped (not IP, or
    /// malformed). `bytes` is borrowed for the call only.
    public func decode(_ bytes: ByteView, wireLength: Int, timestampNs: Int64,
                       into p: inout DecodedPacket) -> Bool {
        p.reset()
        p.timestampNs = PacketTime.clamp(timestampNs)
        p.wireLength = max(wireLength, bytes.count)
        p.capturedLength = bytes.count
        let ok: Bool
        switch linkType {
        case .ethernet: ok = decodeEthernet(bytes, at: 0, into: &p)
        case .linuxSLL: ok = decodeSLL(bytes, into: &p)
        case .linuxSLL2: ok = decodeSLL2(bytes, into: &p)
        case .rawIP: ok = decodeRawIP(bytes, at: 0, into: &p)
        case .rawIPv4: ok = decodeIPv4(bytes, at: 0, into: &p)
        case .rawIPv6: ok = decodeIPv6(bytes, at: 0, into: &p)
        case .bsdNull, .bsdLoop: ok = decodeLoopback(bytes, into: &p)
        case .ppp: ok = decodePPP(bytes, at: 0, into: &p)
        case .pppEther: ok = decodePPPoESession(bytes, at: 0, into: &p)
        case .ciscoHDLC:
            guard let type = bytes.u16(2) else { return fail(.truncatedLink, &p) }
            ok = decodeEtherType(type, bytes, at: 4, into: &p)
        }
        return ok
    }

    func fail(_ a: Anomaly, _ p: inout DecodedPacket) -> Bool {
        p.anomaly = a
        return false
    }

    /// Raw IP: the version nibble says which.
    func decodeRawIP(_ b: ByteView, at o: Int, into p: inout DecodedPacket) -> Bool {
        guard let v = b.u8(o) else { return fail(.truncatedLink, &p) }
        switch v >> 4 {
        case 4: return decodeIPv4(b, at: o, into: &p)
        case 6: return decodeIPv6(b, at: o, into: &p)
        default: return fail(.badIPVersion, &p)
        }
    }

    /// Next-protocol dispatch for everything that names its payload with an
    /// EtherType (Ethernet, VLAN, SLL, GRE, Cisco HDLC).
    func decodeEtherType(_ type: UInt16, _ b: ByteView, at o: Int,
                         into p: inout DecodedPacket) -> Bool {
        switch type {
        case 0x0800: return decodeIPv4(b, at: o, into: &p)
        case 0x86DD: return decodeIPv6(b, at: o, into: &p)
        case 0x8100, 0x88A8, 0x9100, 0x9200: return decodeVLAN(b, at: o, into: &p)
        case 0x8847, 0x8848: return decodeMPLS(b, at: o, into: &p)
        case 0x8864: return decodePPPoESession(b, at: o, into: &p)
        default: return fail(.notIP, &p)
        }
    }

    /// Next-protocol dispatch above IP.
    func decodeIPPayload(_ proto: UInt8, _ b: ByteView, at o: Int, end: Int,
                         into p: inout DecodedPacket) -> Bool {
        if p.isNonFirstFragment {
            // No transport header here: the flow is found by the fragment id.
            p.payloadOffset = o
            p.payloadLength = max(0, end - o)
            return true
        }
        switch proto {
        case IPProto.tcp: return decodeTCP(b, at: o, end: end, into: &p)
        case IPProto.udp: return decodeUDP(b, at: o, end: end, into: &p)
        case IPProto.icmp, IPProto.icmpv6: return decodeICMP(b, at: o, end: end, into: &p)
        case IPProto.gre: return decodeGRE(b, at: o, end: end, into: &p)
        case IPProto.sctp: return decodeSCTP(b, at: o, end: end, into: &p)
        case IPProto.ipip:
            guard enterTunnel(.ipInIP, &p) else { return false }
            return decodeIPv4(b, at: o, into: &p)
        case IPProto.ipv6:
            guard enterTunnel(.ipInIP, &p) else { return false }
            return decodeIPv6(b, at: o, into: &p)
        default:
            // A protocol-only flow: no ports.
            p.payloadOffset = o
            p.payloadLength = max(0, end - o)
            return true
        }
    }

    /// Records the outer endpoints of the outermost tunnel and checks depth.
    func enterTunnel(_ kind: TunnelKind, _ p: inout DecodedPacket) -> Bool {
        if p.encapsulationDepth >= maxEncapsulation {
            return fail(.encapsulationTooDeep, &p)
        }
        if p.tunnel == .none {
            p.tunnel = kind
            p.tunnelSrc = p.src
            p.tunnelDst = p.dst
        }
        p.encapsulationDepth &+= 1
        // The inner packet starts afresh.
        p.isFragment = false
        p.fragmentOffset = 0
        p.moreFragments = false
        return true
    }
}
