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
        var null = Self.record(proto: 6, dport: 53); null.dns.present = true; null.dns.qtype = 10; null.dns.subdomainLength = 30
        #expect(ClassEvidence.supports("tunnel", record: null, behaviour: nil))
        // A mail server's TXT look-ups carry no data: SPF asks the domain itself,
        // DKIM, DMARC and MTA-STS ask underscore names.
        var spf = Self.record(proto: 17, dport: 53, [(.app_dns, 1), (.dns_qtype_class, 4)]); spf.dns.present = true; spf.dns.qtype = 16
        #expect(!ClassEvidence.supports("tunnel", record: spf, behaviour: nil))
        var dkim = spf; dkim.dns.subdomainLength = 13; dkim.dns.hasServiceLabel = true
        #expect(!ClassEvidence.supports("tunnel", record: dkim, behaviour: nil))
        var txtData = spf; txtData.dns.subdomainLength = 30
        #expect(ClassEvidence.supports("tunnel", record: txtData, behaviour: nil))
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
        // A browser's run of plain GETs over keep-alive is none either.
        #expect(!ClassEvidence.supports("webattack", record: Self.record(dport: 80, [(.app_http, 1), (.http_requests, 12), (.http_status_class, 2)]), behaviour: nil))
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

    @Test func anUnansweredDatagramIsAProbeOnlyFromAClientWhoseDatagramsMostlyGoUnanswered() {
        // A recursive resolver's query that got no answer: it reaches many
        // servers, but 3 of its 200 UDP first contacts were silent.
        let lost = Self.record(proto: 17, dport: 53, [(.src_distinct_dsts, 150), (.fwd_pkts, 1), (.bwd_pkts, 0)])
        var resolver = BehaviourValues(); resolver.udpFirstContacts = 200; resolver.udpUnansweredFirstContacts = 3
        #expect(!ClassEvidence.supports("scan", record: lost, behaviour: resolver))
        #expect(!ClassEvidence.supports("dos", record: lost, behaviour: resolver))
        // A UDP sweep: 30 of 31 first contacts silent.
        var sweeper = BehaviourValues(); sweeper.udpFirstContacts = 31; sweeper.udpUnansweredFirstContacts = 30
        #expect(ClassEvidence.supports("scan", record: lost, behaviour: sweeper))
        // Half silent is still probing; three silent are too few to tell.
        sweeper.udpFirstContacts = 8; sweeper.udpUnansweredFirstContacts = 4
        #expect(ClassEvidence.supports("scan", record: lost, behaviour: sweeper))
        sweeper.udpFirstContacts = 3; sweeper.udpUnansweredFirstContacts = 3
        #expect(!ClassEvidence.supports("scan", record: lost, behaviour: sweeper))
        // An answered datagram is no probe, whatever its client does.
        var answered = lost; answered.features[.bwd_pkts] = 1
        sweeper.udpFirstContacts = 31; sweeper.udpUnansweredFirstContacts = 30
        #expect(!ClassEvidence.supports("scan", record: answered, behaviour: sweeper))
    }

    @Test func anICMPErrorIsAScanOnlyWhenItsSenderAnswersMany() {
        // A client's port-unreachable for a resolver's late answer: the
        // resolver has many flows (flood evidence for its other flows), the
        // client few.
        var late = Self.record(proto: 1, dport: 0, [(.fwd_pkts, 1), (.dst_flows, 80), (.src_flows, 12), (.src_distinct_dsts, 6)])
        late.icmpToServer = ICMPMessage.encode(type: 3, code: 3)
        #expect(!ClassEvidence.supports("scan", record: late, behaviour: Self.series(sessions: 1)))
        // A scanned host's replies to hundreds of probes.
        var scanned = Self.series(sessions: 1); scanned.sessionsStarted = 300; scanned.icmpErrorsSent = 290
        #expect(ClassEvidence.supports("scan", record: late, behaviour: scanned))
        // Nine errors are too few to tell.
        scanned.sessionsStarted = 9; scanned.icmpErrorsSent = 9
        #expect(!ClassEvidence.supports("scan", record: late, behaviour: scanned))
    }

    @Test func aFloodPilesFlowsOrPacketsOnOneTarget() {
        let busy = Self.record([(.dst_flows, 8), (.dst_distinct_srcs, 5), (.fwd_pkts, 30), (.bwd_pkts, 60)])
        #expect(!ClassEvidence.supports("dos", record: busy, behaviour: Self.series(sessions: 2)))
        #expect(ClassEvidence.supports("dos", record: Self.record([(.dst_half_open, 40)]), behaviour: nil))
        // A visitor that got its page from the server under the SYN flood is not the flood.
        let visitorOfFlooded = Self.record([(.dst_half_open, 40), (.fwd_payload_bytes, 600), (.bwd_payload_bytes, 9000)])
        #expect(!ClassEvidence.supports("dos", record: visitorOfFlooded, behaviour: Self.series(sessions: 1)))
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
        // A busy server's client: the server's counts are high, but this flow
        // is an ordinary exchange (both sides spoke) from a client with few sessions.
        let visitor = Self.record([(.dst_flows, 400), (.dst_distinct_srcs, 90), (.fwd_pkts, 12), (.bwd_pkts, 14),
                                   (.fwd_payload_bytes, 900), (.bwd_payload_bytes, 40_000)])
        #expect(!ClassEvidence.supports("dos", record: visitor, behaviour: Self.series(sessions: 3)))
        // The same counts on a connection held open without an answer (slowloris), a spoofed SYN, an unanswered datagram.
        var held = visitor; held.features[.bwd_payload_bytes] = 0
        #expect(ClassEvidence.supports("dos", record: held, behaviour: Self.series(sessions: 3)))
        let spoofed = Self.record([(.dst_flows, 400), (.fwd_pkts, 1), (.bwd_pkts, 1)])
        #expect(ClassEvidence.supports("dos", record: spoofed, behaviour: Self.series(sessions: 1)))
        let datagram = Self.record(proto: 17, dport: 80, [(.dst_distinct_srcs, 300), (.fwd_pkts, 1), (.fwd_payload_bytes, 512)])
        #expect(ClassEvidence.supports("dos", record: datagram, behaviour: Self.series(sessions: 1)))
        // A resolver's query lost on its way to an authoritative server it
        // asks all day (3 of 200 unanswered): no flood, however busy the server.
        let lostQuery = Self.record(proto: 17, dport: 53, [(.dst_flows, 80), (.fwd_pkts, 1), (.bwd_pkts, 0), (.fwd_payload_bytes, 40)])
        var askedAllDay = Self.series(sessions: 200); askedAllDay.unansweredSessions = 3
        #expect(!ClassEvidence.supports("dos", record: lostQuery, behaviour: askedAllDay))
        #expect(!ClassEvidence.supports("scan", record: lostQuery, behaviour: askedAllDay))
        // The resolver's first query to that server, lost: a well-formed DNS
        // query nobody answered is a flood only when its series goes unanswered.
        var firstLost = lostQuery; firstLost.dns.present = true
        var onceLost = Self.series(sessions: 1); onceLost.unansweredSessions = 1
        #expect(!ClassEvidence.supports("dos", record: firstLost, behaviour: onceLost))
        var queryFlood = Self.series(sessions: 40); queryFlood.unansweredSessions = 35
        #expect(ClassEvidence.supports("dos", record: firstLost, behaviour: queryFlood))
        // One source's UDP flood: its series goes unanswered as a rule.
        var flooding = Self.series(sessions: 300); flooding.unansweredSessions = 300
        #expect(ClassEvidence.supports("dos", record: lostQuery, behaviour: flooding))
        // A spoofed source's one datagram to a target with many sources.
        var spoofedUDP = lostQuery; spoofedUDP.features[.dst_distinct_srcs] = 500
        var once = Self.series(sessions: 1); once.unansweredSessions = 1
        #expect(ClassEvidence.supports("dos", record: spoofedUDP, behaviour: once))
        // A poller's hundreds of sessions a day to one server: not at a flood's pace.
        var poller = Self.series(sessions: 390); poller.medianGapSeconds = 4.6
        #expect(!ClassEvidence.supports("dos", record: Self.record(dport: 80), behaviour: poller))
        poller.medianGapSeconds = 0.02
        #expect(ClassEvidence.supports("dos", record: Self.record(dport: 80), behaviour: poller))
        // A page load's burst of answered connections, or a client's look-ups
        // at its resolver: fast, but a few dozen; an HTTP flood answered
        // request by request is one in a flood's numbers.
        let answered = Self.record(dport: 443, [(.fwd_pkts, 12), (.bwd_pkts, 14), (.fwd_payload_bytes, 900), (.bwd_payload_bytes, 40_000)])
        var burst = Self.series(sessions: 30); burst.medianGapSeconds = 0.05
        #expect(!ClassEvidence.supports("dos", record: answered, behaviour: burst))
        var held30 = answered; held30.features[.bwd_payload_bytes] = 0
        #expect(ClassEvidence.supports("dos", record: held30, behaviour: burst))
        burst.sessions = UInt32(ClassEvidence.floodFlows)
        #expect(ClassEvidence.supports("dos", record: answered, behaviour: burst))
        // A busy client's look-ups its resolver answered: as many and as fast, no flood.
        var lookUp = Self.record(proto: 17, dport: 53, [(.fwd_pkts, 1), (.bwd_pkts, 1), (.fwd_payload_bytes, 40), (.bwd_payload_bytes, 120)])
        lookUp.dns.present = true
        #expect(!ClassEvidence.supports("dos", record: lookUp, behaviour: burst))
        lookUp.dns.present = false  // not a DNS query the sensor read: the series rule holds
        #expect(ClassEvidence.supports("dos", record: lookUp, behaviour: burst))
        // An answered echo to a busy host is an ordinary exchange too.
        var ping = Self.record(proto: 1, dport: 0, [(.dst_flows, 400), (.fwd_pkts, 1), (.bwd_pkts, 1)])
        ping.icmpToServer = ICMPMessage.encode(type: 8, code: 0)
        #expect(!ClassEvidence.supports("dos", record: ping, behaviour: Self.series(sessions: 1)))
    }

    @Test func guessingRepeatsShortSessionsToOneService() {
        let one = Self.record(dport: 22, [(.app_ssh, 1)])
        // One or two sessions are not a guessing campaign (yet).
        #expect(!ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 1)))
        #expect(!ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 2, short: 2)))
        // Nor are sessions alone: a browser opens several to one server, a
        // mail client checks its box now and then; guessing repeats them
        // alike and at its own pace (the repetition score).
        #expect(!ClassEvidence.supports("bruteforce", record: one, behaviour: Self.series(sessions: 6, short: 3)))
        #expect(ClassEvidence.supports("bruteforce", record: Self.record(dport: 22, [(.beh_repetition, 0.9)]),
                                       behaviour: Self.series(sessions: 1)))
        // A trace of repetition — a page load's burst of short sessions, a
        // reader's repeat visits — is not a campaign under way.
        #expect(!ClassEvidence.supports("bruteforce", record: Self.record(dport: 443, [(.beh_repetition, 0.08)]),
                                        behaviour: Self.series(sessions: 5, short: 5)))
        #expect(ClassEvidence.supports("bruteforce", record: Self.record(dport: 443, [(.beh_repetition, ClassEvidence.guessRepetition)]),
                                       behaviour: Self.series(sessions: 5, short: 5)))
        // Form guesses: POSTs over one keep-alive connection; a browser's GETs are not.
        #expect(ClassEvidence.supports("bruteforce", record: Self.record(dport: 80, [(.http_requests, 40), (.http_method, 2)]),
                                       behaviour: Self.series(sessions: 1)))
        #expect(!ClassEvidence.supports("bruteforce", record: Self.record(dport: 80, [(.http_requests, 40), (.http_method, 1)]),
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
        // A busy resolver's own port-unreachable for a late answer: it
        // started hundreds of flows, nearly all of them queries.
        var resolver = Self.series(sessions: 1); resolver.sessionsStarted = 900; resolver.icmpErrorsSent = 12
        var fromResolver = late; fromResolver.features[.src_flows] = 400; fromResolver.features[.src_distinct_dsts] = 300
        #expect(!ClassEvidence.supports("dos", record: fromResolver, behaviour: resolver))
        // A victim answering a spoofed UDP flood: hundreds of replies of its own, to as many hosts.
        var victim = Self.series(sessions: 1); victim.sessionsStarted = 420; victim.icmpErrorsSent = 400
        #expect(ClassEvidence.supports("dos", record: fromResolver, behaviour: victim))
        // A closed service turning a few clients away: its errors go to few hosts.
        var turningAway = victim; turningAway.sessionsStarted = 30; turningAway.icmpErrorsSent = 27
        var toFew = fromResolver; toFew.features[.src_distinct_dsts] = 3
        #expect(!ClassEvidence.supports("dos", record: toFew, behaviour: turningAway))
        // Without the behaviour table, the sender's flows in the host-context window decide.
        #expect(ClassEvidence.supports("dos", record: fromResolver, behaviour: nil))
        #expect(!ClassEvidence.supports("dos", record: late, behaviour: nil))
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
        // A young series' second and third beats, after a pause.
        var young = Self.series(sessions: 2); young.medianGapSeconds = 30
        #expect(ClassEvidence.supports("c2", record: Self.record(), behaviour: young))
        young.sessions = 3
        #expect(ClassEvidence.supports("c2", record: Self.record(), behaviour: young))
        // A page load's parallel connections come back within milliseconds.
        var burst = young; burst.medianGapSeconds = 0.02
        #expect(!ClassEvidence.supports("c2", record: Self.record(), behaviour: burst))
        // A series old enough for the beaconing score is judged by it: a
        // browser's many connections to one site over a session are no schedule.
        var browsing = young; browsing.sessions = UInt32(BehaviourTable.beaconScoreMinSessions)
        #expect(!ClassEvidence.supports("c2", record: Self.record(), behaviour: browsing))
        #expect(ClassEvidence.supports("c2", record: Self.record([(.beh_beaconing, 0.2)]), behaviour: browsing))
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
