import Foundation
import Testing
@testable import Alerts
@testable import Decoding
@testable import Detection
import Flows

/// A folded flow's representative for the aggregator (flow id `id`, ending at `ns`).
private func flow(_ id: UInt64, dst: IPAddress = IPAddress("10.0.0.1")!, ns: Int64 = 0) -> FoldedFlow {
    let src = IPAddress("192.0.2.7")!
    let r = FlowRecord(key: FlowKey(a: src, b: dst, portA: 40000, portB: 80, proto: 6),
                       srcIP: src, srcPort: 40000, dstIP: dst, dstPort: 80, proto: 6, hasPorts: true, vlanCount: 0,
                       tunnel: .none, tunnelSrc: src, tunnelDst: dst, startNs: ns - 1_000, endNs: ns,
                       pktsToServer: 1, pktsToClient: 0, bytesToServer: 60, bytesToClient: 0,
                       state: .new, reason: .evicted, segment: 0, tcpFlagsToServer: 2, tcpFlagsToClient: 0,
                       flowID: id, endedAtNs: ns)
    let v = Verdict(classIndex: 1, className: "dos", score: 0.9, threshold: 0.5, cnn: 0.8, lstm: 0.7, lof: 0.6, ocsvm: 0.5)
    return FoldedFlow(r, verdict: v, severity: 1)
}

private let s = Int64(1_000_000_000)

@Suite struct AggregatorTests {
    @Test func oneAlertPerDestinationAndClassPerInterval() {
        var a = AlertAggregator(intervalSeconds: 60, capacity: 4)
        var closed: [ClosingAlert] = []
        let d = IPAddress("10.0.0.1")!
        var folded = 0
        #expect(a.admit(dst: d, classIndex: 2, at: 0, foldedIn: &folded, closed: &closed) { flow(0) } && folded == 0)
        for i in 1...1000 {
            #expect(!a.admit(dst: d, classIndex: 2, at: Int64(i) * 1_000_000, foldedIn: &folded, closed: &closed) { flow(UInt64(i)) })
        }
        // Another class or destination is its own key.
        #expect(a.admit(dst: d, classIndex: 1, at: 5, foldedIn: &folded, closed: &closed) { flow(9) })
        #expect(a.admit(dst: IPAddress("10.0.0.2")!, classIndex: 2, at: 5, foldedIn: &folded, closed: &closed) { flow(9) })
        // After the interval, the next alert carries the count folded in.
        #expect(a.pendingCount == 1000)
        #expect(a.admit(dst: d, classIndex: 2, at: 61 * s, foldedIn: &folded, closed: &closed) { flow(9) } && folded == 1000)
        #expect(a.folded == 1000 && a.pendingCount == 0 && closed.isEmpty)
    }

    @Test func aQuietKeyIsClosedWithItsLastFoldedFlowAfterTwoIntervals() {
        var a = AlertAggregator(intervalSeconds: 60)
        var closed: [ClosingAlert] = []
        let d = IPAddress("10.0.0.1")!
        var f = 0
        #expect(a.admit(dst: d, classIndex: 1, at: 0, foldedIn: &f, closed: &closed) { flow(1) })
        for i in 2...6 { #expect(!a.admit(dst: d, classIndex: 1, at: Int64(i) * s, foldedIn: &f, closed: &closed) { flow(UInt64(i), ns: Int64(i) * s) }) }
        // The alert's own interval, then one more in which a new alert would have carried them.
        a.expire(now: 60 * s, into: &closed)
        a.expire(now: 120 * s - 1, into: &closed)
        #expect(closed.isEmpty && a.keyCount == 1)
        a.expire(now: 120 * s, into: &closed)
        #expect(closed.count == 1)
        #expect(closed.first?.count == 5 && closed.first?.cause == .quiet)
        #expect(closed.first?.flow.flowID == 6 && closed.first?.flow.endNs == 6 * s)
        #expect(a.keyCount == 0 && a.pendingCount == 0 && a.closings == 1)
        // The key starts afresh: its next flow alerts, carrying nothing.
        #expect(a.admit(dst: d, classIndex: 1, at: 121 * s, foldedIn: &f, closed: &closed) { flow(7) } && f == 0)
    }

    @Test func aKeyWithNothingPendingIsForgottenWithoutAnAlert() {
        var a = AlertAggregator(intervalSeconds: 10)
        var closed: [ClosingAlert] = []
        var f = 0
        for i in 0..<5 { _ = a.admit(dst: IPAddress(v4: 10, 0, 0, UInt8(i)), classIndex: 0, at: Int64(i) * s, foldedIn: &f, closed: &closed) { flow(0) } }
        a.expire(now: 22 * s, into: &closed)  // keys alerted at 0, 1 and 2 s are 20 s old
        #expect(closed.isEmpty && a.keyCount == 2)
    }

    @Test func endClosesEveryKeyWithPendingFlowsOnce() {
        var a = AlertAggregator(intervalSeconds: 60)
        var closed: [ClosingAlert] = []
        var f = 0
        var expected = 0
        for k in 0..<10 {
            let d = IPAddress(v4: 10, 0, 0, UInt8(k))
            _ = a.admit(dst: d, classIndex: 0, at: 0, foldedIn: &f, closed: &closed) { flow(0) }
            for i in 0..<k { _ = a.admit(dst: d, classIndex: 0, at: 1, foldedIn: &f, closed: &closed) { flow(UInt64(100 * k + i), dst: d) } }
            expected += k
        }
        a.closeAll(cause: .end, into: &closed)
        // Key 0 folded nothing: no closing alert for it.
        #expect(closed.count == 9 && closed.allSatisfy { $0.cause == .end })
        #expect(closed.map(\.count) == Array(1...9))
        let lastIDs: [UInt64] = (1...9).map { (k: Int) -> UInt64 in UInt64(101 * k - 1) }
        #expect(closed.map(\.flow.flowID) == lastIDs)
        #expect(closed.map(\.flow.dstIP) == (1...9).map { IPAddress(v4: 10, 0, 0, UInt8($0)) })
        #expect(closed.reduce(0) { $0 + $1.count } == expected && UInt64(expected) == a.folded)
        #expect(a.keyCount == 0)
        a.closeAll(cause: .end, into: &closed)
        #expect(closed.count == 9)
    }

    @Test func atCapacityTheLeastRecentlyAlertedKeyIsEvictedAndClosed() {
        var a = AlertAggregator(intervalSeconds: 60, capacity: 3)
        var closed: [ClosingAlert] = []
        var f = 0
        let d = (0..<6).map { IPAddress(v4: 10, 0, 0, UInt8($0)) }
        for k in 0..<3 { #expect(a.admit(dst: d[k], classIndex: 0, at: Int64(k), foldedIn: &f, closed: &closed) { flow(0) }) }
        // Key 0 alerts again (after its interval): now key 1 is the least recently alerted.
        #expect(a.admit(dst: d[0], classIndex: 0, at: 61 * s, foldedIn: &f, closed: &closed) { flow(0) })
        for i in 0..<4 { #expect(!a.admit(dst: d[1], classIndex: 0, at: 30 * s, foldedIn: &f, closed: &closed) { flow(10 + UInt64(i), dst: d[1]) }) }
        #expect(!a.admit(dst: d[2], classIndex: 0, at: 30 * s, foldedIn: &f, closed: &closed) { flow(20, dst: d[2]) })
        // A new key: key 1 goes (pending 4 → closing alert), then key 2, then key 0.
        #expect(a.admit(dst: d[3], classIndex: 0, at: 63 * s, foldedIn: &f, closed: &closed) { flow(0) })
        #expect(closed.count == 1 && closed[0].cause == .evicted && closed[0].count == 4 && closed[0].flow.flowID == 13)
        #expect(a.admit(dst: d[4], classIndex: 0, at: 63 * s, foldedIn: &f, closed: &closed) { flow(0) })
        #expect(closed.count == 2 && closed[1].flow.flowID == 20 && closed[1].count == 1)
        #expect(a.admit(dst: d[5], classIndex: 0, at: 63 * s, foldedIn: &f, closed: &closed) { flow(0) })
        #expect(closed.count == 2 && a.keyCount == 3 && a.droppedKeys == 3)
        // The evicted key is new again: alerts at once.
        #expect(a.admit(dst: d[1], classIndex: 0, at: 64 * s, foldedIn: &f, closed: &closed) { flow(0) } && f == 0)
        #expect(a.keyCount == 3)
    }

    @Test func boundedKeysAndEveryFoldedFlowOnExactlyOneLine() {
        // A flood of suspicious flows to random destinations: keys come and go,
        // at most `capacity` held, and alerts' carried counts + closings = folded.
        var a = AlertAggregator(intervalSeconds: 60, capacity: 64)
        var closed: [ClosingAlert] = []
        var f = 0, carried = 0, alerts = 0
        var rng = SystemRandomNumberGenerator()
        for i in 0..<200_000 {
            let d = IPAddress(v4: 10, 0, UInt8.random(in: 0...1, using: &rng), UInt8.random(in: 0...70, using: &rng))
            let ns = Int64(i) * 2_000_000  // 400 s of flow time
            if a.admit(dst: d, classIndex: Int.random(in: 0...1, using: &rng), at: ns, foldedIn: &f, closed: &closed, last: { flow(UInt64(i), dst: d, ns: ns) }) {
                carried += f; alerts += 1
            }
            #expect(a.keyCount <= 64)
            if i % 256 == 0 { a.expire(now: ns, into: &closed) }
        }
        a.closeAll(cause: .end, into: &closed)
        #expect(a.droppedKeys > 0 && closed.contains { $0.cause == .evicted } && closed.contains { $0.cause == .end })
        #expect(UInt64(carried + closed.reduce(0) { $0 + $1.count }) == a.folded)
        #expect(alerts + Int(a.folded) == 200_000)
    }

    @Test func evictionIsConstantTimeNotAScan() {
        // 65,536 keys held, then 200,000 new keys each evicting one: with a
        // scan of all keys per eviction this is 1.3e10 steps (minutes); O(1) is well under a second.
        var a = AlertAggregator(intervalSeconds: 60, capacity: 65_536)
        var closed: [ClosingAlert] = []
        var f = 0
        let clock = ContinuousClock()
        let t = clock.measure {
            for i in 0..<(65_536 + 200_000) {
                let d = IPAddress(v4: 10, UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i))
                _ = a.admit(dst: d, classIndex: 0, at: Int64(i), foldedIn: &f, closed: &closed) { flow(0) }
            }
        }
        #expect(a.keyCount == 65_536 && a.droppedKeys == 200_000)
        #expect(t < .seconds(20), "took \(t)")
    }

    @Test func memoryPerKey() {
        // Documented in docs/robustness.md (Bounded memory): slot + index entry.
        let slot = MemoryLayout<AlertAggregator.Slot>.stride
        let key = MemoryLayout<AlertAggregator.Key>.stride
        let folded = MemoryLayout<FoldedFlow>.stride
        print("aggregator: FoldedFlow \(folded) B, slot \(slot) B, index entry \(key + 4) B (+ hash table slack)")
        #expect(folded <= 304 && slot <= 352)
        #expect(MemoryLayout<FoldedFlow>.size < MemoryLayout<FlowRecord>.size / 4)
    }

    @Test func closingAlertLineShape() throws {
        let f = flow(4242, ns: 3 * s)
        let c = ClosingAlert(flow: f, count: 17, cause: .end)
        var ctx = EveContext()
        ctx.host = "s1"
        let fmt = EveAlertFormatter(context: ctx, modelVersion: "m1")
        var j = JSONBuffer(reserve: 1024)
        fmt.appendClosing(c, into: &j)
        let line = String(decoding: j.bytes, as: UTF8.self)
        for part in ["\"flow_id\":4242", "\"event_type\":\"alert\"", "\"src_ip\":\"192.0.2.7\"", "\"src_port\":40000",
                     "\"dest_ip\":\"10.0.0.1\"", "\"dest_port\":80", "\"proto\":\"TCP\"", "\"community_id\":\"1:",
                     "\"host\":\"s1\"", "\"signature_id\":9000002", "\"severity\":1", "\"class\":\"dos\"",
                     "\"aggregated_flows\":17", "\"aggregate\":\"closing\"", "\"closing_reason\":\"end\"",
                     "\"model_version\":\"m1\"", "\"pkts_toserver\":1", "\"reason\":\"evicted\"", "\"alerted\":true"] {
            #expect(line.contains(part), "\(part) missing in \(line)")
        }
        #expect(line.hasSuffix("}\n"))
        // A regular alert for the same flow has the same header (community id included) and no marker.
        var j2 = JSONBuffer(reserve: 1024)
        let s2 = ScoredVerdict(verdict: f.verdict, decision: .alert(severity: 1), severity: 1, alerted: true, folded: 17)
        fmt.append(f.record(), s2, into: &j2)
        let regular = String(decoding: j2.bytes, as: UTF8.self)
        #expect(!regular.contains("closing"))
        let header = { (l: String) in l[..<l.range(of: "\"direction\"")!.lowerBound] }
        #expect(header(regular) == header(line))
        // Closed by a reload: written under the version that folded the flows.
        var r = c
        r.modelVersion = "m0"
        var j3 = JSONBuffer(reserve: 1024)
        fmt.appendClosing(r, into: &j3)
        #expect(String(decoding: j3.bytes, as: UTF8.self).contains("\"model_version\":\"m0\""))
    }
}

@Suite struct EveAlertFormatterTests {
    func verdict(_ cls: Int = 0, _ name: String = "scan", score: Float = 0.75, threshold: Float = 0.5) -> Verdict {
        Verdict(classIndex: cls, className: name, score: score, threshold: threshold, cnn: 0.5, lstm: 0.25, lof: 0.125, ocsvm: 1)
    }

    func alert(_ v: Verdict, severity: Int = 2, folded: Int = 0, context: EveContext = EveContext()) throws -> [String: Any] {
        var j = JSONBuffer(reserve: 4096)
        let s = ScoredVerdict(verdict: v, decision: .alert(severity: severity), severity: severity, alerted: true, folded: folded)
        EveAlertFormatter(context: context, modelVersion: "m7").append(testRecord(), s, into: &j)
        return try parseLine(j.bytes)
    }

    @Test func signatureIDsAndCategories() {
        #expect(signatureID(for: -1) == 9_000_000)
        #expect(signatureID(for: 0) == 9_000_001 && signatureID(for: 5) == 9_000_006)
        #expect(alertCategory("scan") == "Detection of a Network Scan")
        #expect(alertCategory("dos") == "Detection of a Denial of Service Attack")
        #expect(alertCategory("c2") == "A Network Trojan was detected")
        #expect(alertCategory("something-new") == "Misc activity")
    }

    @Test func alertLineShape() throws {
        var v = verdict()
        v.explanation = [.init(feature: "fwd_pkts", value: 120, contribution: 0.5)]
        let o = try alert(v)
        #expect(o["event_type"] as? String == "alert" && o["direction"] as? String == "to_server")
        #expect(o["src_ip"] as? String == "192.0.2.7" && o["dest_port"] as? Int == 443)
        let a = try #require(o["alert"] as? [String: Any])
        #expect(a["action"] as? String == "allowed" && a["gid"] as? Int == 1 && a["rev"] as? Int == 1)
        #expect(a["signature_id"] as? Int == 9_000_001 && a["severity"] as? Int == 2)
        #expect(a["signature"] as? String == "FlowSentry ML: scan (m7)")
        #expect(a["category"] as? String == "Detection of a Network Scan")
        let ml = try #require(o["ml"] as? [String: Any])
        #expect(ml["class"] as? String == "scan" && ml["model_version"] as? String == "m7")
        #expect((ml["score"] as? NSNumber)?.doubleValue == 0.75 && (ml["threshold"] as? NSNumber)?.doubleValue == 0.5)
        let models = try #require(ml["models"] as? [String: Any])
        #expect(models.mapValues { ($0 as? NSNumber)?.doubleValue ?? -1 } == ["cnn": 0.5, "lstm": 0.25, "lof": 0.125, "ocsvm": 1])
        let ex = try #require(ml["explanation"] as? [[String: Any]])
        #expect(ex.count == 1 && ex[0]["feature"] as? String == "fwd_pkts")
        #expect((ex[0]["value"] as? NSNumber)?.doubleValue == 120 && (ex[0]["contribution"] as? NSNumber)?.doubleValue == 0.5)
        for k in ["aggregated_flows", "aggregate", "closing_reason", "lof_nearest"] { #expect(ml[k] == nil, "\(k)") }
        #expect((o["flow"] as? [String: Any])?["alerted"] as? Bool == true)
        // An alert carries no features or sequence (those are in the flow record).
        #expect(o["features"] == nil && o["sequence"] == nil)
    }

    @Test func anomalyClassFoldedCountAndNearestNeighbours() throws {
        var v = verdict(-1, "anomaly")
        v.lofNearest = [LOFNeighbour(reference: 12, distance: 0.5, kDistance: 0.25)]
        let o = try alert(v, severity: 3, folded: 4)
        #expect((o["alert"] as? [String: Any])?["signature_id"] as? Int == 9_000_000)
        #expect((o["alert"] as? [String: Any])?["category"] as? String == "Misc activity")
        let ml = try #require(o["ml"] as? [String: Any])
        #expect(ml["aggregated_flows"] as? Int == 4 && ml["aggregate"] == nil)
        let n = try #require(ml["lof_nearest"] as? [[String: Any]])
        #expect(n.count == 1 && n[0]["reference"] as? Int == 12)
        #expect((n[0]["distance"] as? NSNumber)?.doubleValue == 0.5 && (n[0]["k_distance"] as? NSNumber)?.doubleValue == 0.25)
    }

    @Test func verdictSummaryForFlowRecords() throws {
        func summary(_ v: Verdict, _ d: Policy.Decision) throws -> [String: Any] {
            var j = JSONBuffer(reserve: 256)
            j.beginObject()
            writeVerdictSummary(ScoredVerdict(verdict: v, decision: d, severity: 1, alerted: false), into: &j)
            j.endObject()
            j.newline()
            return try #require(try parseLine(j.bytes)["ml"] as? [String: Any])
        }
        // Below its threshold a flow is "benign", whatever class scored highest.
        let low = try summary(verdict(score: 0.25), .belowThreshold)
        #expect(low["class"] as? String == "benign" && (low["score"] as? NSNumber)?.doubleValue == 0.25)
        #expect(low.count == 3)
        #expect(try summary(verdict(), .alert(severity: 1))["class"] as? String == "scan")
        let sup = try summary(verdict(), .suppressed("lab scanner"))
        #expect(sup["suppressed"] as? Bool == true && sup["policy_note"] as? String == "lab scanner")
        let allowed = try summary(verdict(), .allowed(""))
        #expect(allowed["allowed"] as? Bool == true && allowed["policy_note"] == nil)
        #expect(try summary(verdict(), .disabled)["class_disabled"] as? Bool == true)
    }
}
