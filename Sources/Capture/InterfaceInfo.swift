import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// Receive/segmentation offloads of an interface. GRO and LRO merge received
/// packets before capture, which corrupts packet-size features: warn when on.
/// nil means the driver does not report that setting.
public struct InterfaceOffloads: Sendable, Equatable, CustomStringConvertible {
    public var gro: Bool?
    public var lro: Bool?
    public var gso: Bool?
    public var tso: Bool?

    public init(gro: Bool? = nil, lro: Bool? = nil, gso: Bool? = nil, tso: Bool? = nil) {
        self.gro = gro
        self.lro = lro
        self.gso = gso
        self.tso = tso
    }

    /// True when GRO or LRO is on: captured packets may be merged.
    public var mergesReceivedPackets: Bool { gro == true || lro == true }

    public var description: String {
        func s(_ v: Bool?) -> String { v.map { $0 ? "on" : "off" } ?? "unknown" }
        return "gro \(s(gro)), lro \(s(lro)), gso \(s(gso)), tso \(s(tso))"
    }

    /// A warning for the operator when received packets may be merged.
    public func warning(interface: String) -> String? {
        guard mergesReceivedPackets else { return nil }
        let on = [gro == true ? "gro" : nil, lro == true ? "lro" : nil].compactMap { $0 }
        return "\(interface): \(on.joined(separator: " and ")) on: the NIC/kernel merges packets before capture, "
            + "so packet sizes and counts are wrong; turn off with 'ethtool -K \(interface) gro off lro off'"
    }
}

/// Interface queries through ioctl (no netlink): existence, up/down, offloads.
public enum InterfaceInfo {
    /// True when an interface of that name exists (in this network namespace).
    public static func exists(interface: String) -> Bool {
        if_nametoindex(interface) != 0
    }

    /// The IFF_* flags (SIOCGIFFLAGS).
    public static func flags(interface: String) throws(LiveCaptureError) -> UInt32 {
        var flags: UInt32 = 0
        let rc = fs_get_if_flags(interface, &flags)
        if rc != 0 { throw error(interface, "SIOCGIFFLAGS", -rc) }
        return flags
    }

    /// True when the interface is administratively up (IFF_UP).
    public static func isUp(interface: String) throws(LiveCaptureError) -> Bool {
        try flags(interface: interface) & UInt32(FS_IFF_UP) != 0
    }

    /// GRO, LRO, GSO and TSO through the ethtool ioctl (SIOCETHTOOL with
    /// ETHTOOL_GGRO, ETHTOOL_GFLAGS for LRO, ETHTOOL_GGSO, ETHTOOL_GTSO).
    public static func offloads(interface: String) throws(LiveCaptureError) -> InterfaceOffloads {
        guard exists(interface: interface) else {
            throw .noSuchInterface(interface: interface, reason: "if_nametoindex found nothing")
        }
        func get(_ cmd: UInt32, _ name: String) throws(LiveCaptureError) -> UInt32? {
            var value: UInt32 = 0
            let rc = fs_ethtool_get_value(interface, cmd, &value)
            if rc == 0 { return value }
            if -rc == EOPNOTSUPP || -rc == EINVAL { return nil }
            throw error(interface, "SIOCETHTOOL \(name)", -rc)
        }
        var o = InterfaceOffloads()
        o.gro = try get(UInt32(FS_ETHTOOL_GGRO), "ETHTOOL_GGRO").map { $0 != 0 }
        o.lro = try get(UInt32(FS_ETHTOOL_GFLAGS), "ETHTOOL_GFLAGS").map { $0 & UInt32(FS_ETH_FLAG_LRO) != 0 }
        o.gso = try get(UInt32(FS_ETHTOOL_GGSO), "ETHTOOL_GGSO").map { $0 != 0 }
        o.tso = try get(UInt32(FS_ETHTOOL_GTSO), "ETHTOOL_GTSO").map { $0 != 0 }
        return o
    }

    private static func error(_ interface: String, _ request: String, _ err: Int32) -> LiveCaptureError {
        let reason = String(cString: strerror(err))
        if err == ENODEV || err == ENXIO { return .noSuchInterface(interface: interface, reason: reason) }
        return .ioctlFailed(interface: interface, request: request, reason: reason)
    }
}
