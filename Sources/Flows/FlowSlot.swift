import Decoding
import Features

/// Timeout classes; each has its own LRU list so expiry only looks at list heads.
enum TimeoutClass: Int {
    case tcpNew = 0, tcpEstablished, tcpClosed, udpNew, udpEstablished
    case icmpNew, icmpEstablished, otherNew, otherEstablished
    static let count = 9
}

struct FlowSlot: Sendable {
    var key: FlowKey
    var clientIsA = true
    var inUse = false
    var hasPorts = false
    var sawReply = false
    var tcp = TCPTracker()
    var cls: UInt8 = 0
    var vlanCount: UInt8 = 0
    var tunnel: TunnelKind = .none
    var prev: Int32 = -1
    var next: Int32 = -1
    var segment: UInt32 = 0
    /// The key's tag in the stripe's index (see `FlowIndex`).
    var indexTag: UInt32 = 0
    var flowID: UInt64 = 0
    /// ICMP/ICMPv6: the first message each way as `ICMPMessage.encode`
    /// (0: none seen that way).
    var icmpToServer: UInt32 = 0
    var icmpToClient: UInt32 = 0
    /// The `packetNumber` of the flow's latest packet.
    var lastPacketNumber: UInt64 = 0
    var acc = FlowAccumulator()
    /// Outer endpoints, set (with `tunnel`) by a flow's first tunnelled
    /// packet; read only when `tunnel` is not `.none`. Last, and not cleared
    /// for a new flow: most flows never touch these lines.
    var tunnelSrc = IPAddress.zero
    var tunnelDst = IPAddress.zero

    init(key: FlowKey) { self.key = key }

    /// Makes this (free) slot a new flow, in place.
    @inline(__always)
    mutating func start(key: FlowKey, clientIsA: Bool, hasPorts: Bool, vlanCount: UInt8, tcp: TCPTracker,
                        flowID: UInt64, indexTag: UInt32) {
        self.key = key
        self.clientIsA = clientIsA
        inUse = true
        self.hasPorts = hasPorts
        sawReply = false
        self.tcp = tcp
        cls = 0
        self.vlanCount = vlanCount
        tunnel = .none
        prev = -1
        next = -1
        segment = 0
        self.indexTag = indexTag
        self.flowID = flowID
        icmpToServer = 0
        icmpToClient = 0
        acc.reset()  // the context too: the table writes it once the hosts are counted
    }
}

extension FlowSlot {
    /// Keeps the first ICMP message's type and code in each direction.
    @inline(__always)
    mutating func noteICMP(type: UInt8, code: UInt8, forward: Bool) {
        if forward {
            if icmpToServer == 0 { icmpToServer = ICMPMessage.encode(type: type, code: code) }
        } else if icmpToClient == 0 {
            icmpToClient = ICMPMessage.encode(type: type, code: code)
        }
    }
}
