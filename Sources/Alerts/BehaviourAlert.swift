import AppLayer
import Behaviour
import Decoding
import Flows

/// A behaviour verdict on one flow: which behaviour of its series or client
/// reached its threshold, with the values at the flow's end.
public struct BehaviourVerdict: Sendable {
    public var kind: BehaviourKind
    public var score: Double
    public var threshold: Double
    public var values: BehaviourValues
    /// An alert line is due for this flow (the first of its campaign key).
    public var alerted = false
    /// The policy's severity for an alert.
    public var severity = 0
    /// Why, in one line (`behaviourReason`), when the verdict became the flow's.
    public var reason: String?
    /// Example flows of the series (flow id, community id), newest last.
    public var examples: [(flowID: UInt64, communityID: String)] = []
    /// The flow's registered domain when the campaign is per (client,
    /// domain) — DNS tunnels, DNS beacons — kept for the campaign's closing
    /// line: the folded flow it describes keeps no DNS question.
    public var domain = ""

    public init(kind: BehaviourKind, score: Double, threshold: Double, values: BehaviourValues) {
        self.kind = kind; self.score = score; self.threshold = threshold; self.values = values
    }
}

/// The host a verdict is about: the flooded host for flooding (the flow's
/// source when the flow is an ICMP error it sent), else the flow's destination.
public func behaviourTarget(_ b: BehaviourVerdict, source: IPAddress, destination: IPAddress) -> IPAddress {
    b.kind == .flooding && b.values.floodTargetIsClient ? source : destination
}

/// Signature ids of behaviour alerts: 9100001 + the behaviour's number.
public func behaviourSignatureID(_ k: BehaviourKind) -> Int { 9_100_001 + Int(k.rawValue) }

/// The signature text, naming the service for repeated short sessions.
public func behaviourSignature(_ k: BehaviourKind, port: UInt16, proto: UInt8) -> String {
    switch k {
    case .scanning: return "FlowSentry behaviour: scanning (threshold random walk over first contacts)"
    case .dnsTunnel: return "FlowSentry behaviour: DNS tunnel or C2 over DNS"
    case .beaconing: return "FlowSentry behaviour: periodic beacon (possible C2)"
    case .flooding: return "FlowSentry behaviour: flood (one-sided sessions piling on one host)"
    // One text per signature id, whichever family matched (the reason names it).
    case .webAttack: return "FlowSentry content: web application attack or exploit (HTTP requests, TLS records)"
    case .repetition:
        guard proto == IPProto.tcp else { return "FlowSentry behaviour: repeated short sessions to one service (brute force)" }
        let service: String? = switch port {
        case 22: "SSH password guessing"
        case 21: "FTP brute force"
        case 23: "Telnet password guessing"
        case 25, 465, 587: "SMTP AUTH guessing"
        case 110, 995: "POP3 login guessing"
        case 143, 993: "IMAP login guessing"
        case 3389: "RDP password guessing"
        case 3306, 5432, 1433: "database login guessing"
        case 5900: "VNC password guessing"
        case 80, 443, 8080, 8443: "HTTP login guessing"
        default: nil
        }
        return "FlowSentry behaviour: " + (service ?? "repeated short sessions to one service (brute force)")
    }
}

/// One line of plain text saying why a behaviour verdict was made
/// ("11 similar short sessions to 192.168.56.103:22 in 62 s", or "3 refused
/// logins to …" when the server's refusals made it); `domain`: the
/// flow's registered domain (DNS tunnels and DNS beacons).
public func behaviourReason(_ b: BehaviourVerdict, server: IPAddress, port: UInt16, domain: String = "") -> String {
    let v = b.values
    func secs(_ s: Double) -> String {
        s >= 120 ? "\(Int((s / 60).rounded())) min" : "\(Int(s.rounded())) s"
    }
    let target = "\(server):\(port)"
    switch b.kind {
    case .repetition where v.refusedLoginSessions >= 2:
        return "\(v.refusedLoginSessions) refused logins to \(target) in \(secs(v.spanSeconds))"
            + " (\(v.sessions) sessions, median gap \(secs(v.medianGapSeconds)))"
    case .repetition:
        return "\(v.shortSessions) similar short sessions to \(target) in \(secs(v.spanSeconds))"
            + " (median gap \(secs(v.medianGapSeconds)))"
    case .beaconing where v.beaconingIsDNS:
        return "look-ups under \(domain) every \(secs(v.dnsMedianGapSeconds)) (median), timing score \(v.dnsTsScore), size score \(v.dnsDsScore)"
    case .beaconing:
        return "sessions to \(target) every \(secs(v.medianGapSeconds)) (median), timing score \(v.tsScore), size score \(v.dsScore)"
    case .scanning:
        return "\(v.failedFirstContacts) of \(v.firstContacts) first contacts failed"
            + (v.scanner ? " (threshold random walk decided: scanner)" : "")
    case .flooding:
        let requests = v.floodRequests > 0 ? ", \(v.floodRequests) of them requests never answered" : ""
        return "\(v.floodOneSided) one-sided sessions of \(v.floodSessions) to \(server) in the last \(secs(Double(v.floodWindowSeconds))),"
            + " from ~\(v.floodSources) sources to ~\(v.floodPorts) ports\(requests)"
    case .webAttack:
        let families = WebAttackFamilies(rawValue: v.webAttackFamilies).names.replacingOccurrences(of: ",", with: ", ")
            .replacingOccurrences(of: "_", with: " ")
        let series = WebAttackFamilies(rawValue: v.webAttackFamilies).contains(.forcedBrowsing) && v.httpMisses > 0
            ? " (\(v.httpMisses) of \(v.httpResponses) answers 404/403 in the window, ~\(v.httpMissedPaths) distinct paths)" : ""
        if WebAttackFamilies(rawValue: v.webAttackFamilies) == .heartbleed {
            return "TLS heartbeat\(v.webAttackRequests == 1 ? "" : "s") answered with far more than was asked (Heartbleed), \(v.webAttackRequests) to \(target)"
        }
        return "\(families) in \(v.webAttackRequests) HTTP request\(v.webAttackRequests == 1 ? "" : "s") to \(target)\(series)"
    case .dnsTunnel:
        return "\(Int(v.dnsDistinctSubdomains.rounded())) distinct names under \(domain) in \(v.dnsQueries) queries"
            + " (mean subdomain \(Int(v.dnsMeanSubdomainLength.rounded())) characters, TXT/NULL share \(SeriesStatistics.round3(v.dnsDataTypeShare)))"
    }
}

/// What a behaviour alert is folded under: one line per campaign.
/// Scanning is per source; flooding per target (whatever the sources); DNS tunnels, and beacons whose score is their DNS
/// series', per source and registered domain; the others per pair series.
public struct BehaviourAlertKey: Hashable, Sendable {
    public var kind: BehaviourKind
    public var src: IPAddress
    public var dst: IPAddress
    public var port: UInt16
    public var proto: UInt8
    /// The registered domain's hash (DNS tunnels and DNS beacons: per client
    /// and domain, whichever resolver carries them).
    public var domain: UInt64

    /// `dnsBeacon`: a beaconing verdict whose score is the DNS series' (`BehaviourValues.beaconingIsDNS`).
    public init(kind: BehaviourKind, src: IPAddress, dst: IPAddress, port: UInt16, proto: UInt8, domain: UInt64 = 0,
                dnsBeacon: Bool = false) {
        self.kind = kind; self.src = src; self.domain = 0
        switch kind {
        case .scanning: self.dst = .zero; self.port = 0; self.proto = 0
        case .flooding: self.src = .zero; self.dst = dst; self.port = 0; self.proto = 0
        case .dnsTunnel: self.dst = .zero; self.port = 0; self.proto = 0; self.domain = domain
        case .beaconing where dnsBeacon: self.dst = .zero; self.port = 0; self.proto = 0; self.domain = domain
        default: self.dst = dst; self.port = port; self.proto = proto
        }
    }
}

/// The closing line of a behaviour campaign: the flows folded after its
/// first alert, the last of them described.
public struct BehaviourClosing: Sendable {
    public var key: BehaviourAlertKey
    public var last: FoldedFlow
    public var verdict: BehaviourVerdict
    public var folded: Int
    public var firstAlertNs: Int64
}

/// Folds behaviour verdicts into one alert per campaign key: the first
/// verdict of a key is an alert line; later ones are counted; when the key
/// has been quiet for `quietNs` of flow time (the behaviour window), is
/// evicted (more than `capacity` keys), or at the end, a closing line
/// carries the count, if anything was folded. Not thread-safe.
public struct BehaviourAlertFolder: Sendable {
    struct State: Sendable {
        var firstAlertNs: Int64
        var lastNs: Int64
        var folded: Int
        var last: FoldedFlow?
        var verdict: BehaviourVerdict
    }

    public let quietNs: Int64
    public let capacity: Int
    private var keys: [BehaviourAlertKey: State] = [:]
    public private(set) var evictions: UInt64 = 0

    public init(quietSeconds: Int, capacity: Int = 4096) {
        quietNs = Int64(quietSeconds) * 1_000_000_000
        self.capacity = capacity
    }

    public var count: Int { keys.count }

    /// True when the verdict opens its key (an alert line is due); false when folded.
    public mutating func admit(_ key: BehaviourAlertKey, at ns: Int64, verdict: BehaviourVerdict,
                               folded flow: @autoclosure () -> FoldedFlow, closed: inout [BehaviourClosing]) -> Bool {
        if var s = keys[key] {
            s.folded += 1
            s.lastNs = max(s.lastNs, ns)
            s.last = flow()
            s.verdict = verdict
            keys[key] = s
            return false
        }
        if keys.count >= capacity, let oldest = keys.min(by: Self.closesFirst)?.key {
            close(oldest, into: &closed)
            evictions &+= 1
        }
        keys[key] = State(firstAlertNs: ns, lastNs: ns, folded: 0, last: nil, verdict: verdict)
        return true
    }

    /// Closes the keys quiet for `quietNs` at flow time `now`, oldest first.
    public mutating func expire(now: Int64, into closed: inout [BehaviourClosing]) {
        let quiet = keys.filter { now - $0.value.lastNs > quietNs }.sorted(by: Self.closesFirst)
        for (k, _) in quiet { close(k, into: &closed) }
    }

    /// Closes every key (end of input, shutdown, reload).
    public mutating func closeAll(into closed: inout [BehaviourClosing]) {
        for (k, _) in keys.sorted(by: Self.closesFirst) { close(k, into: &closed) }
    }

    /// The order keys close in: least recently seen first, ties (two
    /// behaviours of one flow) broken by the key, never by the dictionary's
    /// per-process hash order, so a replay writes the same lines every run.
    private static func closesFirst(_ a: (key: BehaviourAlertKey, value: State),
                                    _ b: (key: BehaviourAlertKey, value: State)) -> Bool {
        if a.value.lastNs != b.value.lastNs { return a.value.lastNs < b.value.lastNs }
        let x = a.key, y = b.key
        if x.kind.rawValue != y.kind.rawValue { return x.kind.rawValue < y.kind.rawValue }
        if x.src != y.src { return x.src < y.src }
        if x.dst != y.dst { return x.dst < y.dst }
        if x.port != y.port { return x.port < y.port }
        if x.proto != y.proto { return x.proto < y.proto }
        return x.domain < y.domain
    }

    private mutating func close(_ k: BehaviourAlertKey, into closed: inout [BehaviourClosing]) {
        guard let s = keys.removeValue(forKey: k) else { return }
        if s.folded > 0, let last = s.last {
            closed.append(BehaviourClosing(key: k, last: last, verdict: s.verdict, folded: s.folded, firstAlertNs: s.firstAlertNs))
        }
    }
}

extension EveAlertFormatter {
    /// A behaviour alert line for `r`: EVE header, `alert {…}` with the
    /// behaviour's signature, `behaviour {kind, score, threshold, reason,
    /// sessions, window_s, components, example_flows}` and the flow summary.
    public func appendBehaviour(_ r: FlowRecord, _ b: BehaviourVerdict, severity: Int, windowSeconds: Int,
                                folded: Int = 0, closing: Bool = false, into j: inout JSONBuffer) {
        j.beginObject()
        writeAlertHead(r, signatureID: behaviourSignatureID(b.kind), signature: behaviourSignature(b.kind, port: r.dstPort, proto: r.proto),
                       className: b.kind.className, severity: severity, detector: b.kind == .webAttack ? "content" : "behaviour", into: &j)
        let v = b.values
        let domain = b.domain.isEmpty ? r.dns.domainText : b.domain
        j.key("behaviour"); j.beginObject()
        j.key("kind"); j.string(b.kind.name)
        j.key("class"); j.string(b.kind.className)
        j.key("score"); j.double(b.score)
        j.key("threshold"); j.double(b.threshold)
        let target = behaviourTarget(b, source: r.srcIP, destination: r.dstIP)
        j.key("reason"); j.string(behaviourReason(b, server: target, port: r.dstPort, domain: domain))
        if b.kind == .dnsTunnel || (b.kind == .beaconing && v.beaconingIsDNS) { j.key("domain"); j.string(domain) }
        j.key("sessions"); j.int(Int(v.sessions))
        j.key("window_s"); j.double(Double(windowSeconds))
        j.key("components"); j.beginObject()
        writeBehaviourComponents(b.kind, v, into: &j)
        j.endObject()
        j.key("example_flows"); j.beginArray()
        for e in b.examples {
            j.beginObject(); j.key("flow_id"); j.uint(e.flowID); j.key("community_id"); j.string(e.communityID); j.endObject()
        }
        j.endArray()
        if folded > 0 { j.key("aggregated_flows"); j.int(folded) }
        if closing { j.key("aggregate"); j.string("closing") }
        j.endObject()
        writeEveFlowSummary(r, alerted: true, into: &j)
        writeEveAppLayer(r, into: &j)
        j.endObject()
        j.newline()
    }

    /// The closing line of a behaviour campaign.
    public func appendBehaviourClosing(_ c: BehaviourClosing, windowSeconds: Int, into j: inout JSONBuffer) {
        appendBehaviour(c.last.record(), c.verdict, severity: Int(c.last.severity), windowSeconds: windowSeconds,
                        folded: c.folded, closing: true, into: &j)
    }
}

/// The numbers behind a behaviour's score, by behaviour.
func writeBehaviourComponents(_ k: BehaviourKind, _ v: BehaviourValues, into j: inout JSONBuffer) {
    switch k {
    case .repetition:
        j.key("short_sessions"); j.int(Int(v.shortSessions))
        j.key("failed_sessions"); j.int(Int(v.failedSessions))
        j.key("refused_login_sessions"); j.int(Int(v.refusedLoginSessions))
        j.key("client_bytes_cv"); j.double(v.clientBytesCV)
        j.key("server_bytes_cv"); j.double(v.serverBytesCV)
        j.key("modal_size_share"); j.double(v.modalSizeShare)
        j.key("same_request_share"); j.double(v.sameRequestShare)
        j.key("median_gap_s"); j.double(v.medianGapSeconds)
        j.key("clock_spread"); j.double(v.clockSpread)
        j.key("span_s"); j.double(v.spanSeconds)
    case .beaconing where v.beaconingIsDNS:
        // The DNS series' components (the client's look-ups under the domain), under the same keys.
        j.key("series"); j.string("dns")
        j.key("beats"); j.int(Int(v.dnsBeats))
        j.key("timing"); j.string(v.dnsTimedPerName ? "per_name" : "per_beat")
        j.key("ts_score"); j.double(v.dnsTsScore)
        j.key("ds_score"); j.double(v.dnsDsScore)
        j.key("count_score"); j.double(v.dnsCountScore)
        j.key("gap_skew"); j.double(v.dnsGapSkew)
        j.key("gap_mad_s"); j.double(v.dnsGapMAD)
        j.key("median_gap_s"); j.double(v.dnsMedianGapSeconds)
    case .beaconing:
        j.key("ts_score"); j.double(v.tsScore)
        j.key("ds_score"); j.double(v.dsScore)
        j.key("count_score"); j.double(v.countScore)
        j.key("gap_skew"); j.double(v.gapSkew)
        j.key("gap_mad_s"); j.double(v.gapMAD)
        j.key("median_gap_s"); j.double(v.medianGapSeconds)
    case .dnsTunnel:
        j.key("queries"); j.int(Int(v.dnsQueries))
        j.key("distinct_subdomains"); j.double(v.dnsDistinctSubdomains)
        j.key("mean_subdomain_length"); j.double(v.dnsMeanSubdomainLength)
        j.key("mean_entropy"); j.double(v.dnsMeanEntropy)
        j.key("data_type_share"); j.double(v.dnsDataTypeShare)
    case .webAttack:
        j.key("families"); j.string(WebAttackFamilies(rawValue: v.webAttackFamilies).names)
        j.key("requests"); j.int(Int(v.webAttackRequests))
        if v.httpMisses > 0 {
            // The pair series' HTTP answers in the window (forced browsing across connections).
            j.key("series_responses"); j.int(Int(v.httpResponses))
            j.key("series_misses"); j.int(Int(v.httpMisses))
            j.key("series_missed_paths"); j.int(Int(v.httpMissedPaths))
        }
    case .flooding:
        j.key("one_sided_sessions"); j.int(Int(v.floodOneSided))
        j.key("sessions_to_target"); j.int(Int(v.floodSessions))
        j.key("unanswered_requests"); j.int(Int(v.floodRequests))
        j.key("sources"); j.int(Int(v.floodSources))
        j.key("ports"); j.int(Int(v.floodPorts))
        j.key("window_s"); j.int(Int(v.floodWindowSeconds))
    case .scanning:
        j.key("first_contacts"); j.int(Int(v.firstContacts))
        j.key("failed_first_contacts"); j.int(Int(v.failedFirstContacts))
        j.key("trw_llr"); j.double(v.scanLLR)
        j.key("scanner"); j.bool(v.scanner)
    }
}

/// The `behaviour {…}` object of a flow record: the series' and client's
/// values at the flow's end (docs/features.md), written as one raw block
/// (keys are literals; on the record path for every flow).
public func writeBehaviourValues(_ v: BehaviourValues, dns q: DNSQuestion = DNSQuestion(), into j: inout JSONBuffer) {
    j.key("behaviour")
    // At most 54 numbers and 1.3 KB of keys and punctuation (the writer does
    // not check its bound as it goes: this must hold for every value).
    j.rawValue(capacity: 54 * RawJSONWriter.maxNumber + 1330) { w in
        w.lit(#"{"repetition":"#); w.double(v.repetition)
        w.lit(#","beaconing":"#); w.double(v.beaconing)
        w.lit(#","scanning":"#); w.double(v.scanning)
        w.lit(#","flooding":"#); w.double(v.flooding)
        w.lit(#","sessions":"#); w.unsigned(UInt64(v.sessions))
        w.lit(#","short_sessions":"#); w.unsigned(UInt64(v.shortSessions))
        w.lit(#","failed_sessions":"#); w.unsigned(UInt64(v.failedSessions))
        w.lit(#","reset_sessions":"#); w.unsigned(UInt64(v.resetSessions))
        if v.refusedLoginSessions > 0 {
            w.lit(#","refused_login_sessions":"#); w.unsigned(UInt64(v.refusedLoginSessions))
        }
        // The distribution of the series, once it has two sessions to compare.
        if v.hasSeriesStatistics {
            w.lit(#","client_bytes_cv":"#); w.double(v.clientBytesCV)
            w.lit(#","server_bytes_cv":"#); w.double(v.serverBytesCV)
            w.lit(#","modal_size_share":"#); w.double(v.modalSizeShare)
            w.lit(#","median_duration_s":"#); w.double(v.medianDurationSeconds)
            w.lit(#","median_gap_s":"#); w.double(v.medianGapSeconds)
        }
        w.lit(#","components":{"#)
        if v.hasSeriesStatistics {
            w.lit(#""clock_spread":"#); w.double(v.clockSpread)
            w.lit(#","same_request_share":"#); w.double(v.sameRequestShare)
            w.lit(#","ts_score":"#); w.double(v.tsScore)
            w.lit(#","ds_score":"#); w.double(v.dsScore)
            w.lit(#","count_score":"#); w.double(v.countScore)
            w.lit(#","gap_skew":"#); w.double(v.gapSkew)
            w.lit(#","gap_mad_s":"#); w.double(v.gapMAD)
            switch v.beaconExempt {
            case .none: break
            case .timeSync: w.lit(#","beacon_exempt":"time_sync""#)
            case .poller: w.lit(#","beacon_exempt":"poller""#)
            case .lookups: w.lit(#","beacon_exempt":"lookups""#)  // DNS series only
            }
            w.byte(UInt8(ascii: ","))
        }
        w.lit(#""first_contacts":"#); w.unsigned(UInt64(v.firstContacts))
        w.lit(#","failed_first_contacts":"#); w.unsigned(UInt64(v.failedFirstContacts))
        w.lit(#","trw_llr":"#); w.double(v.scanLLR)
        w.lit("}")
        // The flow's target over the flood window, when it is flooded.
        if v.flooding > 0 {
            w.lit(#","flood":{"one_sided_sessions":"#); w.unsigned(UInt64(v.floodOneSided))
            w.lit(#","sessions":"#); w.unsigned(UInt64(v.floodSessions))
            w.lit(#","unanswered_requests":"#); w.unsigned(UInt64(v.floodRequests))
            w.lit(#","sources":"#); w.unsigned(UInt64(v.floodSources))
            w.lit(#","ports":"#); w.unsigned(UInt64(v.floodPorts))
            if v.floodTargetIsClient { w.lit(#","target":"source""#) }
            if !v.floodTargetHeard { w.lit(#","target_heard":false"#) }
            w.byte(UInt8(ascii: "}"))
        }
        // The pair series' HTTP misses in the window, when there were some.
        if v.httpMisses > 0 {
            w.lit(#","http":{"responses":"#); w.unsigned(UInt64(v.httpResponses))
            w.lit(#","misses":"#); w.unsigned(UInt64(v.httpMisses))
            w.lit(#","missed_paths":"#); w.unsigned(UInt64(v.httpMissedPaths))
            w.byte(UInt8(ascii: "}"))
        }
        // Web-attack content in the flow's own requests, or forced browsing across the series' connections.
        if v.webAttack > 0 {
            w.lit(#","web_attack":"#); w.double(v.webAttack)
            w.lit(#","web_attack_requests":"#); w.unsigned(UInt64(v.webAttackRequests))
        }
        if v.dnsQueries > 0 {
            w.lit(#","dns_tunnel":"#); w.double(v.dnsTunnel)
            w.lit(#","dns":{"queries":"#); w.unsigned(UInt64(v.dnsQueries))
            w.lit(#","distinct_subdomains":"#); w.double(v.dnsDistinctSubdomains)
            w.lit(#","mean_subdomain_length":"#); w.double(v.dnsMeanSubdomainLength)
            w.lit(#","mean_entropy":"#); w.double(v.dnsMeanEntropy)
            w.lit(#","data_type_share":"#); w.double(v.dnsDataTypeShare)
            // The series' look-ups as a beacon (its beats: runs of look-ups under 1 s apart).
            w.lit(#","beats":"#); w.unsigned(UInt64(v.dnsBeats))
            if v.dnsTimedPerName { w.lit(#","timing":"per_name""#) } else { w.lit(#","timing":"per_beat""#) }
            w.lit(#","median_gap_s":"#); w.double(v.dnsMedianGapSeconds)
            w.lit(#","ts_score":"#); w.double(v.dnsTsScore)
            w.lit(#","ds_score":"#); w.double(v.dnsDsScore)
            w.lit(#","count_score":"#); w.double(v.dnsCountScore)
            w.lit(#","gap_skew":"#); w.double(v.dnsGapSkew)
            w.lit(#","gap_mad_s":"#); w.double(v.dnsGapMAD)
            w.lit(#","beaconing":"#); w.double(v.dnsBeaconing)
            switch v.dnsBeaconExempt {
            case .none, .timeSync: break  // time sync is a pair series' exemption
            case .poller: w.lit(#","beacon_exempt":"poller""#)
            case .lookups: w.lit(#","beacon_exempt":"lookups""#)
            }
            // This flow's own question.
            w.lit(#","qtype":"#); w.unsigned(UInt64(q.qtype))
            w.lit(#","subdomain_length":"#); w.unsigned(UInt64(q.subdomainLength))
            w.lit(#","subdomain_entropy":"#); w.double(Double(q.subdomainEntropy))
            w.byte(UInt8(ascii: "}"))
        } else {
            w.lit(#","dns_tunnel":"#); w.double(0)
        }
        w.byte(UInt8(ascii: "}"))
    }
}
