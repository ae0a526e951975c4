import Testing
@testable import AppLayer
import Decoding

@Suite struct QUICInitialKeysTests {
    /// The Destination Connection ID of the test vectors of RFC 9001 Appendix A and RFC 9369 Appendix A.
    static let dcid = QUICWire.hex("8394c8f03e515708")

    @Test func version1MatchesRFC9001AppendixA1() throws {
        let k = try #require(QUICInitialKeys(version: QUICHeader.version1, destinationConnectionID: Self.dcid))
        #expect(QUICWire.hexString(k.initialSecret) == "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")
        #expect(QUICWire.hexString(k.clientSecret) == "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
        #expect(QUICWire.hexString(k.key) == "1f369613dd76d5467730efcbe3b1a22d")
        #expect(QUICWire.hexString(k.iv) == "fa044b2f42a3fd3b46fb255c")
        #expect(QUICWire.hexString(k.hp) == "9f50449e04a0e810283a1e9933adedd2")
    }

    @Test func version2SaltAndLabelsMatchRFC9369AppendixA1() throws {
        let k = try #require(QUICInitialKeys(version: QUICHeader.version2, destinationConnectionID: Self.dcid))
        #expect(QUICWire.hexString(k.initialSecret) == "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba")
        #expect(QUICWire.hexString(k.clientSecret) == "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b")
        #expect(QUICWire.hexString(k.key) == "8b1a0bc121284290a29e0971b5cd045d")
        #expect(QUICWire.hexString(k.iv) == "91f73e2351d8fa91660e909f")
        #expect(QUICWire.hexString(k.hp) == "45b95e15235d6f45a6b19cbcb0294ba9")
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
