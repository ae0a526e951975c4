import Alerts
import Features
import Flows
import Foundation
import Sensor
import Testing

@Suite struct FeatureTableTests {
    func table(_ format: FeatureTableFormatter.Format) -> [String] {
        let f = FeatureTableFormatter(format: format)
        var j = JSONBuffer()
        var out = f.header()
        let p = ReplayPipeline(config: .init())
        p.run(files: [Repo.captures.appendingPathComponent("ethernet-mix.pcap").path]) { r, file in
            j.reset(); f.append(r, pcapFilename: "x.pcap", into: &j); out += j.bytes
        }
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func csvHasAHeaderAndOneRowPerFlow() {
        let rows = table(.csv)
        let (flows, _) = replayLines([Repo.captures.appendingPathComponent("ethernet-mix.pcap").path])
        #expect(rows.count == flows.split(separator: "\n").count + 1)
        let header = rows[0].split(separator: ",", omittingEmptySubsequences: false)
        #expect(header.count == 12 + Feature.count + 32 * 5)
        #expect(header.contains("duration_s") && header.contains("seq32_tcp_flags"))
        for r in rows.dropFirst() {
            #expect(r.split(separator: ",", omittingEmptySubsequences: false).count == header.count)
        }
    }

    @Test func jsonlAgreesWithTheFlowRecords() throws {
        let rows = table(.jsonl)
        let (flows, _) = replayLines([Repo.captures.appendingPathComponent("ethernet-mix.pcap").path])
        let records = flows.split(separator: "\n")
        #expect(rows.count == records.count)
        for (row, rec) in zip(rows, records) {
            let a = try JSONSerialization.jsonObject(with: Data(row.utf8)) as! [String: Any]
            let b = try JSONSerialization.jsonObject(with: Data(rec.utf8)) as! [String: Any]
            let features = b["features"] as! [String: Any]
            #expect((a["flow_id"] as! NSNumber) == (b["flow_id"] as! NSNumber))
            for name in Feature.schema {
                // Flow records leave the application-layer features out of flows with no app_proto.
                let recorded = (features[name] as? NSNumber)?.doubleValue ?? 0
                #expect(b["app_proto"] != nil || features[name] != nil || Feature.schema.firstIndex(of: name)! >= Feature.firstAppLayer.rawValue)
                #expect((a[name] as! NSNumber).doubleValue == recorded, "\(name)")
            }
        }
    }
}
