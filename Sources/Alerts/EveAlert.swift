import Behaviour
import Decoding
import Detection
import Features
import Flows

/// What happened to a flow's verdict after policy: the flow record carries it.
public struct ScoredVerdict: Sendable {
    public var verdict: Verdict
    public var decision: Policy.Decision
    public var severity: Int
    /// True when an alert line was written for this flow.
    public var alerted: Bool
    /// Alerts of the same (destination, class) folded into this one.
    public var folded: Int = 0
    /// A behaviour of the flow's series or client reached its threshold.
    /// When the models did not find the flow suspicious, `verdict` carries
    /// the behaviour's class, score and threshold (`fusedBehaviour`).
    public var behaviour: BehaviourVerdict?
    public var fusedBehaviour = false
    /// The strongest behaviour's policy decision.
    public var behaviourDecision: Policy.Decision = .belowThreshold
    /// Behaviour campaigns this flow opened: one alert line each.
    public var behaviourAlerts: [BehaviourVerdict] = []
    /// When behaviour inputs drove the models' score: what they say
    /// (`behaviourInputReason`), written as the alert's `ml.reason`.
    public var modelReason: String?
    /// The models' class when the evidence gate dropped their verdict
    /// (`Verdict.unsupported`), kept also when a behaviour verdict took its place.
    public var unsupportedClass: String?
    /// The models' class when web-attack content in the flow's requests
    /// named the flow's class instead (`ml.model_class`).
    public var modelClass: String?

    public init(verdict: Verdict, decision: Policy.Decision, severity: Int, alerted: Bool, folded: Int = 0) {
        self.verdict = verdict; self.decision = decision; self.severity = severity
        self.alerted = alerted; self.folded = folded
    }
}

extension EveAlertFormatter {
    /// The EVE header of an alert line on `r`, `pcap_cnt` (the flow's latest
    /// packet), its direction and its `alert {action, gid, signature_id, rev,
    /// signature, category, severity, metadata}`, `metadata` writing the
    /// members of `alert.metadata`.
    func writeAlertHead(_ r: FlowRecord, signatureID: Int, signature: String, category: String, severity: Int,
                        metadata: (inout JSONBuffer) -> Void, into j: inout JSONBuffer) {
        writeEveHeader(r, eventType: "alert", context: context, into: &j)
        if r.lastPacketNumber > 0 { j.key("pcap_cnt"); j.uint(r.lastPacketNumber) }
        if let c = capture { c.write(into: &j) }
        j.key("direction"); j.string("to_server")
        j.key("alert"); j.beginObject()
        j.key("action"); j.string("allowed")
        j.key("gid"); j.int(1)
        j.key("signature_id"); j.int(signatureID)
        j.key("rev"); j.int(1)
        j.key("signature"); j.string(signature)
        j.key("category"); j.string(category)
        j.key("severity"); j.int(severity)
        j.key("metadata"); j.beginObject()
        metadata(&j)
        j.endObject()
        j.endObject()
    }

    /// The alert head of a class's alert (model or behaviour): the site's
    /// category for `className` (policy) or `alertCategory`'s, and
    /// `AlertMetadata`'s members.
    func writeAlertHead(_ r: FlowRecord, signatureID: Int, signature: String, className: String, severity: Int,
                        detector: StaticString, into j: inout JSONBuffer) {
        writeAlertHead(r, signatureID: signatureID, signature: signature,
                       category: categories[className] ?? alertCategory(className), severity: severity,
                       metadata: { AlertMetadata(detector: detector, className: className, modelVersion: modelVersion).write(into: &$0) },
                       into: &j)
    }
}

/// Signature ids: 9000001 + class index; "anomaly" is 9000000.
public func signatureID(for classIndex: Int) -> Int { classIndex < 0 ? 9_000_000 : 9_000_001 + classIndex }

/// Suricata-style categories for the ML classes.
public func alertCategory(_ className: String) -> String {
    switch className {
    case "scan": "Detection of a Network Scan"
    case "dos": "Detection of a Denial of Service Attack"
    case "bruteforce": "Attempted Administrator Privilege Gain"
    case "tunnel": "Potential Corporate Privacy Violation"
    case "c2": "A Network Trojan was detected"
    case "webattack": "Web Application Attack"
    default: "Misc activity"
    }
}

/// Writes the flow record's verdict: `flow.alerted` is set by the caller's
/// formatter; this adds `ml {class, score, threshold, suppressed?}`.
public func writeVerdictSummary(_ s: ScoredVerdict, into j: inout JSONBuffer) {
    j.key("ml"); j.beginObject()
    j.key("class"); j.string(s.verdict.isSuspicious ? s.verdict.className : "benign")
    j.key("score"); j.double(Double(s.verdict.score))
    j.key("threshold"); j.double(Double(s.verdict.threshold))
    if let c = s.unsupportedClass { j.key("unsupported_class"); j.string(c) }
    if let c = s.modelClass { j.key("model_class"); j.string(c) }
    if s.fusedBehaviour, let b = s.behaviour {
        j.key("source"); j.string("behaviour"); j.key("behaviour"); j.string(b.kind.name)
        if let why = b.reason { j.key("reason"); j.string(why) }
    }
    switch s.decision {
    case .suppressed(let note): j.key("suppressed"); j.bool(true); if !note.isEmpty { j.key("policy_note"); j.string(note) }
    case .allowed(let note): j.key("allowed"); j.bool(true); if !note.isEmpty { j.key("policy_note"); j.string(note) }
    case .disabled: j.key("class_disabled"); j.bool(true)
    default: break
    }
    j.endObject()
}

/// Formats EVE `alert` events for flagged flows.
/// Where an alert's packets were written (`--alert-pcap`): the pcap file,
/// the 1-based number of the flow's first packet in it, and how many
/// consecutive packets are the flow's.
public struct AlertCapture: Sendable, Equatable {
    public var file: String
    public var firstPacket: Int
    public var packets: Int
    public init(file: String, firstPacket: Int, packets: Int) {
        self.file = file
        self.firstPacket = firstPacket
        self.packets = packets
    }

    /// `"alert_pcap": {file, first_packet, packets}`.
    func write(into j: inout JSONBuffer) {
        j.key("alert_pcap"); j.beginObject()
        j.key("file"); j.string(file)
        j.key("first_packet"); j.int(firstPacket)
        j.key("packets"); j.int(packets)
        j.endObject()
    }
}

public struct EveAlertFormatter: Sendable {
    public var context: EveContext
    /// Written as `alert_pcap {file, first_packet, packets}` in the alerts
    /// on the next records (set per record by the writer; nil: none).
    public var capture: AlertCapture?
    public var modelVersion: String
    /// The site's alert categories by class (`Policy.categories`).
    public var categories: [String: String] = [:]
    public init(context: EveContext, modelVersion: String) {
        self.context = context
        self.modelVersion = modelVersion
    }

    public func append(_ r: FlowRecord, _ s: ScoredVerdict, into j: inout JSONBuffer) {
        append(r, s, closing: nil, into: &j)
    }

    /// A closing aggregate alert: the last flow folded into its (destination,
    /// class), with `ml.aggregated_flows` = the flows folded since the key's
    /// previous alert and `ml.aggregate: "closing"`, `ml.closing_reason`.
    public func appendClosing(_ c: ClosingAlert, into j: inout JSONBuffer) {
        let s = ScoredVerdict(verdict: c.flow.verdict, decision: .alert(severity: Int(c.flow.severity)),
                              severity: Int(c.flow.severity), alerted: true, folded: c.count)
        if c.modelVersion.isEmpty || c.modelVersion == modelVersion {
            append(c.flow.record(), s, closing: c.cause, into: &j)
        } else {
            // Closed by a reload: written under the model that scored it.
            var f = self
            f.modelVersion = c.modelVersion
            f.append(c.flow.record(), s, closing: c.cause, into: &j)
        }
    }

    func append(_ r: FlowRecord, _ s: ScoredVerdict, closing: ClosingAlert.Cause?, into j: inout JSONBuffer) {
        let v = s.verdict
        j.beginObject()
        writeAlertHead(r, signatureID: signatureID(for: v.classIndex),
                       signature: "FlowSentry ML: \(v.className) (\(modelVersion))",
                       className: v.className, severity: s.severity, detector: "ml", into: &j)
        j.key("ml"); j.beginObject()
        j.key("class"); j.string(v.className)
        if !v.classProbability.isNaN { j.key("class_probability"); j.double(Double(v.classProbability)) }
        if v.runnerUpIsClose, let u = v.runnerUp {
            // A near second: the class shown may be the wrong one of the two.
            j.key("runner_up"); j.beginObject()
            j.key("class"); j.string(u)
            j.key("probability"); j.double(Double(v.runnerUpProbability))
            j.endObject()
        }
        j.key("score"); j.double(Double(v.score))
        j.key("threshold"); j.double(Double(v.threshold))
        j.key("models"); j.beginObject()
        j.key("cnn"); j.double(Double(v.cnn))
        j.key("lstm"); j.double(Double(v.lstm))
        j.key("lof"); j.double(Double(v.lof))
        j.key("ocsvm"); j.double(Double(v.ocsvm))
        j.endObject()
        if let why = s.modelReason { j.key("reason"); j.string(why) }
        j.key("explanation"); j.beginArray()
        for c in v.explanation {
            j.beginObject()
            j.key("feature"); j.string(c.feature)
            j.key("value"); j.double(c.value)
            j.key("contribution"); j.double(Double(c.contribution))
            j.endObject()
        }
        j.endArray()
        if !v.lofNearest.isEmpty {
            // The benign reference flows nearest to this one (normalised space).
            j.key("lof_nearest"); j.beginArray()
            for n in v.lofNearest {
                j.beginObject()
                j.key("reference"); j.int(n.reference)
                j.key("distance"); j.double(n.distance)
                j.key("k_distance"); j.double(n.kDistance)
                j.endObject()
            }
            j.endArray()
        }
        if s.folded > 0 { j.key("aggregated_flows"); j.int(s.folded) }
        if let closing {
            j.key("aggregate"); j.string("closing")
            j.key("closing_reason"); j.string(closing.staticName)
        }
        j.key("model_version"); j.string(modelVersion)
        j.endObject()
        writeEveFlowSummary(r, alerted: true, into: &j)
        writeEveAppLayer(r, into: &j)
        j.endObject()
        j.newline()
    }
}

/// A compact copy of a folded flow: what a closing alert line says about it
/// (header, `flow {…}` summary, verdict), without its features, packet
/// sequence or payload (a `FlowRecord` is ~1.6 KB; this is ~300 bytes, see
/// `AggregatorTests.memoryPerKey`).
public struct FoldedFlow: Sendable {
    public internal(set) var srcIP: IPAddress
    public internal(set) var dstIP: IPAddress
    public internal(set) var tunnelSrc: IPAddress
    public internal(set) var tunnelDst: IPAddress
    public internal(set) var flowID: UInt64
    public internal(set) var startNs: Int64
    public internal(set) var endNs: Int64
    public internal(set) var pktsToServer: UInt64
    public internal(set) var pktsToClient: UInt64
    public internal(set) var bytesToServer: UInt64
    public internal(set) var bytesToClient: UInt64
    /// The verdict (no explanation: folded flows are never detailed).
    public internal(set) var verdict: Verdict
    public internal(set) var segment: UInt32
    /// The caller's tag for where the flow came from (replay: which capture file).
    public var source: Int32
    public internal(set) var srcPort: UInt16
    public internal(set) var dstPort: UInt16
    public internal(set) var vlan0: UInt16
    public internal(set) var vlan1: UInt16
    public internal(set) var vlan2: UInt16
    public internal(set) var proto: UInt8
    public internal(set) var hasPorts: Bool
    public internal(set) var icmpToServer: UInt32
    public internal(set) var icmpToClient: UInt32
    public internal(set) var lastPacketNumber: UInt64
    public internal(set) var vlanCount: UInt8
    public internal(set) var tunnel: TunnelKind
    public internal(set) var state: FlowStateName
    public internal(set) var reason: EndReason
    public internal(set) var severity: UInt8

    public init(_ r: FlowRecord, verdict: Verdict, severity: Int, source: Int32 = 0) {
        srcIP = r.srcIP; dstIP = r.dstIP; tunnelSrc = r.tunnelSrc; tunnelDst = r.tunnelDst
        flowID = r.flowID; startNs = r.startNs; endNs = r.endNs
        pktsToServer = r.pktsToServer; pktsToClient = r.pktsToClient
        bytesToServer = r.bytesToServer; bytesToClient = r.bytesToClient
        var v = verdict
        v.explanation = []; v.lofNearest = []
        self.verdict = v
        segment = r.segment; self.source = source
        srcPort = r.srcPort; dstPort = r.dstPort
        vlan0 = r.key.vlan0; vlan1 = r.key.vlan1; vlan2 = r.key.vlan2
        proto = r.proto; hasPorts = r.hasPorts; vlanCount = r.vlanCount; tunnel = r.tunnel
        icmpToServer = r.icmpToServer; icmpToClient = r.icmpToClient; lastPacketNumber = r.lastPacketNumber
        state = r.state; reason = r.reason; self.severity = UInt8(clamping: severity)
    }

    /// A record with this flow's identity and counters (features and sequence empty), for the formatter.
    func record() -> FlowRecord {
        FlowRecord(key: FlowKey(a: srcIP, b: dstIP, portA: srcPort, portB: dstPort, proto: proto,
                                vlan0: vlan0, vlan1: vlan1, vlan2: vlan2),
                   srcIP: srcIP, srcPort: srcPort, dstIP: dstIP, dstPort: dstPort, proto: proto, hasPorts: hasPorts,
                   vlanCount: vlanCount, tunnel: tunnel, tunnelSrc: tunnelSrc, tunnelDst: tunnelDst,
                   startNs: startNs, endNs: endNs, pktsToServer: pktsToServer, pktsToClient: pktsToClient,
                   bytesToServer: bytesToServer, bytesToClient: bytesToClient, state: state, reason: reason,
                   segment: segment, tcpFlagsToServer: 0, tcpFlagsToClient: 0, flowID: flowID, endedAtNs: endNs,
                   icmpToServer: icmpToServer, icmpToClient: icmpToClient, lastPacketNumber: lastPacketNumber)
    }
}

/// An alert line owed to flows folded after a key's last alert: no later
/// alert of that (destination, class) will carry them.
public struct ClosingAlert: Sendable {
    public enum Cause: UInt8, Sendable {
        /// Two intervals of flow time passed since the key's last alert with no new one.
        case quiet
        /// End of input (replay) or shutdown (live).
        case end
        /// The aggregator was full and this key was the least recently alerted.
        case evicted
        /// A policy/model reload replaced the aggregator.
        case reload
        public var staticName: StaticString {
            switch self {
            case .quiet: "quiet"
            case .end: "end"
            case .evicted: "evicted"
            case .reload: "reload"
            }
        }
    }
    /// The last flow folded into the key.
    public var flow: FoldedFlow
    /// Flows folded since the key's previous alert (> 0).
    public var count: Int
    public var cause: Cause
    /// Where the caller writes it: before the record at this index of the batch being scored.
    public var position: Int = 0
    /// The model version of the scoring stage that folded the flows ("" = the current one).
    public var modelVersion: String = ""
}

/// Folds floods of similar alerts: per (destination address, class), at most
/// one alert per interval of flow time; the flows in between are counted and
/// reported on the next alert that is written for that key, or — when none
/// will — on a closing alert describing the last of them (`ClosingAlert`):
/// when the key stays quiet (`expire`), is evicted, or at the end (`closeAll`).
/// Every folded flow is counted on exactly one alert line.
///
/// Memory is bounded: at most `capacity` keys, in slots on a doubly linked
/// list in order of their last alert. At capacity the least recently alerted
/// key (the list's head) is evicted in O(1), its pending flows closed.
public struct AlertAggregator: Sendable {
    struct Key: Hashable, Sendable { var dst: IPAddress; var cls: Int16 }
    struct Slot: Sendable {
        var key: Key
        var lastAlertNs: Int64
        var pending: Int
        var prev: Int32
        var next: Int32
        /// The last folded flow (when `pending > 0`).
        var last: FoldedFlow?
    }
    var slots: [Slot] = []
    var freeSlots: [Int32] = []
    var index: [Key: Int32] = [:]
    /// Least and most recently alerted keys.
    var head: Int32 = -1
    var tail: Int32 = -1
    public let intervalNs: Int64
    public let capacity: Int
    /// Flows folded (not alerted) so far.
    public private(set) var folded: UInt64 = 0
    /// Keys evicted at capacity.
    public private(set) var droppedKeys: UInt64 = 0
    /// Closing alerts handed out.
    public private(set) var closings: UInt64 = 0

    public init(intervalSeconds: Double, capacity: Int = 65536) {
        intervalNs = Int64(intervalSeconds * 1e9)
        self.capacity = max(1, capacity)
    }

    /// Keys held.
    public var keyCount: Int { index.count }

    /// True when an alert should be written now; `foldedIn` is how many earlier
    /// flows of the same key it stands for. When the flow is folded, `last()`
    /// is kept as the key's representative. A key evicted to make room is
    /// closed into `closed`.
    public mutating func admit(dst: IPAddress, classIndex: Int, at ns: Int64, foldedIn: inout Int,
                               closed: inout [ClosingAlert], last: () -> FoldedFlow) -> Bool {
        foldedIn = 0
        guard intervalNs > 0 else { return true }
        let k = Key(dst: dst, cls: Int16(clamping: classIndex))
        if let i = index[k] {
            let s = Int(i)
            if ns &- slots[s].lastAlertNs >= intervalNs {
                foldedIn = slots[s].pending
                slots[s].pending = 0
                slots[s].last = nil
                slots[s].lastAlertNs = ns
                unlink(i); pushTail(i)
                return true
            }
            slots[s].pending += 1
            slots[s].last = last()
            folded &+= 1
            return false
        }
        if index.count >= capacity {
            droppedKeys &+= 1
            remove(head, cause: .evicted, into: &closed)
        }
        let slot = Slot(key: k, lastAlertNs: ns, pending: 0, prev: -1, next: -1, last: nil)
        let i: Int32
        if let f = freeSlots.popLast() { i = f; slots[Int(f)] = slot } else { i = Int32(slots.count); slots.append(slot) }
        index[k] = i
        pushTail(i)
        return true
    }

    /// Closes and forgets every key whose last alert is two intervals or more
    /// before `now` (flow time): one interval for the alert's own window, one
    /// more in which a new alert would have carried its pending flows. Walks
    /// from the least recently alerted key and stops at the first younger one.
    public mutating func expire(now: Int64, into closed: inout [ClosingAlert]) {
        guard intervalNs > 0 else { return }
        while head >= 0 && now &- slots[Int(head)].lastAlertNs >= 2 &* intervalNs {
            remove(head, cause: .quiet, into: &closed)
        }
    }

    /// Closes every key with pending flows (least recently alerted first) and forgets all keys.
    public mutating func closeAll(cause: ClosingAlert.Cause, into closed: inout [ClosingAlert]) {
        while head >= 0 { remove(head, cause: cause, into: &closed) }
        slots.removeAll(keepingCapacity: true)
        freeSlots.removeAll(keepingCapacity: true)
    }

    /// Flows folded and not yet on any alert line.
    public var pendingCount: Int {
        var n = 0, i = head
        while i >= 0 { n += slots[Int(i)].pending; i = slots[Int(i)].next }
        return n
    }

    private mutating func remove(_ i: Int32, cause: ClosingAlert.Cause, into closed: inout [ClosingAlert]) {
        let s = Int(i)
        if slots[s].pending > 0, let f = slots[s].last {
            closed.append(ClosingAlert(flow: f, count: slots[s].pending, cause: cause))
            closings &+= 1
        }
        unlink(i)
        index.removeValue(forKey: slots[s].key)
        slots[s].last = nil
        slots[s].pending = 0
        freeSlots.append(i)
    }

    private mutating func unlink(_ i: Int32) {
        let p = slots[Int(i)].prev, n = slots[Int(i)].next
        if p >= 0 { slots[Int(p)].next = n } else { head = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tail = p }
        slots[Int(i)].prev = -1; slots[Int(i)].next = -1
    }

    private mutating func pushTail(_ i: Int32) {
        slots[Int(i)].prev = tail
        slots[Int(i)].next = -1
        if tail >= 0 { slots[Int(tail)].next = i } else { head = i }
        tail = i
    }
}
