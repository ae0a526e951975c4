import Foundation
import Testing
@testable import Detection

@Suite struct BundleProvenanceTests {
    static let sample = BundleProvenance(
        training: .init(modelVersion: "m-1", createdAt: "2026-12-06T00:00:00Z",
                        captures: [.init(path: "captures/a.pcap", sha256: String(repeating: "a", count: 64), bytes: 10)],
                        labels: [.init(path: "captures/a.labels.csv", sha256: String(repeating: "b", count: 64), bytes: 3)],
                        card: .init(path: "m.card.md", sha256: String(repeating: "c", count: 64), bytes: 5)),
        baselines: [.init(modelVersion: "m-1+site.12345678", createdAt: "2026-12-07T00:00:00Z", parentModelVersion: "m-1",
                          parentSHA256: String(repeating: "d", count: 64), captures: [], flows: 300,
                          thresholdBefore: 0.5, thresholdAfter: 0.6, attackFlows: 2, canaryRecall: ["dos": 1],
                          forced: true, guardFindings: ["campaign: 20 dos flows to h"])])

    @Test func roundTripThroughABundle() throws {
        var b = ModelBundle()
        #expect(try b.provenance == nil)
        b.setProvenance(Self.sample)
        let back = try ModelBundle(bytes: b.serialised())
        #expect(try back.provenance == Self.sample)
        // Plain JSON another tool reads: the keys as documented.
        let obj = try JSONSerialization.jsonObject(with: Data(b.sections["provenance"]!)) as! [String: Any]
        let baseline = (obj["baselines"] as! [[String: Any]])[0]
        #expect(baseline["forced"] as? Bool == true && baseline["parentSHA256"] as? String == String(repeating: "d", count: 64))
        #expect(obj["format"] as? Int == 1)
    }

    @Test func badOrNewerProvenanceIsAnErrorNamingTheSection() {
        var b = ModelBundle()
        b.sections["provenance"] = Array("{not json".utf8)
        #expect { _ = try b.provenance } throws: { "\($0)".contains("provenance") }
        b.sections["provenance"] = Array(#"{"format": 99, "baselines": []}"#.utf8)
        #expect { _ = try b.provenance } throws: { "\($0)".contains("newer") }
    }
}
