import AppLayer
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
    /// The flow's first packets, kept for `--alert-pcap` (`.none` when off);
    /// the writer releases them to `FlowTable.packetRings`.
    public var packetRing = PacketChain.none
    public var features: FeatureVector
    public var sequence: PacketSequence
    public var negativeIATs: UInt32
    /// The first DNS question of a UDP flow on port 53 (`present` false otherwise).
    public var dns = DNSQuestion()
    /// What the application-layer parsers made of the flow's first bytes:
    /// nil when the flow carried no payload, parsing is off, or no stream
    /// prefix was free (and for a long flow's later segments), and until
    /// `resolveAppLayer()` has run.
    public var app: AppLayerInfo?
    /// The flow's stream prefixes as the table handed them over, until
    /// `resolveAppLayer()` parses them.
    public var appCapture: AppStreamCapture?
    /// When the table ended the record: the packet time that ended it, or the
    /// `now` of the expiry sweep (the wall clock when live).
    public var endedAtNs: Int64
    /// ICMP/ICMPv6 flows: the first message to the server and to the client
    /// (`ICMPMessage.encode`; 0 when none was seen that way).
    public var icmpToServer: UInt32
    public var icmpToClient: UInt32
    /// TCP flows: the connection's state when the record was written.
    public var tcpState: TCPEndState
    /// The capture thread's number of the flow's latest packet (`DecodedPacket.packetNumber`; 0: unknown).
    public var lastPacketNumber: UInt64

    /// Whether the record has transport ports: TCP, UDP and SCTP. ICMP's
    /// type and code stand in for ports in the flow key (as in Community
    /// ID) but are written as `icmp_type`/`icmp_code`, never as ports.
    public var hasTransportPorts: Bool { hasPorts && proto != IPProto.icmp && proto != IPProto.icmpv6 }

    public init(key: FlowKey, srcIP: IPAddress, srcPort: UInt16, dstIP: IPAddress, dstPort: UInt16,
                proto: UInt8, hasPorts: Bool, vlanCount: UInt8, tunnel: TunnelKind,
                tunnelSrc: IPAddress, tunnelDst: IPAddress, startNs: Int64, endNs: Int64,
                pktsToServer: UInt64, pktsToClient: UInt64, bytesToServer: UInt64, bytesToClient: UInt64,
                state: FlowStateName, reason: EndReason, segment: UInt32,
                tcpFlagsToServer: UInt8, tcpFlagsToClient: UInt8, flowID: UInt64,
                features: FeatureVector = FeatureVector(), sequence: PacketSequence = PacketSequence(),
                negativeIATs: UInt32 = 0, endedAtNs: Int64, icmpToServer: UInt32 = 0, icmpToClient: UInt32 = 0,
                tcpState: TCPEndState = .none, lastPacketNumber: UInt64 = 0) {
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
            flowID: flowID, negativeIATs: negativeIATs, endedAtNs: endedAtNs,
            icmpToServer: icmpToServer, icmpToClient: icmpToClient, tcpState: tcpState,
            lastPacketNumber: lastPacketNumber)
        self.features = features
        self.sequence = sequence
    }

    /// An all-zero record (storage for `FlowSink`).
    public static let blank = FlowRecord(
        key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0), srcIP: .zero, srcPort: 0, dstIP: .zero,
        dstPort: 0, proto: 0, hasPorts: false, vlanCount: 0, tunnel: .none, tunnelSrc: .zero, tunnelDst: .zero,
        startNs: 0, endNs: 0, pktsToServer: 0, pktsToClient: 0, bytesToServer: 0, bytesToClient: 0,
        state: .new, reason: .shutdown, segment: 0, tcpFlagsToServer: 0, tcpFlagsToClient: 0, flowID: 0, endedAtNs: 0)

    /// Sets every field except `features` and `sequence`, in place (a record
    /// is ~1.3 KB: the flow table writes ended flows into a sink's storage
    /// rather than building and copying them). A test checks that this and
    /// the two inline arrays leave nothing of the record's earlier contents.
    public mutating func set(key: FlowKey, srcIP: IPAddress, srcPort: UInt16, dstIP: IPAddress, dstPort: UInt16,
                             proto: UInt8, hasPorts: Bool, vlanCount: UInt8, tunnel: TunnelKind,
                             tunnelSrc: IPAddress, tunnelDst: IPAddress, startNs: Int64, endNs: Int64,
                             pktsToServer: UInt64, pktsToClient: UInt64, bytesToServer: UInt64, bytesToClient: UInt64,
                             state: FlowStateName, reason: EndReason, segment: UInt32,
                             tcpFlagsToServer: UInt8, tcpFlagsToClient: UInt8, flowID: UInt64,
                             negativeIATs: UInt32, endedAtNs: Int64, icmpToServer: UInt32 = 0, icmpToClient: UInt32 = 0,
                             tcpState: TCPEndState = .none, lastPacketNumber: UInt64 = 0) {
        self.key = key; self.srcIP = srcIP; self.srcPort = srcPort; self.dstIP = dstIP; self.dstPort = dstPort
        self.proto = proto; self.hasPorts = hasPorts; self.vlanCount = vlanCount; self.tunnel = tunnel
        self.tunnelSrc = tunnelSrc; self.tunnelDst = tunnelDst; self.startNs = startNs; self.endNs = endNs
        self.pktsToServer = pktsToServer; self.pktsToClient = pktsToClient
        self.bytesToServer = bytesToServer; self.bytesToClient = bytesToClient
        self.state = state; self.reason = reason; self.segment = segment
        self.tcpFlagsToServer = tcpFlagsToServer; self.tcpFlagsToClient = tcpFlagsToClient; self.flowID = flowID
        self.negativeIATs = negativeIATs; self.endedAtNs = endedAtNs
        self.icmpToServer = icmpToServer; self.icmpToClient = icmpToClient; self.tcpState = tcpState
        self.lastPacketNumber = lastPacketNumber
    }
}

extension FlowRecord {
    /// Parses the stream prefixes the table handed over (once): sets `app`
    /// and the application-layer features. Every consumer of records calls
    /// it before reading either: the record writer (replay and live, off the
    /// capture thread), and `ReplayPipeline.run(files:onRecord:)` for the
    /// commands that read records themselves (train, evaluate, features).
    public mutating func resolveAppLayer() {
        guard let capture = appCapture else { return }
        appCapture = nil
        // The first packets' payload sizes, for SSH's login outcome (on the stack: no allocation per flow).
        app = withUnsafeTemporaryAllocation(of: Int32.self, capacity: PacketSequence.length) { sizes in
            var n = 0
            for i in 0..<Int(sequence.count) {
                let e = sequence[i]
                guard e.payloadLength > 0 else { continue }
                sizes[n] = Int32(e.payloadLength) * Int32(e.direction)
                n += 1
            }
            let seen = Int(sequence.count)
            let all = Int(features[.fwd_pkts] + features[.bwd_pkts])
            return capture.analyse(packets: PacketSizes(
                sizes: UnsafeBufferPointer(rebasing: sizes[0..<n]), complete: all <= seen,
                serverPayloadBytes: Int(features[.bwd_payload_bytes]), serverPackets: Int(features[.bwd_pkts])))
        }
        AppLayerFeatures.fill(&features, from: app)
    }
}

/// Where a flow table hands the records it ends. One per worker thread.
/// Records are built in place in storage that is kept between drains (it
/// grows to the largest batch and stays), so steady state neither allocates
/// nor copies a record into the sink.
public struct FlowSink: Sendable {
    /// Entries past `count` are left from earlier batches and never read.
    var storage: [FlowRecord] = []
    var n = 0
    public var count: Int { n }
    /// Host-context changes of the table call in progress (see `HostEventLog`).
    var hostEvents = HostEventLog()

    public init(reserve: Int = 1024) { storage.reserveCapacity(reserve) }

    public var isEmpty: Bool { n == 0 }

    /// The records held, in order.
    public var records: ArraySlice<FlowRecord> { storage[0..<n] }

    public mutating func append(_ r: FlowRecord) {
        emplace { $0 = r }
    }

    /// Appends a record written by `body` in the sink's storage. `body` gets
    /// a record left from an earlier batch and must set every field
    /// (`FlowRecord.set` and the two inline arrays do).
    public mutating func emplace(_ body: (inout FlowRecord) -> Void) {
        if n == storage.count { storage.append(FlowRecord.blank) }
        body(&storage[n])
        n += 1
    }

    /// Hands every record to `body`, in order, and empties the sink (keeping storage).
    public mutating func drain(_ body: (inout FlowRecord) throws -> Void) rethrows {
        defer { n = 0 }
        for i in 0..<n { try body(&storage[i]) }
    }

    /// Empties the sink (keeping storage).
    public mutating func removeAll() { n = 0 }
}
