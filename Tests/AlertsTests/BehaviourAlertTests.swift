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
        #expect(AlertFilter(mlClass: "bruteforce").matches(s))
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
