import Foundation
import Testing
@testable import Alerts
import Decoding
import Flows
import Indicators

/// The EVE alert line of an indicator hit: valid JSON, Suricata's alert
/// object with the indicator's severity and metadata, and the indicator.
@Suite struct IndicatorAlertTests {
    @Test func anIndicatorHitIsOneAlertLine() throws {
        let set = try IndicatorSet.parse("#fields\tindicator\tindicator_type\tmeta.source\tmeta.severity\n"
                                         + "198.51.100.0/24\tIntel::SUBNET\tabuse \"feed\"\t1\n")
        var r = FlowRecord.blank
        r.srcIP = IPAddress("10.0.0.1")!
        r.dstIP = IPAddress("198.51.100.9")!
        r.proto = 6
        r.hasPorts = true
        r.srcPort = 40000
        r.dstPort = 443
        var hits: [IndicatorHit] = []
        set.match(r, into: &hits)
        #expect(hits.count == 1)
        var j = JSONBuffer(reserve: 1024)
        EveAlertFormatter(context: EveContext(), modelVersion: "m").appendIndicator(r, hits[0], in: set, into: &j)
        #expect(j.bytes.last == 0x0A)
        #expect(j.bytes.filter { $0 == 0x0A }.count == 1)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        #expect(a["event_type"] as? String == "alert")
        #expect(a["dest_ip"] as? String == "198.51.100.9")
        let alert = try #require(a["alert"] as? [String: Any])
        #expect(alert["signature_id"] as? Int == indicatorSignatureID(.subnet))
        #expect(alert["signature"] as? String == "FlowSentry indicator: cidr 198.51.100.0/24 (abuse \"feed\")")
        #expect(alert["severity"] as? Int == 1)
        let metadata = try #require(alert["metadata"] as? [String: [String]])
        #expect(metadata == ["detector": ["indicator"], "indicator_source": ["abuse \"feed\""], "indicator_type": ["Intel::SUBNET"]])
        let ind = try #require(a["indicator"] as? [String: Any])
        #expect(ind["value"] as? String == "198.51.100.0/24")
        #expect(ind["kind"] as? String == "cidr")
        #expect(ind["matched"] as? String == "dest_ip")
        #expect((a["flow"] as? [String: Any])?["alerted"] as? Bool == true)
    }
}
