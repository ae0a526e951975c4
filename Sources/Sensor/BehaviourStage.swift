import AppLayer
import Alerts
import Behaviour
import Decoding
import Flows

extension SessionObservation {
    /// What a flow's first record tells the behaviour table. TCP: answered
    /// when the server sent SYN-ACK; failed when the client sent nothing but
    /// SYNs (the server silent or refusing); unknown otherwise (mid-stream,
    /// one side missing). Other protocols: answered when the server sent anything.
    init(_ r: FlowRecord) {
        let outcome: SessionOutcome
        let synAck = TCPFlag.syn | TCPFlag.ack
        if r.proto == IPProto.tcp {
            if r.tcpFlagsToClient & synAck == synAck { outcome = .answered }
            else if r.tcpFlagsToServer & ~(TCPFlag.syn | TCPFlag.ece | TCPFlag.cwr) == 0 && r.tcpFlagsToServer & TCPFlag.syn != 0 {
                outcome = .failed
            } else { outcome = .unknown }
        } else {
            outcome = r.pktsToClient > 0 ? .answered : .unknown
        }
        self.init(client: r.srcIP, server: r.dstIP, serverPort: r.hasPorts ? r.dstPort : 0, proto: r.proto,
                  startNs: r.startNs, endNs: r.endNs,
                  clientBytes: UInt64(max(0, r.features[.fwd_payload_bytes])),
                  serverBytes: UInt64(max(0, r.features[.bwd_payload_bytes])),
                  clientIPBytes: r.bytesToServer, clientPackets: r.pktsToServer, serverPackets: r.pktsToClient,
                  outcome: outcome, reset: (r.tcpFlagsToServer | r.tcpFlagsToClient) & TCPFlag.rst != 0,
                  serverIsUnicast: r.dstIP.isUnicast)
        clientPort = r.hasPorts ? r.srcPort : 0
        flowID = r.flowID
        dns = r.dns
        login = r.app?.login != nil
        loginRefused = r.app?.login?.refused ?? false
        icmpError = ClassEvidence.icmpError(r)
        if let http = r.app?.http {
            httpResponses = UInt32(clamping: http.responseCount)
            // A package manager's misses are its repositories' answers, not guesses.
            httpMisses = http.artifactClient ? 0 : UInt32(clamping: http.missResponses)
            httpMissedPaths = http.artifactClient ? 0 : http.missedPaths
        }
    }
}

extension IPAddress {
    /// Not multicast, not the IPv4 limited broadcast, not unspecified.
    var isUnicast: Bool {
        let first = UInt8(truncatingIfNeeded: hi)
        switch version {
        case 4: return first < 224 && hi & 0xFFFF_FFFF != 0
        case 6: return first != 0xFF && (hi | lo) != 0
        default: return false
        }
    }
}

extension BehaviourValues {
    /// The flow's own requests' web-attack content (`WebAttackContent`):
    /// 0.8 for one request that showed some, 1 for two or more or an
    /// attack tool's User-Agent (docs/features.md, "Web attacks by content"),
    /// joined with what the table found across the pair series' connections
    /// (forced browsing): the larger score, both families.
    mutating func noteWebAttack(_ http: HTTPInfo?) {
        guard let http, !http.webAttack.isEmpty else { return }
        webAttackFamilies |= http.webAttack.rawValue
        webAttackRequests = max(webAttackRequests, UInt32(clamping: http.webAttackRequests))
        webAttack = max(webAttack, http.webAttackRequests >= 2 || http.webAttack.contains(.attackTool) ? 1 : 0.8)
    }

    /// An exploit seen in TLS records: a heartbeat over-read (Heartbleed)
    /// is an exploit by definition, 1 whatever else the flow shows.
    mutating func noteExploit(_ tls: TLSInfo?) {
        guard let tls, tls.heartbeatOverread else { return }
        webAttackFamilies |= WebAttackFamilies.heartbleed.rawValue
        webAttackRequests = max(webAttackRequests, UInt32(clamping: tls.clientRecords.heartbeat))
        webAttack = 1
    }
}

/// Feeds each batch's flows to the behaviour table, in order, and puts in
/// the batch what the writer needs: the values per record and, for records
/// whose behaviour may raise a verdict, example flows of their series.
/// Continuation records (a long flow's later segments) are not new
/// sessions: they carry no behaviour values. Used by one thread at a time
/// (replay: the reading thread; live: the output thread).
package final class BehaviourStage: @unchecked Sendable {
    package let table: BehaviourTable
    package var communityIDSeed: UInt16 = 0
    /// A batch's observations, one per record (storage kept between batches).
    private var observations: [SessionObservation] = []

    /// `prefault`: see `BehaviourTable.init` (live capture writes the tables now; replay need not).
    package init(config: BehaviourConfig, prefault: Bool = true) {
        table = BehaviourTable(config: config, prefault: prefault)
    }

    /// Observes the batch's records unless that was done already, and sets
    /// each observed record's behaviour features.
    package func observe(_ batch: RecordBatch) {
        guard batch.behaviour.count != batch.records.count else { return }
        batch.behaviour.removeAll(keepingCapacity: true)
        batch.examples.removeAll(keepingCapacity: true)
        observe(&batch.records, values: &batch.behaviour, examples: &batch.examples)
    }

    /// Observes one record (the one-thread replay of train, evaluate and
    /// features), sets its behaviour features and returns the values; nil for
    /// a long flow's later segments.
    @discardableResult
    package func observe(_ record: inout FlowRecord) -> BehaviourValues? {
        guard record.segment == 0 else { return nil }
        record.resolveAppLayer()
        var v = table.observe(SessionObservation(record))
        v.noteWebAttack(record.app?.http)
        v.noteExploit(record.app?.tls)
        record.features.setBehaviour(v)
        return v
    }

    private func observe(_ records: inout [FlowRecord], values: inout [BehaviourValues?],
                         examples: inout [Int: [(flowID: UInt64, communityID: String)]]) {
        // The application layer is parsed here, once, before the
        // observation: a refused login is part of what the table counts.
        // Every record's observation is made first (in place, in storage kept
        // between batches: no copies of them), then each is observed with the
        // next one's table lines prefetched.
        observations.removeAll(keepingCapacity: true)
        records.withUnsafeMutableBufferPointer { recs in
            for i in recs.indices {
                recs[i].resolveAppLayer()
                observations.append(SessionObservation(recs[i]))
            }
            observations.withUnsafeBufferPointer { obs in
                for i in recs.indices {
                    if i + 1 < recs.count && recs[i + 1].segment == 0 { table.prefetch(obs[i + 1]) }
                    guard recs[i].segment == 0 else { values.append(nil); continue }
                    let o = obs.baseAddress.unsafelyUnwrapped + i  // not copied (an observation is ~200 bytes)
                    var v = table.observe(o.pointee)
                    v.noteWebAttack(recs[i].app?.http)
                    v.noteExploit(recs[i].app?.tls)
                    values.append(v)
                    let r = recs.baseAddress.unsafelyUnwrapped + i  // not copied (a record is ~2 KB)
                    r.pointee.features.setBehaviour(v)
                    if v.strongestScore >= 0.5 {
                        // The pair series' last sessions for its own behaviours;
                        // the flow itself for the client's (scanning), the target's (flooding) and the DNS
                        // series' (a tunnel, a DNS beacon: the resolver's pair
                        // series holds every name its clients look up).
                        let pairSeries = v.repetition >= 0.5 || (v.beaconing >= 0.5 && !v.beaconingIsDNS)
                        let flows = !pairSeries
                            ? [(r.pointee.flowID, r.pointee.srcPort)]
                            : table.recentFlows(of: o.pointee, limit: 5).map { ($0.flowID, $0.clientPort) }
                        examples[i] = flows.map { f in
                            (f.0, CommunityID.compute(src: r.pointee.srcIP, dst: r.pointee.dstIP, proto: r.pointee.proto,
                                                      sport: f.1, dport: r.pointee.dstPort, seed: communityIDSeed))
                        }
                    }
                }
            }
        }
    }

    /// The `behaviour {…}` object of stats records.
    package func appendStats(into j: inout JSONBuffer) {
        let c = table.counters
        j.key("behaviour"); j.beginObject()
        j.key("observed"); j.uint(c.observed)
        j.key("pairs"); j.int(c.pairsHeld)
        j.key("pair_capacity"); j.int(table.config.pairCapacity)
        j.key("pair_evictions"); j.uint(c.pairEvictions)
        j.key("clients"); j.int(c.clientsHeld)
        j.key("client_capacity"); j.int(table.config.clientCapacity)
        j.key("client_evictions"); j.uint(c.clientEvictions)
        j.key("dns_series"); j.int(c.dnsSeriesHeld)
        j.key("dns_capacity"); j.int(table.config.dnsCapacity)
        j.key("dns_evictions"); j.uint(c.dnsEvictions)
        j.key("targets"); j.int(c.targetsHeld)
        j.key("target_capacity"); j.int(table.config.targetCapacity)
        j.key("target_evictions"); j.uint(c.targetEvictions)
        j.endObject()
    }
}
