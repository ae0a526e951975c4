/// Why a packet was skipped. Malformed traffic is data, not an error: the
/// decoder sets one of these and the caller bumps a counter.
public enum Anomaly: UInt8, CaseIterable, Sendable {
    case none = 0
    // Not malformed, just not something a flow is made of.
    case notIP
    case unsupportedPPPProtocol
    case unsupportedGREProtocol
    // Malformed: a header cut off by the capture, or inconsistent lengths.
    case truncatedLink
    case truncatedVLAN
    case truncatedMPLS
    case truncatedPPP
    case truncatedPPPoE
    case truncatedIPv4
    case ipv4BadHeaderLength
    case ipv4BadTotalLength
    case truncatedIPv6
    case truncatedIPv6Extension
    case ipv6TooManyExtensions
    case ipLengthExceedsWire
    case badIPVersion
    case truncatedTCP
    case tcpBadDataOffset
    case truncatedUDP
    case udpBadLength
    case truncatedICMP
    case truncatedSCTP
    case truncatedGRE
    case truncatedVXLAN
    case truncatedERSPAN
    case encapsulationTooDeep

    /// The snake_case name used in summaries and stats records.
    public var name: String {
        switch self {
        case .none: "none"
        case .notIP: "not_ip"
        case .unsupportedPPPProtocol: "unsupported_ppp_protocol"
        case .unsupportedGREProtocol: "unsupported_gre_protocol"
        case .truncatedLink: "truncated_link_header"
        case .truncatedVLAN: "truncated_vlan"
        case .truncatedMPLS: "truncated_mpls"
        case .truncatedPPP: "truncated_ppp"
        case .truncatedPPPoE: "truncated_pppoe"
        case .truncatedIPv4: "truncated_ipv4"
        case .ipv4BadHeaderLength: "ipv4_bad_header_length"
        case .ipv4BadTotalLength: "ipv4_bad_total_length"
        case .truncatedIPv6: "truncated_ipv6"
        case .truncatedIPv6Extension: "truncated_ipv6_extension"
        case .ipv6TooManyExtensions: "ipv6_too_many_extensions"
        case .ipLengthExceedsWire: "ip_length_exceeds_wire"
        case .badIPVersion: "bad_ip_version"
        case .truncatedTCP: "truncated_tcp"
        case .tcpBadDataOffset: "tcp_bad_data_offset"
        case .truncatedUDP: "truncated_udp"
        case .udpBadLength: "udp_bad_length"
        case .truncatedICMP: "truncated_icmp"
        case .truncatedSCTP: "truncated_sctp"
        case .truncatedGRE: "truncated_gre"
        case .truncatedVXLAN: "truncated_vxlan"
        case .truncatedERSPAN: "truncated_erspan"
        case .encapsulationTooDeep: "encapsulation_too_deep"
        }
    }

    /// True for packets that are broken, as opposed to simply not IP.
    public var isMalformed: Bool {
        switch self {
        case .none, .notIP, .unsupportedPPPProtocol, .unsupportedGREProtocol: false
        default: true
        }
    }
}

/// Fixed-size per-reason counters; no allocation when bumped.
public struct AnomalyCounters: Sendable {
    public var counts: [UInt64]
    public init() { counts = Array(repeating: 0, count: Anomaly.allCases.count) }
    public mutating func bump(_ a: Anomaly) { counts[Int(a.rawValue)] &+= 1 }
    public subscript(_ a: Anomaly) -> UInt64 { counts[Int(a.rawValue)] }
    public mutating func merge(_ o: AnomalyCounters) {
        for i in counts.indices { counts[i] &+= o.counts[i] }
    }
    public var totalSkipped: UInt64 { counts.dropFirst().reduce(0, &+) }
}
