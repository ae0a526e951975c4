import Crypto
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

/// Community ID's single-block SHA-1 against swift-crypto's, on random
/// messages of every length it accepts, and the FIPS 180 "abc" vector.
@Suite struct SHA1BlockTests {
    func ours(_ m: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        m.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { SHA1Block.hash(src, into: $0.baseAddress!) } }
        return out
    }

    @Test func matchesSwiftCryptoOnEveryLength() {
        var rng = SystemRandomNumberGenerator()
        for n in 0...SHA1Block.maxMessage {
            for _ in 0..<20 {
                let m = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                #expect(ours(m) == Array(Insecure.SHA1.hash(data: m)), "length \(n)")
            }
        }
    }

    /// Both paths, whichever `hash` takes on this CPU (the extensions'
    /// only where the CPU has them).
    @Test func portableAndExtensionPathsMatchSwiftCrypto() {
        var rng = SystemRandomNumberGenerator()
        func digest(_ m: [UInt8], _ f: (UnsafeRawBufferPointer, UnsafeMutablePointer<UInt8>) -> Void) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 20)
            m.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { f(src, $0.baseAddress!) } }
            return out
        }
        for n in 0...SHA1Block.maxMessage {
            for _ in 0..<20 {
                let m = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let expected = Array(Insecure.SHA1.hash(data: m))
                #expect(digest(m) { SHA1Block.hashPortable($0, into: $1) } == expected, "portable, length \(n)")
                if SHA1Block.hasExtensions {
                    #expect(digest(m) { SHA1Block.hashWithExtensions($0, into: $1) } == expected, "SHA-NI, length \(n)")
                }
            }
        }
    }

    @Test func fips180Vector() {
        let hex = ours(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }
}

