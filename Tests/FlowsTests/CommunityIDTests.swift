import Foundation
import Testing
@testable import Decoding
@testable import Flows

@Suite struct CommunityIDTests {
    struct Vector: Decodable {
        let proto: UInt8
        let saddr: String
        let daddr: String
        let sport: UInt16?
        let dport: UInt16?
        let communityid: String
    }

    func vectors(_ name: String) throws -> [Vector] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Data"))
        return try JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }

    @Test(arguments: [("community-id-baseline-seed0", UInt16(0)), ("community-id-baseline-seed1", UInt16(1))])
    func publishedBaseline(file: String, seed: UInt16) throws {
        let vs = try vectors(file)
        #expect(vs.count == 23)
        for v in vs {
            let id = CommunityID.compute(src: IPAddress(v.saddr)!, dst: IPAddress(v.daddr)!, proto: v.proto,
                                         sport: v.sport ?? 0, dport: v.dport ?? 0, seed: seed)
            #expect(id == v.communityid, "\(v.saddr) → \(v.daddr) proto \(v.proto)")
        }
    }

    @Test func specTableAndHexForm() {
        let a = IPAddress("1.2.3.4")!, b = IPAddress("5.6.7.8")!
        #expect(CommunityID.compute(src: a, dst: b, proto: 6, sport: 1122, dport: 3344) == "1:wCb3OG7yAFWelaUydu0D+125CLM=")
        #expect(CommunityID.compute(src: b, dst: a, proto: 6, sport: 3344, dport: 1122) == "1:wCb3OG7yAFWelaUydu0D+125CLM=")
        #expect(CommunityID.compute(src: a, dst: b, proto: 6, sport: 1122, dport: 3344, base64: false)
                == "1:c026f7386ef200559e95a53276ed03fb5db908b3")
        #expect(CommunityID.compute(src: a, dst: b, proto: 1, sport: 11, dport: 0) == "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=")
    }

    @Test func base64Padding() {
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    }
}
