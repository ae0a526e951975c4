import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// PACKET_FANOUT modes (linux/if_packet.h). `.hash` spreads by a symmetric
/// flow hash, so both directions of a flow reach the same member.
public enum FanoutMode: UInt32, Sendable {
    case hash = 0
    case loadBalance = 1
    case cpu = 2
    case rollover = 3
    case random = 4
    case queueMapping = 5
}

extension LiveCapture {
    /// The `setsockopt(PACKET_FANOUT)` argument: group id in the low 16 bits,
    /// mode and flags in the high 16. `defrag` adds PACKET_FANOUT_FLAG_DEFRAG
    /// (IP fragments are reassembled before hashing, so they stay with their flow).
    public static func fanoutArgument(groupID: UInt16, mode: FanoutMode, defrag: Bool = true) -> UInt32 {
        let flags: UInt32 = defrag ? UInt32(FS_PACKET_FANOUT_FLAG_DEFRAG) : 0
        return UInt32(groupID) | ((mode.rawValue | flags) << 16)
    }

    /// Joins libpcap's packet socket to a PACKET_FANOUT group (libpcap has no
    /// API for it, so this is `setsockopt(pcap_fileno(handle), SOL_PACKET,
    /// PACKET_FANOUT, …)`). Do it right after activation, before traffic is
    /// relied on: packets already in the ring were not spread. All members of
    /// a group must be on the same interface with the same mode and flags.
    public func joinFanout(groupID: UInt16, mode: FanoutMode = .hash, defrag: Bool = true) throws(LiveCaptureError) {
        let sock = pcap_fileno(handle)
        guard sock >= 0 else {
            throw .fanoutFailed(interface: interface, groupID: groupID, reason: "libpcap has no socket for this handle")
        }
        let rc = fs_packet_fanout(sock, Self.fanoutArgument(groupID: groupID, mode: mode, defrag: defrag))
        if rc != 0 {
            let err = -rc
            var reason = String(cString: strerror(err))
            if err == EINVAL { reason += " (group exists with another mode/flags or on another interface)" }
            if err == EALREADY { reason += " (this handle is already in a fanout group)" }
            throw .fanoutFailed(interface: interface, groupID: groupID, reason: reason)
        }
        fanoutGroup = groupID
    }
}
