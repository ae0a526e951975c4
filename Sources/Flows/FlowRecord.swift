import Decoding
import Features

/// Why a flow record ended.
public enum EndReason: UInt8, Sendable, CaseIterable {
    case tcpFin, tcpRst, idleTimeout, activeTimeout, evicted, shutdown, tcpReuse

    /// The `flow.reason` value in records. Suricata writes `timeout`,
    /// `forced` or `shutdown`; we keep its words where they mean the same and
    /// are more specific elsewhere (see docs/flow-records.md).
    public var name: String { String(describing: staticName) }
    public var staticName: StaticString {
        switch self {
        case .tcpFin: "tcp_fin"
        case .tcpRst: "tcp_rst"
        case .idleTimeout: "timeout"
        case .activeTimeout: "active_timeout"
        case .evicted: "evicted"
        case .shutdown: "shutdown"
        case .tcpReuse: "tcp_reuse"
        }
    }
}

/// TCP/flow state at the end, as Suricata's `flow.state`.
public enum FlowStateName: UInt8, Sendable {
    case new, established, closed
    public var name: String { String(describing: staticName) }
    public var staticName: StaticString {
        switch self {
        case .new: "new"
        case .established: "established"
        case .closed: "closed"
        }
    }
}

/// One finished flow: identity, counters, end reason and features. A value
/// (no references) so it can be queued and scored off the capture thread.
public struct FlowRecord: Sendable {
    public var key: FlowKey
    /// The client (initiator) and server endpoints.
    public var srcIP: IPAddress
    public var srcPort: UInt16
    public var dstIP: IPAddress
    public var dstPort: UInt16
    public var proto: UInt8
    public var hasPorts: Bool
    public var vlanCount: UInt8
    public var tunnel: TunnelKind
    public var tunnelSrc: IPAddress
    public var tunnelDst: IPAddress
    public var startNs: Int64
    public var endNs: Int64
    public var pktsToServer: UInt64
    public var pktsToClient: UInt64
    public var bytesToServer: UInt64
    public var bytesToClient: UInt64
    public var state: FlowStateName
    public var reason: EndReason
    /// Which record of a long flow this is (0, then 1, 2, … after active timeouts).
    public var segment: UInt32
    public var tcpFlagsToServer: UInt8
    public var tcpFlagsToClient: UInt8
    public var flowID: UInt64
    public var features: FeatureVector
    public var sequence: PacketSequence
    public var negativeIATs: UInt32
    /// When the table ended the record: the packet time that ended it, or the
    /// `now` of the expiry sweep (the wall clock when live).
    public var endedAtNs: Int64

    public init(key: FlowKey, srcIP: IPAddress, srcPort: UInt16, dstIP: IPAddress, dstPort: UInt16,
                proto: UInt8, hasPorts: Bool, vlanCount: UInt8, tunnel: TunnelKind,
                tunnelSrc: IPAddress, tunnelDst: IPAddress, startNs: Int64, endNs: Int64,
                pktsToServer: UInt64, pktsToClient: UInt64, bytesToServer: UInt64, bytesToClient: UInt64,
                state: FlowStateName, reason: EndReason, segment: UInt32,
                tcpFlagsToServer: UInt8, tcpFlagsToClient: UInt8, flowID: UInt64,
                features: FeatureVector = FeatureVector(), sequence: PacketSequence = PacketSequence(),
                negativeIATs: UInt32 = 0, endedAtNs: Int64) {
        self.key = key; self.srcIP = srcIP; self.srcPort = srcPort; self.dstIP = dstIP; self.dstPort = dstPort
        self.proto = proto; self.hasPorts = hasPorts; self.vlanCount = vlanCount; self.tunnel = tunnel
        self.tunnelSrc = tunnelSrc; self.tunnelDst = tunnelDst; self.startNs = startNs; self.endNs = endNs
        self.pktsToServer = pktsToServer; self.pktsToClient = pktsToClient
        self.bytesToServer = bytesToServer; self.bytesToClient = bytesToClient
        self.state = state; self.reason = reason; self.segment = segment
        self.tcpFlagsToServer = tcpFlagsToServer; self.tcpFlagsToClient = tcpFlagsToClient; self.flowID = flowID
        self.features = features; self.sequence = sequence; self.negativeIATs = negativeIATs; self.endedAtNs = endedAtNs
    }
}

/// Where a flow table hands the records it ends. One per worker thread;
/// the array's capacity is kept between drains so steady state never allocates.
public struct FlowSink: Sendable {
    public var records: [FlowRecord] = []
    public init(reserve: Int = 1024) { records.reserveCapacity(reserve) }
    @inlinable public mutating func append(_ r: FlowRecord) { records.append(r) }
    /// Hands every record to `body`, in order, and empties the sink (keeping capacity).
    public mutating func drain(_ body: (inout FlowRecord) throws -> Void) rethrows {
        for i in records.indices { try body(&records[i]) }
        records.removeAll(keepingCapacity: true)
    }
}
