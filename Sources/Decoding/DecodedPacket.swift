/// IP protocol numbers the decoder gives meaning to.
public enum IPProto {
    public static let icmp: UInt8 = 1
    public static let ipip: UInt8 = 4
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let ipv6: UInt8 = 41
    public static let gre: UInt8 = 47
    public static let esp: UInt8 = 50
    public static let ah: UInt8 = 51
    public static let icmpv6: UInt8 = 58
    public static let sctp: UInt8 = 132
}

/// TCP flag bits as they sit in byte 13 of the TCP header.
public enum TCPFlag {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
    public static let urg: UInt8 = 0x20
    public static let ece: UInt8 = 0x40
    public static let cwr: UInt8 = 0x80
}

/// The range of packet timestamps the sensor works with: nanoseconds since
/// 1970 from 0 to 2^62 (the year 2116). Capture readers and the decoder clamp
/// into it, so that time arithmetic (differences, timeouts, sweeps) on any
/// two timestamps can never overflow, whatever a hostile file claims.
public enum PacketTime {
    public static let maxNs: Int64 = 1 << 62
    public static let maxSeconds: Int64 = maxNs / 1_000_000_000

    @inline(__always)
    public static func clamp(_ ns: Int64) -> Int64 { min(max(ns, 0), maxNs) }
}

/// How the flow's packets reached us, when they came inside a tunnel.
public enum TunnelKind: UInt8, Sendable {
    case none = 0, gre, vxlan, ipInIP, erspan
    public var name: String { String(describing: staticName) }
    public var staticName: StaticString {
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
public struct DecodedPacket: Sendable {
    public var timestampNs: Int64 = 0
    /// The packet's number in its capture thread's input, from 1 (as
    /// Suricata's `pcap_cnt`); set by `PacketPipeline`, not by the decoder.
    public var packetNumber: UInt64 = 0
    public var wireLength: Int = 0
    public var capturedLength: Int = 0

    /// Up to three VLAN ids, outermost first.
    public var vlanCount: UInt8 = 0
    public var vlan0: UInt16 = 0
    public var vlan1: UInt16 = 0
    public var vlan2: UInt16 = 0

    public var ipVersion: UInt8 = 0
    public var src = IPAddress.zero
    public var dst = IPAddress.zero
    public var proto: UInt8 = 0
    public var ttl: UInt8 = 0
    /// Bytes of the IP datagram as its header states them (NetFlow's count).
    public var ipLength: Int = 0
    /// Offset of the IP header in the captured bytes.
    public var ipOffset: Int = 0

    /// Ports, or for ICMP the type and the counterpart type or code.
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var hasPorts: Bool = false
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0

    public var tcpFlags: UInt8 = 0
    public var tcpWindow: UInt16 = 0
    public var tcpSeq: UInt32 = 0

    /// Payload (above TCP/UDP/ICMP, or above IP for other protocols) as the
    /// headers state it, and where it starts in the captured bytes.
    public var payloadLength: Int = 0
    public var payloadOffset: Int = 0

    /// IPv4/IPv6 fragment information.
    public var isFragment: Bool = false
    public var fragmentOffset: UInt16 = 0
    public var moreFragments: Bool = false
    public var fragmentID: UInt32 = 0

    /// Outermost tunnel, if the flow was carried inside one.
    public var tunnel: TunnelKind = .none
    public var tunnelSrc = IPAddress.zero
    public var tunnelDst = IPAddress.zero
    public var encapsulationDepth: UInt8 = 0

    public var anomaly: Anomaly = .none

    public init() {}

    /// Back to `DecodedPacket()`, by zeroing the bytes: every field's default
    /// is all-zero bytes (numbers, `IPAddress.zero`, `false`, and the enums'
    /// first cases `.none`), in place, with no fresh value built and copied in
    /// (tested field by field against `init()`).
    public mutating func reset() {
        withUnsafeMutableBytes(of: &self) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
    }

    /// True for a non-first IP fragment: it carries no transport header.
    public var isNonFirstFragment: Bool { isFragment && fragmentOffset != 0 }
}
