import Testing
@testable import AppLayer
import Decoding

@Suite struct QUICInitialKeysTests {
    /// The Destination Connection ID of the test vectors of RFC 9001 Appendix A and RFC 9369 Appendix A.
    static let dcid = QUICWire.hex("8394c8f03e515708")

    /// RFC 9001 Appendix A.1 (version 1) and RFC 9369 Appendix A.1 (version 2's
    /// salt and labels): initial secret, client secret, key, iv, hp.
    static let vectors: [(UInt32, [String])] = [
        (QUICHeader.version1, ["7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44",
                               "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
                               "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
                               "9f50449e04a0e810283a1e9933adedd2"]),
        (QUICHeader.version2, ["2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba",
                               "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
                               "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
                               "45b95e15235d6f45a6b19cbcb0294ba9"]),
    ]

    @Test func clientKeysMatchThePublishedVectors() throws {
        for (version, want) in Self.vectors {
            let k = try #require(QUICInitialKeys(version: version, destinationConnectionID: Self.dcid))
            #expect([k.initialSecret, k.clientSecret, k.key, k.iv, k.hp].map(QUICWire.hexString) == want, "\(version)")
        }
    }

    /// RFC 9001 A.2: the client Initial's sample and the mask it gives.
    @Test func headerMaskMatchesRFC9001AppendixA2() throws {
        let k = try #require(QUICInitialKeys(version: QUICHeader.version1, destinationConnectionID: Self.dcid))
        let mask = try #require(k.headerMask(sample: QUICWire.hex("d1b1c98dd7689fb8ec11d242b123dc9b")))
        #expect(QUICWire.hexString(Array(mask.prefix(5))) == "437b9aec36")
        #expect(k.headerMask(sample: [1, 2, 3]) == nil)
    }

    @Test func otherVersionsAndLongConnectionIDsGiveNoKeys() {
        #expect(QUICInitialKeys(version: 0xFF00_001D, destinationConnectionID: Self.dcid) == nil)  // draft-29
        #expect(QUICInitialKeys(version: 0, destinationConnectionID: Self.dcid) == nil)
        #expect(QUICInitialKeys(version: QUICHeader.version1, destinationConnectionID: [UInt8](repeating: 1, count: 21)) == nil)
        // An empty DCID is legal to derive from (the parser never sees one from a client's first Initial).
        #expect(QUICInitialKeys(version: QUICHeader.version1, destinationConnectionID: []) != nil)
    }
}
