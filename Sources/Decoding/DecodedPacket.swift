/// IP protocol numbers the decoder gives meaning to.
package enum IPProto {
    package static let icmp: UInt8 = 1
    package static let ipip: UInt8 = 4
    package static let tcp: UInt8 = 6
    package static let udp: UInt8 = 17
    package static let ipv6: UInt8 = 41
    package static let gre: UInt8 = 47
    package static let esp: UInt8 = 50
    package static let ah: UInt8 = 51
    package static let icmpv6: UInt8 = 58
    package static let sctp: UInt8 = 132
}

/// TCP flag bits as they sit in byte 13 of the TCP header.
package enum TCPFlag {
    package static let fin: UInt8 = 0x01
    package static let syn: UInt8 = 0x02
    package static let rst: UInt8 = 0x04
    package static let psh: UInt8 = 0x08
    package static let ack: UInt8 = 0x10
    package static let urg: UInt8 = 0x20
    package static let ece: UInt8 = 0x40
    package static let cwr: UInt8 = 0x80
}

/// The range of packet timestamps the sensor works with: nanoseconds since
/// 1970 from 0 to 2^62 (the year 2116). Capture readers and the decoder clamp
/// into it, so that time arithmetic (differences, timeouts, sweeps) on any
/// two timestamps can never overflow, whatever a hostile file claims.
package enum PacketTime {
    package static let maxNs: Int64 = 1 << 62
    package static let maxSeconds: Int64 = maxNs / 1_000_000_000

    @inlinable @inline(__always)
    package static func clamp(_ ns: Int64) -> Int64 { min(max(ns, 0), maxNs) }
}

/// How the flow's packets reached us, when they came inside a tunnel.
package enum TunnelKind: UInt8, Sendable {
    case none = 0, gre, vxlan, ipInIP, erspan
    package var name: String { String(describing: staticName) }
    package var staticName: StaticString {
        switch self {
        case .none: "none"
        case .gre: "GRE"
        case .vxlan: "VXLAN"
        case .ipInIP: "IP-in-IP"
        case .erspan: "ERSPAN"
        }
    }
}

/// The result of decoding one packet: a small value of fields and offsets.
/// One instance is reused for every packet; `reset()` clears it in place.
package struct DecodedPacket: Sendable {
    package var timestampNs: Int64 = 0
    package var wireLength: Int = 0
    package var capturedLength: Int = 0

    /// Up to three VLAN ids, outermost first.
    package var vlanCount: UInt8 = 0
    package var vlan0: UInt16 = 0
    package var vlan1: UInt16 = 0
    package var vlan2: UInt16 = 0

    package var ipVersion: UInt8 = 0
    package var src = IPAddress.zero
    package var dst = IPAddress.zero
    package var proto: UInt8 = 0
    package var ttl: UInt8 = 0
    /// Bytes of the IP datagram as its header states them (NetFlow's count).
    package var ipLength: Int = 0
    /// Offset of the IP header in the captured bytes.
    package var ipOffset: Int = 0

    /// Ports, or for ICMP the type and the counterpart type or code.
    package var srcPort: UInt16 = 0
    package var dstPort: UInt16 = 0
    package var hasPorts: Bool = false
    package var icmpType: UInt8 = 0
    package var icmpCode: UInt8 = 0

    package var tcpFlags: UInt8 = 0
    package var tcpWindow: UInt16 = 0
    package var tcpSeq: UInt32 = 0

    /// Payload (above TCP/UDP/ICMP, or above IP for other protocols) as the
    /// headers state it, and where it starts in the captured bytes.
    package var payloadLength: Int = 0
    package var payloadOffset: Int = 0

    /// IPv4/IPv6 fragment information.
    package var isFragment: Bool = false
    package var fragmentOffset: UInt16 = 0
    package var moreFragments: Bool = false
    package var fragmentID: UInt32 = 0

    /// Outermost tunnel, if the flow was carried inside one.
    package var tunnel: TunnelKind = .none
    package var tunnelSrc = IPAddress.zero
    package var tunnelDst = IPAddress.zero
    package var encapsulationDepth: UInt8 = 0

    package var anomaly: Anomaly = .none

    package init() {}

    /// Back to `DecodedPacket()`, by zeroing the bytes: every field's default
    /// is all-zero bytes (numbers, `IPAddress.zero`, `false`, and the enums'
    /// first cases `.none`). Assigning a fresh value built it on the stack and
    /// copied it in, per packet (tested field by field against `init()`).
    @inlinable
    package mutating func reset() {
        withUnsafeMutableBytes(of: &self) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
    }

    /// True for a non-first IP fragment: it carries no transport header.
    @inlinable package var isNonFirstFragment: Bool { isFragment && fragmentOffset != 0 }
}
