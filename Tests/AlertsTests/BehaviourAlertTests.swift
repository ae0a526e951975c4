import Foundation
import Testing
@testable import Alerts
import Behaviour
@testable import Decoding
import Flows
@testable import Detection

/// Behaviour alert lines as the formatter writes them, read back by JSON
/// and by `flowsentry alerts`; the campaign folder's opening and closing.
@Suite struct BehaviourAlertTests {
    func verdict() -> BehaviourVerdict {
        var v = BehaviourValues()
        v.sessions = 11; v.shortSessions = 11; v.spanSeconds = 66; v.medianGapSeconds = 5.6
        v.repetition = 0.955; v.clientBytesCV = 0.04; v.serverBytesCV = 0.02
        var b = BehaviourVerdict(kind: .repetition, score: 0.955, threshold: 0.8, values: v)
        b.examples = [(flowID: 5, communityID: "1:a="), (flowID: 77, communityID: "1:b=")]
        return b
    }

    @Test func alertLineShapeAndReason() throws {
        var j = JSONBuffer()
        let f = EveAlertFormatter(context: EveContext(), modelVersion: "m")
        f.appendBehaviour(testRecord(dport: 22), verdict(), severity: 1, windowSeconds: 1800, into: &j)
        let o = try parseLine(j.bytes)
        let alert = try #require(o["alert"] as? [String: Any])
        #expect(alert["signature"] as? String == "FlowSentry behaviour: SSH password guessing")
        #expect(alert["signature_id"] as? Int == 9_100_001 && alert["severity"] as? Int == 1)
        let b = try #require(o["behaviour"] as? [String: Any])
        #expect(b["kind"] as? String == "repetition" && b["class"] as? String == "bruteforce")
        #expect(b["reason"] as? String == "11 similar short sessions to 198.51.100.9:22 in 66 s (median gap 6 s)")
        #expect(b["sessions"] as? Int == 11 && b["window_s"] as? Double == 1800)
        #expect((b["example_flows"] as? [[String: Any]])?.map { $0["flow_id"] as? Int } == [5, 77])
        #expect(b["aggregate"] == nil)
        guard case let .alert(s) = AlertSummary.parse(String(decoding: j.bytes.dropLast(), as: UTF8.self)) else {
            Issue.record("not parsed"); return
        }
        #expect(s.mlClass == "bruteforce" && s.score == 0.955 && s.behaviour == "repetition")
        #expect(AlertFilter(behaviour: "repetition").matches(s) && !AlertFilter(behaviour: "scanning").matches(s))
        #expect(AlertFilter(classes: ["bruteforce"]).matches(s))
        #expect(AlertLineFormatter.format(s, color: false).hasSuffix("[\(b["reason"] as! String)]"))
    }

    @Test func aCampaignIsOneOpeningAndOneClosingLine() {
        var folder = BehaviourAlertFolder(quietSeconds: 1800)
        var closed: [BehaviourClosing] = []
        let key = BehaviourAlertKey(kind: .repetition, src: IPAddress("10.0.0.9")!, dst: IPAddress("10.0.0.5")!, port: 22, proto: 6)
        let r = testRecord()
        let base: Int64 = 1_700_000_000_000_000_000
        #expect(folder.admit(key, at: base, verdict: verdict(), folded: FoldedFlow(r, verdict: blankVerdict(), severity: 1),
                             closed: &closed))
        for i in 1...6 {
            #expect(!folder.admit(key, at: base + Int64(i) * 5_000_000_000, verdict: verdict(),
                                  folded: FoldedFlow(r, verdict: blankVerdict(), severity: 1), closed: &closed))
        }
        folder.expire(now: base + 30 * 1_000_000_000 + 1_800_000_000_000, into: &closed)
        #expect(closed.isEmpty)  // quiet for less than the window since the last flow (30 s)
        folder.expire(now: base + 31 * 1_000_000_000 + 1_800_000_000_000, into: &closed)
        #expect(closed.count == 1 && closed[0].folded == 6 && folder.count == 0)
        // Scanning is per source: two targets are one campaign.
        let s1 = BehaviourAlertKey(kind: .scanning, src: IPAddress("10.0.0.9")!, dst: IPAddress("10.0.1.1")!, port: 22, proto: 6)
        let s2 = BehaviourAlertKey(kind: .scanning, src: IPAddress("10.0.0.9")!, dst: IPAddress("10.0.1.2")!, port: 80, proto: 6)
        #expect(s1 == s2)
        // DNS tunnels are per source and domain, whichever resolver.
        let d1 = BehaviourAlertKey(kind: .dnsTunnel, src: IPAddress("10.0.0.9")!, dst: IPAddress("10.0.0.53")!, port: 53, proto: 17, domain: 42)
        let d2 = BehaviourAlertKey(kind: .dnsTunnel, src: IPAddress("10.0.0.9")!, dst: IPAddress("8.8.8.8")!, port: 53, proto: 17, domain: 42)
        let d3 = BehaviourAlertKey(kind: .dnsTunnel, src: IPAddress("10.0.0.9")!, dst: IPAddress("8.8.8.8")!, port: 53, proto: 17, domain: 43)
        #expect(d1 == d2 && d1 != d3)
    }

    /// Keys last seen at the same flow time (one flow raising two behaviours,
    /// or several servers) close in the keys' order, whatever order they were
    /// admitted in: the dictionary's per-process hash order must not decide
    /// what a replay writes.
    @Test func keysSeenTogetherCloseInTheKeysOrder() {
        let base: Int64 = 1_700_000_000_000_000_000
        let keys = (0..<12).map { i in
            BehaviourAlertKey(kind: i % 2 == 0 ? .repetition : .beaconing, src: IPAddress("10.0.0.9")!,
                              dst: IPAddress("10.0.1.\(i / 2)")!, port: 21, proto: 6)
        }
        func closings(_ order: [BehaviourAlertKey]) -> [BehaviourAlertKey] {
            var folder = BehaviourAlertFolder(quietSeconds: 1800)
            var closed: [BehaviourClosing] = []
            for at in [base, base + 5_000_000_000] {
                for k in order {
                    _ = folder.admit(k, at: at, verdict: verdict(), folded: FoldedFlow(testRecord(), verdict: blankVerdict(), severity: 1),
                                     closed: &closed)
                }
            }
            folder.closeAll(into: &closed)
            return closed.map(\.key)
        }
        let expected = closings(keys)
        #expect(expected.count == keys.count)
        #expect(expected.map(\.kind) == Array(repeating: BehaviourKind.repetition, count: 6) + Array(repeating: .beaconing, count: 6))
        #expect(expected.prefix(6).map(\.dst) == (0..<6).map { IPAddress("10.0.1.\($0)")! })
        for _ in 1...5 { #expect(closings(keys.shuffled()) == expected) }
        #expect(closings(keys.reversed()) == expected)
    }

    /// A DNS flow from 192.0.2.7 to its resolver asking for a name under `domain`.
    func dnsRecord(_ domain: String, resolver: String = "198.51.100.53") -> FlowRecord {
        var r = testRecord(dst: resolver, dport: 53, proto: 17)
        r.dns.present = true; r.dns.qtype = 16; r.dns.domainHash = 42
        for (i, b) in domain.utf8.enumerated() { r.dns.domain[i] = b }
        r.dns.domainLength = UInt8(domain.utf8.count)
        return r
    }

    /// Look-ups under one domain every 10 s: the DNS series' beacon components.
    func dnsBeacon() -> BehaviourVerdict {
        var v = BehaviourValues()
        v.sessions = 40; v.dnsQueries = 16; v.dnsBeats = 16
        v.dnsMedianGapSeconds = 9.6; v.dnsTsScore = 0.88; v.dnsDsScore = 1; v.dnsCountScore = 1
        v.dnsGapSkew = 0.1; v.dnsGapMAD = 1.2; v.dnsBeaconing = 0.92; v.beaconing = 0.92
        return BehaviourVerdict(kind: .beaconing, score: 0.92, threshold: 0.85, values: v)
    }

    @Test func aDNSBeaconIsPerClientAndDomainAndSaysSo() throws {
        let b = dnsBeacon()
        #expect(b.values.beaconingIsDNS)
        #expect(behaviourReason(b, server: IPAddress("198.51.100.53")!, port: 53, domain: "example.com")
                == "look-ups under example.com every 10 s (median), timing score 0.88, size score 1.0")
        // Keyed on the domain whichever resolver carries it; a pair series' beacon stays per pair.
        let src = IPAddress("10.0.0.9")!
        let k1 = BehaviourAlertKey(kind: .beaconing, src: src, dst: IPAddress("10.0.0.53")!, port: 53, proto: 17, domain: 42, dnsBeacon: true)
        let k2 = BehaviourAlertKey(kind: .beaconing, src: src, dst: IPAddress("8.8.8.8")!, port: 53, proto: 17, domain: 42, dnsBeacon: true)
        let k3 = BehaviourAlertKey(kind: .beaconing, src: src, dst: IPAddress("8.8.8.8")!, port: 53, proto: 17, domain: 43, dnsBeacon: true)
        let p1 = BehaviourAlertKey(kind: .beaconing, src: src, dst: IPAddress("10.0.0.5")!, port: 443, proto: 6, domain: 42)
        let p2 = BehaviourAlertKey(kind: .beaconing, src: src, dst: IPAddress("10.0.0.6")!, port: 443, proto: 6, domain: 42)
        #expect(k1 == k2 && k1 != k3 && p1 != p2 && p1.domain == 0 && k1.dst == .zero)
        // A pair series' beacon stronger than the DNS series': the pair's reason.
        var pair = b
        pair.values.beaconing = 0.95; pair.values.tsScore = 0.97; pair.values.dsScore = 0.9; pair.values.medianGapSeconds = 30
        #expect(!pair.values.beaconingIsDNS)
        #expect(behaviourReason(pair, server: IPAddress("198.51.100.53")!, port: 53, domain: "example.com")
                == "sessions to 198.51.100.53:53 every 30 s (median), timing score 0.97, size score 0.9")

        // The alert line names the domain and gives the DNS series' components.
        var j = JSONBuffer()
        let f = EveAlertFormatter(context: EveContext(), modelVersion: "m")
        f.appendBehaviour(dnsRecord("example.com"), b, severity: 2, windowSeconds: 1800, into: &j)
        let o = try parseLine(j.bytes)
        let beh = try #require(o["behaviour"] as? [String: Any])
        #expect(beh["kind"] as? String == "beaconing" && beh["domain"] as? String == "example.com")
        let c = try #require(beh["components"] as? [String: Any])
        #expect(c["series"] as? String == "dns" && c["beats"] as? Int == 16 && c["ts_score"] as? Double == 0.88)
        #expect(c["timing"] as? String == "per_beat")
        #expect(c["median_gap_s"] as? Double == 9.6 && c["gap_mad_s"] as? Double == 1.2 && c["count_score"] as? Double == 1)
    }

    @Test func aDNSCampaignsClosingLineNamesItsDomain() throws {
        // The closing line describes the last folded flow, which keeps no DNS
        // question: the domain comes from the verdict.
        var b = dnsBeacon()
        b.domain = "example.com"
        let last = FoldedFlow(dnsRecord("example.com"), verdict: blankVerdict(), severity: 2)
        #expect(last.record().dns.domainText == "")
        let c = BehaviourClosing(key: BehaviourAlertKey(kind: .beaconing, src: IPAddress("192.0.2.7")!, dst: .zero, port: 0, proto: 0,
                                                        domain: 42, dnsBeacon: true),
                                 last: last, verdict: b, folded: 9, firstAlertNs: 0)
        var j = JSONBuffer()
        EveAlertFormatter(context: EveContext(), modelVersion: "m").appendBehaviourClosing(c, windowSeconds: 1800, into: &j)
        let beh = try #require(try parseLine(j.bytes)["behaviour"] as? [String: Any])
        #expect(beh["aggregate"] as? String == "closing" && beh["aggregated_flows"] as? Int == 9)
        #expect(beh["domain"] as? String == "example.com")
        #expect((beh["reason"] as? String)?.hasPrefix("look-ups under example.com every") == true)
    }

    @Test func aDNSFlowRecordCarriesItsSeriesBeaconComponents() throws {
        var v = dnsBeacon().values
        v.dnsBeaconExempt = .poller; v.dnsBeaconing = 0; v.beaconing = 0
        var j = JSONBuffer()
        j.beginObject(); writeBehaviourValues(v, dns: dnsRecord("example.com").dns, into: &j); j.endObject()
        let top = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        let beh = try #require(top["behaviour"] as? [String: Any])
        let d = try #require(beh["dns"] as? [String: Any])
        #expect(d["beats"] as? Int == 16 && d["median_gap_s"] as? Double == 9.6 && d["ts_score"] as? Double == 0.88)
        #expect(d["timing"] as? String == "per_beat")
        #expect(d["ds_score"] as? Double == 1 && d["count_score"] as? Double == 1 && d["gap_skew"] as? Double == 0.1)
        #expect(d["gap_mad_s"] as? Double == 1.2 && d["beaconing"] as? Double == 0 && d["beacon_exempt"] as? String == "poller")
        #expect(d["qtype"] as? Int == 16 && beh["beaconing"] as? Double == 0)
        // Every field at its widest fits the writer's bound.
        var w = BehaviourValues()
        w.dnsQueries = .max; w.dnsBeats = .max; w.sessions = .max; w.shortSessions = .max; w.failedSessions = .max
        w.resetSessions = .max; w.firstContacts = .max; w.failedFirstContacts = .max; w.hasSeriesStatistics = true
        w.beaconExempt = .timeSync; w.dnsBeaconExempt = .lookups; w.dnsTimedPerName = true
        let x = -1.2345678912345678e-300
        w.repetition = x; w.beaconing = x; w.scanning = x; w.dnsTunnel = x; w.clientBytesCV = x; w.serverBytesCV = x
        w.modalSizeShare = x; w.medianDurationSeconds = x; w.medianGapSeconds = x; w.clockSpread = x; w.tsScore = x
        w.dsScore = x; w.countScore = x; w.gapSkew = x; w.gapMAD = x; w.scanLLR = x; w.dnsDistinctSubdomains = x
        w.dnsMeanSubdomainLength = x; w.dnsMeanEntropy = x; w.dnsDataTypeShare = x; w.dnsMedianGapSeconds = x
        w.dnsTsScore = x; w.dnsDsScore = x; w.dnsCountScore = x; w.dnsGapSkew = x; w.dnsGapMAD = x; w.dnsBeaconing = x
        var q = dnsRecord("example.com").dns
        q.qtype = .max; q.subdomainLength = .max; q.subdomainEntropy = -Float.greatestFiniteMagnitude
        var k = JSONBuffer()
        k.beginObject(); writeBehaviourValues(w, dns: q, into: &k); k.endObject()
        let wide = try #require(try JSONSerialization.jsonObject(with: Data(k.bytes)) as? [String: Any])
        #expect((wide["behaviour"] as? [String: Any])?["dns"] != nil)
    }

    @Test func aFullFolderClosesItsOldestCampaign() {
        var folder = BehaviourAlertFolder(quietSeconds: 1800, capacity: 2)
        var closed: [BehaviourClosing] = []
        let r = testRecord()
        for i in 0..<3 {
            let key = BehaviourAlertKey(kind: .beaconing, src: IPAddress("10.0.0.\(i + 1)")!, dst: IPAddress("10.0.0.5")!, port: 443, proto: 6)
            _ = folder.admit(key, at: Int64(i), verdict: verdict(), folded: FoldedFlow(r, verdict: blankVerdict(), severity: 2), closed: &closed)
            _ = folder.admit(key, at: Int64(i) + 1, verdict: verdict(), folded: FoldedFlow(r, verdict: blankVerdict(), severity: 2), closed: &closed)
        }
        #expect(folder.count == 2 && folder.evictions == 1 && closed.count == 1 && closed[0].key.src == IPAddress("10.0.0.1")!)
    }
}

func blankVerdict() -> Verdict {
    Verdict(classIndex: -1, className: "benign", score: 0, threshold: 0.5, cnn: 0, lstm: 0, lof: 0, ocsvm: 0)
}
