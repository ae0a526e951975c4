import Decoding
import Features

/// Why a flow record ended.
package enum EndReason: UInt8, Sendable, CaseIterable {
    case tcpFin, tcpRst, idleTimeout, activeTimeout, evicted, shutdown, tcpReuse

    /// The `flow.reason` value in records. Suricata writes `timeout`,
    /// `forced` or `shutdown`; we keep its words where they mean the same and
    /// are more specific elsewhere (see docs/flow-records.md).
    package var name: String { String(describing: staticName) }
    package var staticName: StaticString {
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
package enum FlowStateName: UInt8, Sendable {
    case new, established, closed
    package var name: String { String(describing: staticName) }
    package var staticName: StaticString {
        switch self {
        case .new: "new"
        case .established: "established"
        case .closed: "closed"
        }
    }
}

/// One finished flow: identity, counters, end reason and features. A value
/// (no references) so it can be queued and scored off the capture thread.
package struct FlowRecord: Sendable {
    package var key: FlowKey
    /// The client (initiator) and server endpoints.
    package var srcIP: IPAddress
    package var srcPort: UInt16
    package var dstIP: IPAddress
    package var dstPort: UInt16
    package var proto: UInt8
    package var hasPorts: Bool
    package var vlanCount: UInt8
    package var tunnel: TunnelKind
    package var tunnelSrc: IPAddress
    package var tunnelDst: IPAddress
    package var startNs: Int64
    package var endNs: Int64
    package var pktsToServer: UInt64
    package var pktsToClient: UInt64
    package var bytesToServer: UInt64
    package var bytesToClient: UInt64
    package var state: FlowStateName
    package var reason: EndReason
    /// Which record of a long flow this is (0, then 1, 2, … after active timeouts).
    package var segment: UInt32
    package var tcpFlagsToServer: UInt8
    package var tcpFlagsToClient: UInt8
    package var flowID: UInt64
    package var features: FeatureVector
    package var sequence: PacketSequence
    package var negativeIATs: UInt32
    /// When the table ended the record: the packet time that ended it, or the
    /// `now` of the expiry sweep (the wall clock when live).
    package var endedAtNs: Int64

    package init(key: FlowKey, srcIP: IPAddress, srcPort: UInt16, dstIP: IPAddress, dstPort: UInt16,
                proto: UInt8, hasPorts: Bool, vlanCount: UInt8, tunnel: TunnelKind,
                tunnelSrc: IPAddress, tunnelDst: IPAddress, startNs: Int64, endNs: Int64,
                pktsToServer: UInt64, pktsToClient: UInt64, bytesToServer: UInt64, bytesToClient: UInt64,
                state: FlowStateName, reason: EndReason, segment: UInt32,
                tcpFlagsToServer: UInt8, tcpFlagsToClient: UInt8, flowID: UInt64,
                features: FeatureVector = FeatureVector(), sequence: PacketSequence = PacketSequence(),
                negativeIATs: UInt32 = 0, endedAtNs: Int64) {
        // All-zero bytes are a valid record (every enum's first case is 0); `set`
        // then writes each field, so the field list lives in one place.
        self = withUnsafeTemporaryAllocation(of: FlowRecord.self, capacity: 1) { b in
            let p = b.baseAddress.unsafelyUnwrapped
            UnsafeMutableRawPointer(p).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<FlowRecord>.stride)
            return p.pointee
        }
        set(key: key, srcIP: srcIP, srcPort: srcPort, dstIP: dstIP, dstPort: dstPort, proto: proto,
            hasPorts: hasPorts, vlanCount: vlanCount, tunnel: tunnel, tunnelSrc: tunnelSrc, tunnelDst: tunnelDst,
            startNs: startNs, endNs: endNs, pktsToServer: pktsToServer, pktsToClient: pktsToClient,
            bytesToServer: bytesToServer, bytesToClient: bytesToClient, state: state, reason: reason,
            segment: segment, tcpFlagsToServer: tcpFlagsToServer, tcpFlagsToClient: tcpFlagsToClient,
            flowID: flowID, negativeIATs: negativeIATs, endedAtNs: endedAtNs)
        self.features = features
        self.sequence = sequence
    }

    /// An all-zero record (storage for `FlowSink`).
    package static let blank = FlowRecord(
        key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0), srcIP: .zero, srcPort: 0, dstIP: .zero,
        dstPort: 0, proto: 0, hasPorts: false, vlanCount: 0, tunnel: .none, tunnelSrc: .zero, tunnelDst: .zero,
        startNs: 0, endNs: 0, pktsToServer: 0, pktsToClient: 0, bytesToServer: 0, bytesToClient: 0,
        state: .new, reason: .shutdown, segment: 0, tcpFlagsToServer: 0, tcpFlagsToClient: 0, flowID: 0, endedAtNs: 0)

    /// Sets every field except `features` and `sequence`, in place (a record
    /// is ~1.3 KB: the flow table writes ended flows into a sink's storage
    /// rather than building and copying them). A test checks that this and
    /// the two inline arrays leave nothing of the record's earlier contents.
    @inlinable
    package mutating func set(key: FlowKey, srcIP: IPAddress, srcPort: UInt16, dstIP: IPAddress, dstPort: UInt16,
                             proto: UInt8, hasPorts: Bool, vlanCount: UInt8, tunnel: TunnelKind,
                             tunnelSrc: IPAddress, tunnelDst: IPAddress, startNs: Int64, endNs: Int64,
                             pktsToServer: UInt64, pktsToClient: UInt64, bytesToServer: UInt64, bytesToClient: UInt64,
                             state: FlowStateName, reason: EndReason, segment: UInt32,
                             tcpFlagsToServer: UInt8, tcpFlagsToClient: UInt8, flowID: UInt64,
                             negativeIATs: UInt32, endedAtNs: Int64) {
        self.key = key; self.srcIP = srcIP; self.srcPort = srcPort; self.dstIP = dstIP; self.dstPort = dstPort
        self.proto = proto; self.hasPorts = hasPorts; self.vlanCount = vlanCount; self.tunnel = tunnel
        self.tunnelSrc = tunnelSrc; self.tunnelDst = tunnelDst; self.startNs = startNs; self.endNs = endNs
        self.pktsToServer = pktsToServer; self.pktsToClient = pktsToClient
        self.bytesToServer = bytesToServer; self.bytesToClient = bytesToClient
        self.state = state; self.reason = reason; self.segment = segment
        self.tcpFlagsToServer = tcpFlagsToServer; self.tcpFlagsToClient = tcpFlagsToClient; self.flowID = flowID
        self.negativeIATs = negativeIATs; self.endedAtNs = endedAtNs
    }
}

/// Where a flow table hands the records it ends. One per worker thread.
/// Records are built in place in storage that is kept between drains (it
/// grows to the largest batch and stays), so steady state neither allocates
/// nor copies a record into the sink.
package struct FlowSink: Sendable {
    /// Entries past `count` are left from earlier batches and never read.
    @usableFromInline var storage: [FlowRecord] = []
    @usableFromInline var n = 0
    package var count: Int { n }

    package init(reserve: Int = 1024) { storage.reserveCapacity(reserve) }

    @inlinable package var isEmpty: Bool { n == 0 }

    /// The records held, in order.
    package var records: ArraySlice<FlowRecord> { storage[0..<n] }

    @inlinable package mutating func append(_ r: FlowRecord) {
        emplace { $0 = r }
    }

    /// Appends a record written by `body` in the sink's storage. `body` gets
    /// a record left from an earlier batch and must set every field
    /// (`FlowRecord.set` and the two inline arrays do).
    @inlinable package mutating func emplace(_ body: (inout FlowRecord) -> Void) {
        if n == storage.count { storage.append(FlowRecord.blank) }
        body(&storage[n])
        n += 1
    }

    /// Hands every record to `body`, in order, and empties the sink (keeping storage).
    package mutating func drain(_ body: (inout FlowRecord) throws -> Void) rethrows {
        defer { n = 0 }
        for i in 0..<n { try body(&storage[i]) }
    }

    /// Empties the sink (keeping storage).
    package mutating func removeAll() { n = 0 }
}
