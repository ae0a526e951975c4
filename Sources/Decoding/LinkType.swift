/// Link layers the decoder understands, mapped from libpcap's DLT values.
public enum LinkType: Sendable, Equatable {
    case ethernet
    case linuxSLL
    case linuxSLL2
    case rawIP
    case rawIPv4
    case rawIPv6
    case bsdNull       // DLT_NULL: 4-byte address family in the writer's byte order
    case bsdLoop       // DLT_LOOP: 4-byte address family in network byte order
    case ppp           // DLT_PPP / DLT_PPP_SERIAL: optional ff 03, then protocol
    case pppEther      // DLT_PPP_ETHER: PPPoE session header without Ethernet
    case ciscoHDLC     // DLT_C_HDLC: address, control, ethertype

    /// Maps a libpcap DLT value (what `pcap_datalink` returns) to a link type,
    /// or nil when the link type is not supported.
    public init?(dlt: Int32) {
        switch dlt {
        case 1: self = .ethernet                 // DLT_EN10MB
        case 113: self = .linuxSLL               // DLT_LINUX_SLL
        case 276: self = .linuxSLL2              // DLT_LINUX_SLL2
        case 12, 14, 101: self = .rawIP          // DLT_RAW (Linux 12, OpenBSD 14), LINKTYPE_RAW 101
        case 228: self = .rawIPv4                // DLT_IPV4
        case 229: self = .rawIPv6                // DLT_IPV6
        case 0: self = .bsdNull                  // DLT_NULL
        case 108: self = .bsdLoop                // DLT_LOOP
        case 9, 50: self = .ppp                  // DLT_PPP, DLT_PPP_SERIAL
        case 51: self = .pppEther                // DLT_PPP_ETHER
        case 104: self = .ciscoHDLC              // DLT_C_HDLC
        default: return nil
        }
    }
}
