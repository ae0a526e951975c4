import Foundation
import Testing
@testable import Decoding
@testable import Context
@testable import Features

@Suite struct SchemaTests {
    @Test func requiredNamesArePresentAndUnique() {
        let required = ["duration_s", "pkt_len_mean", "pkt_len_std", "pkt_len_min", "pkt_len_max",
                        "iat_mean_s", "iat_std_s", "iat_min_s", "iat_max_s", "tcp_flag_entropy",
                        "payload_entropy", "syn_count", "fin_count", "rst_count", "ack_count", "psh_count"]
        for r in required { #expect(Feature.schema.contains(r), "missing \(r)") }
        #expect(Set(Feature.schema).count == Feature.count)
        #expect(Feature.count == FeatureVector.storageCount)
        for n in Feature.schema { #expect(n == n.lowercased() && !n.contains(" ")) }
    }

    @Test func flagFeaturesAreInBitOrder() {
        // finish() relies on FIN SYN RST PSH ACK URG ECE CWR being consecutive.
        let names = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"]
        for (i, n) in names.enumerated() {
            #expect(Feature.schema[Feature.fin_count.rawValue + i] == "\(n)_count")
            #expect(Feature.schema[Feature.fwd_fin_count.rawValue + i] == "fwd_\(n)_count")
            #expect(Feature.schema[Feature.bwd_fin_count.rawValue + i] == "bwd_\(n)_count")
        }
    }
}
