import Testing
@testable import AppLayer
import Decoding

@Suite struct TLSFingerprintTests {
    /// The ClientHello of the FoxIO JA4 specification's example
    /// (technical_details/JA4.md): its 15 ciphers, 16 extensions and 8
    /// signature algorithms in wire order, ALPN h2, TLS 1.3 offered. With
    /// `grease`, GREASE values are added to the ciphers, extensions, groups,
    /// versions and signature algorithms, as Chrome sends them.
    static let specSignatureAlgorithms: [UInt16] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]

    static func specHello(grease: Bool, signatureAlgorithms: [UInt16] = specSignatureAlgorithms) -> [UInt8] {
        let g: (UInt16) -> [UInt16] = { grease ? [$0] : [] }
        let ciphers: [UInt16] = g(0x0A0A) + [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                                             0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
        let sigs: [UInt16] = g(0x1A1A) + signatureAlgorithms
        var exts: [[UInt8]] = grease ? [TLSWire.ext(0x2A2A, [])] : []
        exts += [
            TLSWire.ext(0x001B, [2, 0, 2]), TLSWire.sni("www.example.com"), TLSWire.ext(0x0033, [0, 0]),
            TLSWire.alpn(["h2", "http/1.1"]), TLSWire.ext(0x4469, [0, 3, 2, 0x68, 0x32]), TLSWire.ext(0x0017, []),
            TLSWire.ext(0x002D, [1, 1]), TLSWire.sigAlgs(sigs), TLSWire.ext(0x0005, [1, 0, 0, 0, 0]),
            TLSWire.ext(0x0023, []), TLSWire.ext(0x0012, []), TLSWire.versions(g(0x3A3A) + [0x0304, 0x0303]),
            TLSWire.ext(0xFF01, [0]), TLSWire.pointFormats([0]), TLSWire.groups(g(0x4A4A) + [0x001D, 0x0017, 0x0018]),
            TLSWire.ext(0x0015, [UInt8](repeating: 0, count: 10)),
        ]
        if grease { exts.append(TLSWire.ext(0xBABA, [0])) }
        return TLSWire.clientHello(ciphers: ciphers, extensions: exts)
    }

    static func hello(_ message: [UInt8]) throws -> TLSClientHello {
        try #require(parseTLS(client: TLSWire.record(22, message))?.clientHello)
    }

    @Test func ja3ReferenceExamples() throws {
        // salesforce/ja3 README: a TLS 1.0 hello with SNI, groups and point formats, and one without extensions.
        let a = try Self.hello(TLSWire.clientHello(
            version: 0x0301, ciphers: [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
            extensions: [TLSWire.sni("example.com"), TLSWire.groups([23, 24, 25]), TLSWire.pointFormats([0])]))
        #expect(a.ja3String == "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0")
        #expect(a.ja3Hash == "ada70206e40642a3e4461f35503241d5")
        let b = try Self.hello(TLSWire.clientHello(
            version: 0x0301, ciphers: [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99], extensions: nil))
        #expect(b.ja3String == "769,4-5-10-9-100-98-3-6-19-18-99,,,")
        #expect(b.ja3Hash == "de350869b8c85de67a350c8d186f11e6")
    }

    @Test func ja4SpecExampleWithAndWithoutGrease() throws {
        for grease in [false, true] {
            let h = try Self.hello(Self.specHello(grease: grease))
            #expect(h.ja4 == "t13d1516h2_8daaf6152771_e5627efa2ab1")
            #expect(h.ja4Raw == "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
                + "_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"
                + "_0403,0804,0401,0503,0805,0501,0806,0601")
            // JA3 keeps wire order, drops GREASE (MD5 checked with Python's hashlib).
            #expect(h.ja3String == "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
                + "27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0")
            #expect(h.ja3Hash == "c000e2caf3a25423f9de6c8a4b12a975")
        }
    }

    @Test func ja4WithoutSignatureAlgorithmsHasNoUnderscore() throws {
        // The specification's second example: the same extensions, an empty signature_algorithms list.
        let h = try Self.hello(Self.specHello(grease: false, signatureAlgorithms: []))
        #expect(h.ja4ExtensionList == "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01")
        #expect(h.ja4.hasSuffix("_6d807ffa2a79"))
    }

    @Test func ja4ALPNRules() throws {
        func code(_ names: [[UInt8]]?) throws -> String {
            let exts = names.map { [TLSWire.alpn($0)] } ?? []
            return String(try Self.hello(TLSWire.clientHello(ciphers: [0x1301], extensions: exts)).ja4Prefix.suffix(2))
        }
        #expect(try code([Array("h2".utf8)]) == "h2")
        #expect(try code([Array("http/1.1".utf8), Array("h2".utf8)]) == "h1")   // the first name only
        #expect(try code([Array("x".utf8)]) == "xx")                             // one character used twice
        #expect(try code([[0xAB]]) == "ab")                                      // not alphanumeric: hex digits
        #expect(try code([[0xAB, 0xCD]]) == "ad")
        #expect(try code([[0x30, 0xAB]]) == "3b")
        #expect(try code([[0x30, 0x31, 0xAB, 0xCD]]) == "3d")
        #expect(try code([[0x30, 0xAB, 0xCD, 0x31]]) == "01")
        #expect(try code([[]]) == "00")                                          // empty first name
        #expect(try code(nil) == "00")                                           // no ALPN extension
    }

    @Test func ja4VersionsCountsAndEmptyLists() throws {
        let empty = try Self.hello(TLSWire.clientHello(ciphers: [], extensions: nil))
        #expect(empty.ja4 == "t12i000000_000000000000_000000000000")
        #expect(empty.ja3String == "771,,,," && empty.ja3Hash == "bddda940f9963577c41d7c28b1a5f65f")
        let ssl3 = try Self.hello(TLSWire.clientHello(version: 0x0300, ciphers: [0x000A], extensions: nil))
        #expect(ssl3.ja4Prefix == "ts3i010000")
        let odd = try Self.hello(TLSWire.clientHello(version: 0x0305, ciphers: [0x000A], extensions: nil))
        #expect(odd.ja4Prefix == "t00i010000")
        // supported_versions wins over the legacy version; counts stop at 99.
        let many = (0..<120).map { UInt16(0x0100 + $0) }
        let big = try Self.hello(TLSWire.clientHello(version: 0x0303, ciphers: many,
                                                     extensions: [TLSWire.versions([0x0302, 0x0304, 0x0303])]))
        #expect(big.ja4Prefix == "t13i990100")
    }

    @Test func ja3sFromServerHellos() throws {
        let tls12 = TLSWire.serverHello(cipher: 0xC02F, extensions: [
            TLSWire.ext(0xFF01, [0]), TLSWire.ext(0, []), TLSWire.ext(0x000B, [1, 0]), TLSWire.ext(0x0023, []),
            TLSWire.ext(0x0010, [0, 3, 2, 0x68, 0x32]),
        ])
        let a = try #require(parseTLS(client: [], server: TLSWire.record(22, tls12)))
        #expect(a.serverHello?.ja3sString == "771,49199,65281-0-11-35-16")
        #expect(a.ja3sHash == "47decf033ac4c8fc9b952ff41e549679" && a.serverHello?.alpn == Array("h2".utf8))
        #expect(a.ja3Hash == nil && a.ja4 == nil)
        let tls13 = TLSWire.serverHello(cipher: 0x1301, extensions: [TLSWire.ext(0x002B, [3, 4]), TLSWire.ext(0x0033, [0, 0x1D, 0, 0])])
        let b = try #require(parseTLS(client: [], server: TLSWire.record(22, tls13)))
        #expect(b.ja3sHash == "f4febc55ea12b31ae17cfb7e614afda8")   // "771,4865,43-51": the legacy version, as tshark
    }

    @Test func certificateSHA1Fingerprint() throws {
        let a = try #require(TLSFixtures.selfSigned.withUnsafeBytes { X509Certificate.parse(der: ByteView($0)) })
        #expect(a.fingerprint == "0d:2b:ba:74:e0:aa:1e:e5:64:d8:ff:b3:3d:0d:b7:b6:8c:c5:60:2f")
        let b = try #require(TLSFixtures.withAltNames.withUnsafeBytes { X509Certificate.parse(der: ByteView($0)) })
        #expect(b.fingerprint == "8b:4b:68:67:b3:16:4a:36:68:99:a1:ad:ea:f5:e6:68:a0:37:2c:61")
        let cut = Array(TLSFixtures.selfSigned.prefix(400))
        let c = try #require(cut.withUnsafeBytes { X509Certificate.parse(der: ByteView($0)) })
        #expect(c.truncated && c.fingerprint == nil && c.subject == a.subject)
    }

    @Test func realCurlHelloMatchesTshark() throws {
        // JA3 from tshark 4.0.17; JA4 recomputed from tshark's fields with an independent script.
        let info = try #require(parseTLS(client: TLSFixtures.curlClientHello))
        #expect(info.ja3Hash == "0149f47eabf9a20d0893e2a44e5a6323")
        #expect(info.ja4 == "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6")
    }
}
