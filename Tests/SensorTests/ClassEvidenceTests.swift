import Alerts
import AppLayer
import Behaviour
import Decoding
import Detection
import Features
import Flows
import Foundation
import Testing
@testable import Sensor

/// The evidence gate's rules: each attack class needs what it is by
/// definition, and an ordinary flow that a classifier misnames lacks it.
struct ClassEvidenceTests {
    static func record(proto: UInt8 = 6, dport: UInt16 = 443, _ features: [(Feature, Double)] = []) -> FlowRecord {
        var r = FlowRecord.blank
        r.srcIP = IPAddress("10.0.0.1")!; r.dstIP = IPAddress("10.0.0.2")!
        r.srcPort = 40000; r.dstPort = dport; r.proto = proto; r.hasPorts = proto != 1
        for (f, v) in features { r.features[f] = v }
        return r
    }

    static func series(sessions: UInt32, short: UInt32 = 0, failed: UInt32 = 0) -> BehaviourValues {
        var b = BehaviourValues()
        b.sessions = sessions; b.shortSessions = short; b.failedSessions = failed
        return b
    }

    @Test func aTunnelIsDNSThatCarriesDataOrICMP() {
        let smtp = Self.record(dport: 25, [(.fwd_pkts, 40), (.bwd_pkts, 38)])
        #expect(!ClassEvidence.supports("tunnel", record: smtp, behaviour: Self.series(sessions: 1)))
        // A resolver's ordinary A look-up, even of a long CDN name, is not a tunnel.
        var lookup = Self.record(proto: 17, dport: 53, [(.app_dns, 1), (.dns_qtype_class, 1), (.beh_dns_tunnel, 0.03)])
        lookup.dns.present = true; lookup.dns.qtype = 1; lookup.dns.subdomainLength = 37
        #expect(!ClassEvidence.supports("tunnel", record: lookup, behaviour: nil))
        // Data-carrying types, a tunnel score, or a name packed with data are.
        #expect(ClassEvidence.supports("tunnel", record: Self.record(proto: 17, dport: 53, [(.app_dns, 1), (.dns_qtype_class, 4)]), behaviour: nil))
        var null = Self.record(proto: 6, dport: 53); null.dns.present = true; null.dns.qtype = 10
        #expect(ClassEvidence.supports("tunnel", record: null, behaviour: nil))
        #expect(ClassEvidence.supports("tunnel", record: Self.record(proto: 17, dport: 53, [(.beh_dns_tunnel, 0.9)]), behaviour: nil))
        var packed = lookup; packed.dns.subdomainLength = 120
        #expect(ClassEvidence.supports("tunnel", record: packed, behaviour: nil))
        // TXT on another port is not DNS.
        #expect(!ClassEvidence.supports("tunnel", record: Self.record(proto: 17, dport: 5000, [(.dns_qtype_class, 4)]), behaviour: nil))
        var ping = Self.record(proto: 1, dport: 0)
        ping.icmpToServer = ICMPMessage.encode(type: 8, code: 0)
        #expect(ClassEvidence.supports("tunnel", record: ping, behaviour: nil))
    }

    @Test func aWebAttackIsHTTPInTheClearWithAnAttacksMarks() {
        #expect(!ClassEvidence.supports("webattack", record: Self.record([(.app_tls, 1)]), behaviour: nil))
        let plainGet = Self.record(dport: 80, [(.app_http, 1), (.http_requests, 1), (.http_status_class, 2), (.http_uri_len, 16)])
        #expect(!ClassEvidence.supports("webattack", record: plainGet, behaviour: nil))
        for mark: Feature in [.http_uri_quotes, .http_uri_angles, .http_uri_traversals, .http_uri_semicolons] {
            #expect(ClassEvidence.supports("webattack", record: Self.record(dport: 80, [(.app_http, 1), (mark, 1)]), behaviour: nil))
        }
        #expect(ClassEvidence.supports("webattack", record: Self.record(dport: 80, [(.app_http, 1), (.http_uri_pct_share, 0.3)]), behaviour: nil))
        #expect(ClassEvidence.supports("webattack", record: Self.record(dport: 80, [(.app_http, 1), (.http_status_class, 4)]), behaviour: nil))
        #expect(ClassEvidence.supports("webattack", record: Self.record(dport: 80, [(.app_http, 1), (.http_requests, 12)]), behaviour: nil))
    }

    @Test func aScanReachesManyEndpointsAndMostFail() {
        // A browsing client: many servers, every handshake answered.
        let browsing = Self.record([(.src_distinct_dsts, 12), (.src_distinct_dports, 2), (.bwd_pkts, 20)])
        #expect(!ClassEvidence.supports("scan", record: browsing, behaviour: Self.series(sessions: 1)))
        // One failed connection to one port is not a scan either.
        let oneFail = Self.record([(.src_distinct_dports, 1), (.src_failed_handshakes, 1)])
        #expect(!ClassEvidence.supports("scan", record: oneFail, behaviour: Self.series(sessions: 1)))
        let sweep = Self.record([(.src_distinct_dports, 200), (.src_failed_handshakes, 180)])
        #expect(ClassEvidence.supports("scan", record: sweep, behaviour: nil))
        var walked = BehaviourValues(); walked.firstContacts = 9; walked.failedFirstContacts = 8
        #expect(ClassEvidence.supports("scan", record: Self.record(), behaviour: walked))
        // UDP probes to many ports that got nothing back.
        let udp = Self.record(proto: 17, dport: 161, [(.src_distinct_dports, 30), (.fwd_pkts, 1), (.bwd_pkts, 0)])
        #expect(ClassEvidence.supports("scan", record: udp, behaviour: nil))
        // A flood's evidence also supports a scan verdict (the two are named one for the other).
        #expect(ClassEvidence.supports("scan", record: Self.record([(.dst_half_open, 500)]), behaviour: nil))
    }

    @Test func aFloodPilesFlowsOrPacketsOnOneTarget() {
        let busy = Self.record([(.dst_flows, 8), (.dst_distinct_srcs, 5), (.fwd_pkts, 30), (.bwd_pkts, 60)])
        #expect(!ClassEvidence.supports("dos", record: busy, behaviour: Self.series(sessions: 2)))
        #expect(ClassEvidence.supports("dos", record: Self.record([(.dst_half_open, 40)]), behaviour: nil))
        #expect(ClassEvidence.supports("dos", record: Self.record([(.dst_distinct_srcs, 5000)]), behaviour: nil))
        let oneWay = Self.record(proto: 17, dport: 9999, [(.fwd_pkts, 20_000), (.bwd_pkts, 0)])
        #expect(ClassEvidence.supports("dos", record: oneWay, behaviour: Self.series(sessions: 1)))
        // A big download is not a one-flow flood: the packets come back.
        let download = Self.record([(.fwd_pkts, 1500), (.bwd_pkts, 3000)])
        #expect(!ClassEvidence.supports("dos", record: download, behaviour: Self.series(sessions: 1)))
        // slowloris: many sessions from one client to one service.
        #expect(ClassEvidence.supports("dos", record: Self.record(dport: 80), behaviour: Self.series(sessions: 150)))
        // An HTTP flood over keep-alive: many requests in one connection.
        #expect(ClassEvidence.supports("dos", record: Self.record(dport: 80, [(.http_requests, 28)]), behaviour: Self.series(sessions: 1)))
        // Without the behaviour table the sessions are unknown: not held against the verdict.
        #expect(ClassEvidence.supports("dos", record: busy, behaviour: nil))
    }

    @Test func guessingRepeatsShortSessionsToOneService() {
        let one = Self.record(dport: 22, [(.app_ssh, 1)])
        // One or two sessions are not a guessing campaign (yet).
        #expect(!ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 1)))
        #expect(!ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 2, short: 2)))
        #expect(ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 3, short: 3)))
        #expect(ClassEvidence.supports("bruteforce", record: Self.record(dport: 22, [(.beh_repetition, 0.9)]),
                                       behaviour: Self.series(sessions: 1)))
        // HTTP basic-auth guesses over one keep-alive connection.
        #expect(ClassEvidence.supports("bruteforce", record: Self.record(dport: 80, [(.http_requests, 40)]),
                                       behaviour: Self.series(sessions: 1)))
    }

    static func withLogin(_ r: FlowRecord, _ proto: LoginProtocol, failures: Int, succeeded: Bool?) -> FlowRecord {
        var r = r
        r.app = AppLayerInfo(proto: proto == .ssh ? .ssh : .failed,
                             login: LoginOutcome(proto: proto, failures: failures, succeeded: succeeded),
                             client: AppStreamStats(), server: AppStreamStats())
        return r
    }

    @Test func aRefusedLoginIsGuessingInTheFirstSession() {
        let first = Self.series(sessions: 1)
        let ssh = Self.record(dport: 22, [(.app_ssh, 1)])
        #expect(ClassEvidence.supports("bruteforce", record: Self.withLogin(ssh, .ssh, failures: 3, succeeded: false), behaviour: first))
        // SSH refuses the "none" probe and unknown keys before a login succeeds; undecided is not refused.
        #expect(!ClassEvidence.supports("bruteforce", record: Self.withLogin(ssh, .ssh, failures: 2, succeeded: true), behaviour: first))
        #expect(!ClassEvidence.supports("bruteforce", record: Self.withLogin(ssh, .ssh, failures: 2, succeeded: nil), behaviour: first))
        // One refused password elsewhere is a refusal, even when a later one was accepted; HTTP's 401 too.
        let pop = Self.record(dport: 110)
        #expect(ClassEvidence.supports("bruteforce", record: Self.withLogin(pop, .pop3, failures: 1, succeeded: true), behaviour: first))
        #expect(!ClassEvidence.supports("bruteforce", record: Self.withLogin(pop, .pop3, failures: 0, succeeded: true), behaviour: first))
        #expect(ClassEvidence.supports("bruteforce", record: Self.withLogin(Self.record(dport: 80), .http, failures: 1, succeeded: nil),
                                       behaviour: first))
    }

    @Test func theSameRequestOnAClockIsAPollerNotGuessing() {
        // A mail client checking every minute: its sixth session, same bytes each time.
        let pop = Self.record(dport: 110)
        var poller = Self.series(sessions: 6, short: 6)
        poller.pollerSchedule = true
        #expect(!ClassEvidence.supports("bruteforce", record: pop, behaviour: poller))
        // A refused login still counts (a stored password gone stale is worth a look).
        #expect(ClassEvidence.supports("bruteforce", record: Self.withLogin(pop, .pop3, failures: 1, succeeded: false), behaviour: poller))
    }

    @Test func anICMPErrorIsAFloodOnlyWhenItsSenderAnswersOne() {
        // A port-unreachable to a busy resolver (its destination in 80 flows):
        // a late DNS answer's reply, not a flood, and never a tunnel.
        var late = Self.record(proto: 1, dport: 0, [(.fwd_pkts, 1), (.dst_flows, 80), (.src_flows, 12)])
        late.icmpToServer = ICMPMessage.encode(type: 3, code: 3)
        #expect(!ClassEvidence.supports("dos", record: late, behaviour: Self.series(sessions: 1)))
        #expect(!ClassEvidence.supports("tunnel", record: late, behaviour: nil))
        // A victim answering a UDP flood: hundreds of replies of its own.
        var victim = late
        victim.features[.src_flows] = 400
        #expect(ClassEvidence.supports("dos", record: victim, behaviour: Self.series(sessions: 1)))
        // ICMPv6 errors are types 1–4; an echo is no error, and may carry a tunnel.
        var v6 = Self.record(proto: 58, dport: 0, [(.dst_flows, 80)])
        v6.icmpToServer = ICMPMessage.encode(type: 1, code: 4)
        #expect(!ClassEvidence.supports("dos", record: v6, behaviour: Self.series(sessions: 1)))
        var echo = Self.record(proto: 1, dport: 0, [(.dst_flows, 80)])
        echo.icmpToServer = ICMPMessage.encode(type: 8, code: 0)
        #expect(ClassEvidence.supports("dos", record: echo, behaviour: Self.series(sessions: 1)))
        #expect(ClassEvidence.supports("tunnel", record: echo, behaviour: nil))
    }

    @Test func aBeaconComesBack() {
        #expect(!ClassEvidence.supports("c2", record: Self.record(), behaviour: Self.series(sessions: 1)))
        #expect(ClassEvidence.supports("c2", record: Self.record(), behaviour: Self.series(sessions: 2)))
        #expect(ClassEvidence.supports("c2", record: Self.record([(.beh_beaconing, 0.8)]), behaviour: Self.series(sessions: 1)))
    }

    @Test func classesWithoutARuleAlwaysPass() {
        #expect(ClassEvidence.supports("anomaly", record: Self.record(), behaviour: nil))
        #expect(ClassEvidence.supports("benign", record: Self.record(), behaviour: nil))
    }
}

/// The gate in the scoring stage, on the lab's slow attacks (whose first
/// sessions the models flag before any evidence exists): verdicts whose
/// class lacks its evidence are written as benign records carrying
/// `unsupported_class`, with no alert line, and counted.
@Suite(.serialized) struct EvidenceGateStageTests {
    static func run(gate: Bool, dir: URL) throws -> (alerts: [[String: Any]], flows: [[String: Any]], dropped: [String: UInt64]) {
        let model = try EnsembleModel.load(path: Repo.root.appendingPathComponent("rules/flowsentry.fsb").path)
        let alertsPath = dir.appendingPathComponent("alerts-\(gate).json").path
        let flowsPath = dir.appendingPathComponent("flows-\(gate).json").path
        let out = try OutputFiles(alerts: alertsPath, flows: flowsPath, stats: nil)
        let stage = ScoringStage(model: model, policy: Policy())
        stage.explain = false
        stage.evidenceGate = gate
        let writer = RecordWriter(context: EveContext(), scoring: stage, outputs: out, behaviour: BehaviourStage(config: .init()))
        let batch = RecordBatch()
        ReplayPipeline(config: .init(), behaviour: nil).run(files: [Repo.root.appendingPathComponent("captures/behaviour-slow.pcap").path]) { r, _ in
            batch.records.append(r)
        }
        writer.write(batch)
        writer.finish()
        out.syncAll(final: true)
        func read(_ p: String) -> [[String: Any]] {
            ((try? String(contentsOfFile: p, encoding: .utf8)) ?? "").split(separator: "\n").map {
                try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
        return (read(alertsPath), read(flowsPath), stage.counters.unsupported)
    }

    @Test func unsupportedVerdictsAreWrittenAsBenignRecordsWithoutAlerts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-evidence-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let open = try Self.run(gate: false, dir: dir)
        let gated = try Self.run(gate: true, dir: dir)
        #expect(open.dropped.isEmpty)
        let dropped = gated.dropped.values.reduce(0, +)
        #expect(dropped > 0)
        let marked = gated.flows.filter { ($0["ml"] as! [String: Any])["unsupported_class"] != nil }
        #expect(UInt64(marked.count) == dropped)
        let modelAlertIDs = Set(gated.alerts.filter { ($0["ml"] as? [String: Any]) != nil }
            .compactMap { ($0["flow_id"] as? NSNumber)?.uint64Value })
        var fused = 0
        for f in marked {
            let ml = f["ml"] as! [String: Any]
            // Benign, unless a behaviour verdict of the flow's series took the models' place.
            if ml["source"] as? String == "behaviour" { fused += 1; continue }
            #expect(ml["class"] as? String == "benign")
            #expect(!modelAlertIDs.contains((f["flow_id"] as! NSNumber).uint64Value))
        }
        #expect(fused < marked.count)
        // Every verdict the gate let through has its class's mark, checked
        // here from the record alone: tunnels are DNS or ICMP, web attacks HTTP.
        for a in gated.alerts {
            guard let ml = a["ml"] as? [String: Any], ml["source"] == nil else { continue }
            let cls = ml["class"] as! String
            if cls == "tunnel" {
                #expect(a["app_proto"] as? String == "dns" || a["dest_port"] as? Int == 53 || (a["proto"] as? String)?.hasPrefix("ICMP") == true)
            }
            if cls == "webattack" { #expect(a["app_proto"] as? String == "http") }
        }
    }
}
