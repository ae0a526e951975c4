import Testing
@testable import AppLayer
import Decoding

/// TLS messages built by hand (RFC 8446 §4, RFC 5246 §7.4): extensions,
/// handshake messages and records, as the tests of both TLS files use them.
enum TLSWire {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u24(_ v: Int) -> [UInt8] { [UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func u16List(_ values: [UInt16]) -> [UInt8] { values.flatMap(u16) }
    /// An extension: type(2) length(2) data.
    static func ext(_ type: UInt16, _ data: [UInt8]) -> [UInt8] { u16(type) + u16(UInt16(data.count)) + data }
    /// server_name (0): list length(2), then one host_name entry: type 0, length(2), name.
    static func sni(_ name: String) -> [UInt8] {
        let n = Array(name.utf8)
        return ext(0x0000, u16(UInt16(n.count + 3)) + [0] + u16(UInt16(n.count)) + n)
    }
    /// ALPN (16): list length(2), then length(1)-prefixed names.
    static func alpn(_ names: [[UInt8]]) -> [UInt8] {
        let list = names.flatMap { [UInt8($0.count)] + $0 }
        return ext(0x0010, u16(UInt16(list.count)) + list)
    }
    static func alpn(_ names: [String]) -> [UInt8] { alpn(names.map { Array($0.utf8) }) }
    static func groups(_ g: [UInt16]) -> [UInt8] { ext(0x000A, u16(UInt16(g.count * 2)) + u16List(g)) }
    static func pointFormats(_ f: [UInt8]) -> [UInt8] { ext(0x000B, [UInt8(f.count)] + f) }
    static func sigAlgs(_ s: [UInt16]) -> [UInt8] { ext(0x000D, u16(UInt16(s.count * 2)) + u16List(s)) }
    /// supported_versions (43) as a client sends it: list length(1), versions.
    static func versions(_ v: [UInt16]) -> [UInt8] { ext(0x002B, [UInt8(v.count * 2)] + u16List(v)) }
    /// A handshake message: type(1) length(3) body.
    static func handshake(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type] + u24(body.count) + body }
    /// ClientHello: version, random (32 × 0x11), empty session id, ciphers,
    /// null compression, then the extensions block (left out when nil).
    static func clientHello(version: UInt16 = 0x0303, ciphers: [UInt16], extensions: [[UInt8]]?) -> [UInt8] {
        var body = u16(version) + [UInt8](repeating: 0x11, count: 32) + [0]
        body += u16(UInt16(ciphers.count * 2)) + u16List(ciphers) + [1, 0]
        if let extensions {
            let all = extensions.flatMap { $0 }
            body += u16(UInt16(all.count)) + all
        }
        return handshake(1, body)
    }
    /// ServerHello: version, random (32 × 0x22 unless given), empty session id, cipher, null compression, extensions.
    static func serverHello(version: UInt16 = 0x0303, cipher: UInt16, random: [UInt8]? = nil,
                            extensions: [[UInt8]]?) -> [UInt8] {
        var body = u16(version) + (random ?? [UInt8](repeating: 0x22, count: 32)) + [0] + u16(cipher) + [0]
        if let extensions {
            let all = extensions.flatMap { $0 }
            body += u16(UInt16(all.count)) + all
        }
        return handshake(2, body)
    }
    /// Certificate (TLS ≤ 1.2): list length(3), then length(3)-prefixed DER certificates.
    static func certificate(_ ders: [[UInt8]]) -> [UInt8] {
        let list = ders.flatMap { u24($0.count) + $0 }
        return handshake(11, u24(list.count) + list)
    }
    /// A record: type(1) version(2) length(2) fragment.
    static func record(_ type: UInt8, _ fragment: [UInt8], version: UInt16 = 0x0301) -> [UInt8] {
        [type] + u16(version) + u16(UInt16(fragment.count)) + fragment
    }
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: continue
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

func parseTLS(client: [UInt8], server: [UInt8] = []) -> TLSInfo? {
    client.withUnsafeBytes { c in server.withUnsafeBytes { s in TLSParser.parse(client: ByteView(c), server: ByteView(s)) } }
}

/// Test certificates made with OpenSSL 3.0.
enum TLSFixtures {
    /// `openssl req -x509 -newkey rsa:1024 -nodes -subj "/C=US/O=Test Org/CN=example.test" -days 30 -outform DER`;
    /// `openssl x509 -fingerprint -sha1`: 0D:2B:BA:74:E0:AA:1E:E5:64:D8:FF:B3:3D:0D:B7:B6:8C:C5:60:2F.
    static let selfSigned = TLSWire.bytes(hex: """
        3082024a308201b3a00302010202146aadc53e7958912d1c618ba23db8e3dc37cd71d2300d06092a864886f70d01010b
        05003037310b30090603550406130255533111300f060355040a0c0854657374204f72673115301306035504030c0c65
        78616d706c652e74657374301e170d3236313230363036303332315a170d3237303130353036303332315a3037310b30
        090603550406130255533111300f060355040a0c0854657374204f72673115301306035504030c0c6578616d706c652e
        7465737430819f300d06092a864886f70d010101050003818d0030818902818100c5cd412c8e95e829f5cf98f1f24c9c
        6d9e6fce81b631f221736ef5063015e395cbffd231a5ecdd85986f692d8b29ebc1fc27a034f2bb8baa1d45f73295af6c
        c6983580ee19038e6a077afc6b172e22140b7f3240f5d52d0da8733f3b80e3b87fe4822ec69c9093771cf1c84d1e19b8
        559d0b0a9e24d5e2ede38bd69ed17178a70203010001a3533051301d0603551d0e04160414b3dfb0838e7683434ae43a
        010bad192616680e58301f0603551d23041830168014b3dfb0838e7683434ae43a010bad192616680e58300f0603551d
        130101ff040530030101ff300d06092a864886f70d01010b0500038181001a931a42c0f7a45b7c1c86a0c687fd725bcd
        10c4fb06f7ffde8b0a0fb1b21268b1794bbe53dfd6557779696993a5c8e3cf5439b0d18657c78cd1c7a6981b6ce43195
        db609cd12405c01512faec7c7ceff45654892db9dcf9778f15e2f4a056a156fa3b33b2e73db14e05737b23f8f19469ed
        b2b336d703f80cfcbccbd7a13227
        """)

    /// EC P-256, subject `/C=DE/ST=Berlin/L=Berlin/O=Ex Org/OU=Lab/CN=ec.example.test/emailAddress=admin@example.test/DC=example`,
    /// subjectAltName DNS:ec.example.test, DNS:*.ec.example.test, IP:192.0.2.1; `-days 10000` (notAfter
    /// a GeneralizedTime); SHA-1 8B:4B:68:67:B3:16:4A:36:68:99:A1:AD:EA:F5:E6:68:A0:37:2C:61.
    static let withAltNames = TLSWire.bytes(hex: """
        308202d93082027ea0030201020214796af65b6b6c41c2583002db539cf9d3d67c5820300a06082a8648ce3d04030230
        81a4310b3009060355040613024445310f300d06035504080c064265726c696e310f300d06035504070c064265726c69
        6e310f300d060355040a0c064578204f7267310c300a060355040b0c034c61623118301606035504030c0f65632e6578
        616d706c652e746573743121301f06092a864886f70d010901161261646d696e406578616d706c652e74657374311730
        15060a0992268993f22c64011916076578616d706c653020170d3236313230363036303332375a180f32303534303432
        333036303332375a3081a4310b3009060355040613024445310f300d06035504080c064265726c696e310f300d060355
        04070c064265726c696e310f300d060355040a0c064578204f7267310c300a060355040b0c034c616231183016060355
        04030c0f65632e6578616d706c652e746573743121301f06092a864886f70d010901161261646d696e406578616d706c
        652e7465737431173015060a0992268993f22c64011916076578616d706c653059301306072a8648ce3d020106082a86
        48ce3d03010703420004eb0293f44f7925a2feddaa37ceea71120e86f1d690189fb8ddeec0eba04cc534950e29373ee8
        c231aec1fd213edfd7d3c9f196f1ed7bb48c65a04e209956b728a38189308186301d0603551d0e04160414c29c7a7f4c
        6d623cabdb3c842bf82f49e3ac45a6301f0603551d23041830168014c29c7a7f4c6d623cabdb3c842bf82f49e3ac45a6
        300f0603551d130101ff040530030101ff30330603551d11042c302a820f65632e6578616d706c652e7465737482112a
        2e65632e6578616d706c652e746573748704c0000201300a06082a8648ce3d0403020349003046022100c2d9c7bd9e3d
        343b9d971079e96bca6936ffc35a59204658837c3f1016d2741a02210098cacfbb4b3bcbe51ce04e824181f68c42dd8f
        80d091fe25721e0990990e99b2
        """)

    /// The first record curl 7.88 (OpenSSL 3.0) sent to a local `openssl s_server`, captured with
    /// tcpdump: tshark 4.0.17 gives JA3 0149f47eabf9a20d0893e2a44e5a6323 and SNI localhost.
    static let curlClientHello = TLSWire.bytes(hex: """
        1603010200010001fc03037a649bcd0d6551b0ff8d9c54425142eba06042fb47f7be630f40e3b09538818620052ad0cb
        c9e7f47d9ec02273259ecb8a1f4f999b413ab87a5e441c899bde1342003e130213031301c02cc030009fcca9cca8ccaa
        c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000175
        0000000e000c0000096c6f63616c686f7374000b000403000102000a00160014001d0017001e00190018010001010102
        010301040010000e000c02683208687474702f312e31001600000017000000310000000d002a00280403050306030807
        08080809080a080b080408050806040105010601030303010302040205020602002b0009080304030303020301002d00
        020101003300260024001d00202d9b0d403f37b1be5d699c02e4e1c829aa437553358099f8f8fbd6ee5fa53557001500
        b40000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
        000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
        000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000000
        """)
}

@Suite struct TLSParserTests {
    /// A TLS 1.2 ClientHello with SNI, ALPN, groups, point formats and signature algorithms.
    static let hello = TLSWire.clientHello(ciphers: [0x1A1A, 0xC02F, 0xC030, 0x009C], extensions: [
        TLSWire.ext(0x5A5A, []), TLSWire.sni("Shop.Example.COM"), TLSWire.alpn(["h2", "http/1.1"]),
        TLSWire.groups([0x2A2A, 0x001D, 0x0017]), TLSWire.pointFormats([0]), TLSWire.sigAlgs([0x0403, 0x0804]),
        TLSWire.versions([0x0303, 0x0302]),
    ])

    @Test func clientHelloFields() throws {
        let info = try #require(parseTLS(client: TLSWire.record(22, Self.hello)))
        let h = try #require(info.clientHello)
        #expect(h.legacyVersion == 0x0303)
        #expect(h.cipherSuites == [0x1A1A, 0xC02F, 0xC030, 0x009C])      // wire order, GREASE kept
        #expect(h.extensions == [0x5A5A, 0, 16, 10, 11, 13, 43])
        #expect(h.sni == "Shop.Example.COM")                              // as sent
        #expect(h.alpnNames == ["h2", "http/1.1"])
        #expect(h.supportedGroups == [0x2A2A, 0x001D, 0x0017] && h.ecPointFormats == [0])
        #expect(h.signatureAlgorithms == [0x0403, 0x0804] && h.supportedVersions == [0x0303, 0x0302])
        #expect(!h.listsTruncated && info.malformed == nil)
        #expect(info.clientRecords.handshake == 1 && !info.clientTruncated && info.serverHello == nil)
        #expect(info.versionName == "TLS 1.2" && info.versionCode == 12)
        #expect(info.cipherCount == 3 && info.extensionCount == 6)        // GREASE left out
        #expect(info.sniPresent == 1 && info.sniLength == 16)
    }

    @Test func numericValuesWithoutCertificateOrHeartbeat() throws {
        let info = try #require(parseTLS(client: TLSWire.record(22, Self.hello)))
        // "Shop.Example.COM": 16 characters, 'p' and '.' twice, 12 others once: 12·(1/16)·4 + 2·(2/16)·3 = 3.75 bits.
        #expect(abs(info.sniEntropy - 3.75) < 1e-9)
        #expect(info.certificateValidityDays == 0 && info.certificateSelfSigned == 0)
        #expect(info.heartbeatRatio == 0 && info.heartbeatRecords == 0)
    }

    @Test func helloSplitOverTwoRecordsAndMessagesSharingARecord() throws {
        let cut = 40
        let split = TLSWire.record(22, Array(Self.hello.prefix(cut))) + TLSWire.record(22, Array(Self.hello.dropFirst(cut)))
        let info = try #require(parseTLS(client: split))
        let whole = try #require(parseTLS(client: TLSWire.record(22, Self.hello)))
        #expect(info.clientRecords.handshake == 2 && info.malformed == nil)
        #expect(info.clientHello != nil && info.clientHello == whole.clientHello)

        // ServerHello, Certificate and ServerHelloDone in one record, as many servers send them.
        let flight = TLSWire.serverHello(cipher: 0xC02F, extensions: [TLSWire.ext(0xFF01, [0])])
            + TLSWire.certificate([TLSFixtures.selfSigned]) + TLSWire.handshake(14, [])
        let both = try #require(parseTLS(client: TLSWire.record(22, Self.hello), server: TLSWire.record(22, flight)))
        #expect(both.serverHello?.cipherSuite == 0xC02F && both.certificate?.subject == "C=US, O=Test Org, CN=example.test")
        #expect(both.serverRecords.handshake == 1 && both.malformed == nil)

        // The certificate message spread over three records.
        let third = flight.count / 3
        let spread = TLSWire.record(22, Array(flight.prefix(third))) + TLSWire.record(22, Array(flight[third..<2 * third]))
            + TLSWire.record(22, Array(flight.dropFirst(2 * third)))
        let again = try #require(parseTLS(client: [], server: spread))
        #expect(again.certificate == both.certificate && again.serverRecords.handshake == 3)
    }

    @Test func streamCutMidRecord() throws {
        let whole = TLSWire.record(22, Self.hello)
        for cut in [3, 5, 20, 60, whole.count - 1] {
            let info = try #require(parseTLS(client: Array(whole.prefix(cut)), server: TLSWire.record(21, [2, 40])))
            #expect(info.clientTruncated && info.clientHello == nil && info.malformed == nil)
        }
        // Cut after a whole record: not truncated.
        let info = try #require(parseTLS(client: whole + TLSWire.record(20, [1])))
        #expect(!info.clientTruncated && info.clientRecords.changeCipherSpec == 1)
    }

    @Test func serverHelloAndTLS13Version() throws {
        let sh = TLSWire.serverHello(cipher: 0x1301, extensions: [TLSWire.ext(0x002B, [3, 4]), TLSWire.ext(0x0033, [0, 0x1D, 0, 0])])
        let server = TLSWire.record(22, sh, version: 0x0303) + TLSWire.record(20, [1], version: 0x0303)
            + TLSWire.record(23, [UInt8](repeating: 0xEE, count: 40), version: 0x0303)
        let info = try #require(parseTLS(client: TLSWire.record(22, Self.hello), server: server))
        let s = try #require(info.serverHello)
        #expect(s.legacyVersion == 0x0303 && s.selectedVersion == 0x0304 && s.extensions == [43, 51])
        #expect(!s.helloRetryRequest && s.ja3sString == "771,4865,43-51")
        #expect(info.versionName == "TLS 1.3" && info.versionCode == 13)
        #expect(info.serverRecords.handshake == 1 && info.serverRecords.changeCipherSpec == 1)
        #expect(info.serverRecords.applicationData == 1)
    }

    @Test func helloRetryRequestThenServerHello() throws {
        let hrrRandom = TLSHandshakeReader.helloRetryRandom
        let hrr = TLSWire.serverHello(cipher: 0x1302, random: hrrRandom, extensions: [
            TLSWire.ext(0x002B, [3, 4]), TLSWire.ext(0x0033, [0, 0x17]), TLSWire.ext(0x002C, [0, 2, 0xAB, 0xCD]),
        ])
        let sh = TLSWire.serverHello(cipher: 0x1302, extensions: [TLSWire.ext(0x002B, [3, 4]), TLSWire.ext(0x0033, [0, 0x17, 0, 0])])
        // HRR, the compatibility CCS (RFC 8446 §D.4), then the real ServerHello and encrypted records.
        let server = TLSWire.record(22, hrr) + TLSWire.record(20, [1]) + TLSWire.record(22, sh) + TLSWire.record(23, [1, 2, 3])
        let info = try #require(parseTLS(client: TLSWire.record(22, Self.hello), server: server))
        let s = try #require(info.serverHello)
        #expect(s.helloRetryRequest && s.extensions == [43, 51] && s.selectedVersion == 0x0304)  // the second hello's
        #expect(info.serverRecords.handshake == 2 && info.malformed == nil)
        // Only the HRR seen: it stands in for the ServerHello.
        let only = try #require(parseTLS(client: [], server: TLSWire.record(22, hrr)))
        #expect(only.serverHello?.helloRetryRequest == true && only.serverHello?.cipherSuite == 0x1302)
    }

    @Test func certificateFields() throws {
        let s = try #require(TLSFixtures.selfSigned.withUnsafeBytes { X509Certificate.parse(der: ByteView($0)) })
        #expect(s.subject == "C=US, O=Test Org, CN=example.test" && s.issuer == s.subject)
        #expect(s.serial == "6A:AD:C5:3E:79:58:91:2D:1C:61:8B:A2:3D:B8:E3:DC:37:CD:71:D2")
        #expect(s.notBefore == "2026-12-06T06:03:21" && s.notAfter == "2027-01-05T06:03:21")   // UTCTime
        #expect(s.subjectAltNames.isEmpty && !s.truncated && s.malformed == nil && s.der == TLSFixtures.selfSigned)

        let e = try #require(TLSFixtures.withAltNames.withUnsafeBytes { X509Certificate.parse(der: ByteView($0)) })
        #expect(e.subject == "C=DE, ST=Berlin, L=Berlin, O=Ex Org, OU=Lab, CN=ec.example.test, Email=admin@example.test, DC=example")
        #expect(e.notAfter == "2054-04-23T06:03:27")                                          // GeneralizedTime
        #expect(e.subjectAltNames == ["ec.example.test", "*.ec.example.test"])                 // DNS names only

        let server = TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: nil))
            + TLSWire.record(22, TLSWire.certificate([TLSFixtures.selfSigned, TLSFixtures.withAltNames]))
        let info = try #require(parseTLS(client: TLSWire.record(22, Self.hello), server: server))
        #expect(info.certificate == s)                                                         // the leaf
        #expect(info.certificateValidityDays == 30 && info.certificateSelfSigned == 1)
    }

    @Test func certificateCutByThePrefix() throws {
        let server = TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: nil))
            + TLSWire.record(22, TLSWire.certificate([TLSFixtures.selfSigned]))
        // Cut inside the public key: names, serial and dates are readable, the fingerprint is not.
        let info = try #require(parseTLS(client: [], server: Array(server.prefix(300))))
        let c = try #require(info.certificate)
        #expect(c.truncated && c.der.isEmpty && c.subject == "C=US, O=Test Org, CN=example.test")
        #expect(c.notAfter == "2027-01-05T06:03:21" && info.serverTruncated && info.malformed == nil)
        // Cut inside the issuer: the serial only.
        let early = try #require(parseTLS(client: [], server: Array(server.prefix(120))))
        #expect(early.certificate?.serial != nil && early.certificate?.issuer == nil && early.certificate?.truncated == true)
    }

    @Test func heartbeatRecordsAndLengths() throws {
        // A Heartbleed-style exchange: a 3-byte request claiming 16 KiB, a 16 KiB answer (cut by the prefix).
        let request = TLSWire.record(24, [1, 0x40, 0x00], version: 0x0302)
        let answerHeader: [UInt8] = [24, 3, 2, 0x40, 0x13]                    // 16403-byte record
        let client = TLSWire.record(22, Self.hello) + request + request
        let server = TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: nil)) + answerHeader
            + [UInt8](repeating: 0x41, count: 3000)
        let info = try #require(parseTLS(client: client, server: server))
        #expect(info.clientRecords.heartbeat == 2 && info.clientRecords.heartbeatMaxLength == 3)
        #expect(info.serverRecords.heartbeat == 1 && info.serverRecords.heartbeatMaxLength == 16403)
        #expect(info.heartbeatRecords == 3 && abs(info.heartbeatRatio - 16403.0 / 3) < 1e-9)
        #expect(info.serverTruncated && info.malformed == nil)
        #expect(info.heartbeatOverread)
    }

    @Test func aHeartbeatEchoedAtItsOwnSizeIsNoOverread() throws {
        // RFC 6520: the response carries the request's payload; padding may differ.
        let request = TLSWire.record(24, [1, 0, 24] + [UInt8](repeating: 7, count: 24 + 16))
        let response = TLSWire.record(24, [2, 0, 24] + [UInt8](repeating: 7, count: 24 + 32))
        let client = TLSWire.record(22, Self.hello) + request
        let server = TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: nil)) + response
        let echoed = try #require(parseTLS(client: client, server: server))
        #expect(echoed.clientRecords.heartbeat == 1 && echoed.serverRecords.heartbeat == 1 && !echoed.heartbeatOverread)
        // A server's own large heartbeat, the client silent: nothing was asked.
        let big = TLSWire.record(24, [1, 0x40, 0] + [UInt8](repeating: 1, count: 4000))
        let unasked = try #require(parseTLS(client: TLSWire.record(22, Self.hello),
                                            server: TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: nil)) + big))
        #expect(!unasked.heartbeatOverread)
    }

    @Test func realClientHelloFromCurl() throws {
        let info = try #require(parseTLS(client: TLSFixtures.curlClientHello))
        let h = try #require(info.clientHello)
        #expect(h.sni == "localhost" && h.alpnNames == ["h2", "http/1.1"] && h.cipherSuites.count == 31)
        #expect(info.versionName == "TLS 1.3" && info.malformed == nil)
    }

    @Test func notTLSGivesNil() {
        #expect(parseTLS(client: [], server: []) == nil)
        #expect(parseTLS(client: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == nil)
        #expect(parseTLS(client: Array("SSH-2.0-OpenSSH_9.6\r\n".utf8), server: Array("SSH-2.0-x\r\n".utf8)) == nil)
        #expect(parseTLS(client: [22, 3, 1, 0, 0]) == nil)                     // zero length
        #expect(parseTLS(client: [22, 3, 1, 0xFF, 0xFF]) == nil)               // longer than any record
        #expect(parseTLS(client: [22, 2, 0, 0, 5, 1, 0, 0, 1, 0]) == nil)      // version 2.0
        #expect(parseTLS(client: [0x80, 0x2E, 0x01, 0x03, 0x01]) == nil)       // SSLv2-style hello
        #expect(parseTLS(client: [22, 3, 1]) == nil)                           // too short to tell
        var garbage = [UInt8](repeating: 0, count: 512)
        var x: UInt32 = 2_463_534_242
        for i in garbage.indices { x ^= x << 13; x ^= x >> 17; x ^= x << 5; garbage[i] = UInt8(truncatingIfNeeded: x) }
        #expect(parseTLS(client: garbage, server: garbage) == nil)
    }

    @Test func malformedInputGivesAReason() throws {
        let good = TLSWire.record(22, Self.hello)
        // Zero-length handshake record after a good one.
        #expect(parseTLS(client: good + [22, 3, 3, 0, 0])?.malformed == "tls.record_length")
        // A record longer than TLS allows.
        #expect(parseTLS(client: good + [23, 3, 3, 0x50, 0x00])?.malformed == "tls.record_length")
        // A record header that lost sync (major version 0x41).
        #expect(parseTLS(client: good + Array("AAAAAA".utf8))?.malformed == "tls.record_header")
        // The server answered in plain text.
        #expect(parseTLS(client: good, server: Array("HTTP/1.1 400 Bad Request\r\n".utf8))?.malformed == "tls.record_header")
        // A handshake message longer than the handshake records before the CCS.
        var lying = Self.hello
        lying[2] &+= 1                                                          // 256 bytes more
        #expect(parseTLS(client: TLSWire.record(22, lying) + TLSWire.record(20, [1]))?.malformed == "tls.handshake_length")
        // The same message at the end of the bytes is only cut.
        let cut = try #require(parseTLS(client: TLSWire.record(22, lying)))
        #expect(cut.malformed == nil && cut.clientHello == nil)
        // Cipher list longer than the hello.
        var ciphers = Self.hello
        ciphers[4 + 2 + 32 + 1] = 0x7F
        #expect(parseTLS(client: TLSWire.record(22, ciphers))?.malformed == "tls.hello_length")
        // An extension claiming more bytes than the extensions block holds.
        var ext = Self.hello
        ext[4 + 2 + 32 + 1 + 2 + 8 + 2 + 2 + 2] = 0x7F                          // the first extension's length
        let e = try #require(parseTLS(client: TLSWire.record(22, ext)))
        #expect(e.malformed == "tls.extension_length" && e.clientHello != nil)  // what preceded is kept
        // An SNI whose inner list disagrees with the extension.
        let badSNI = TLSWire.clientHello(ciphers: [0x002F], extensions: [TLSWire.ext(0, [0, 9, 0, 0, 3, 0x61])])
        #expect(parseTLS(client: TLSWire.record(22, badSNI))?.malformed == "tls.extension_length")
        // A certificate whose DER is broken (an indefinite length).
        var der = TLSFixtures.selfSigned
        der[5] = 0x80
        let server = TLSWire.record(22, TLSWire.certificate([der]))
        #expect(parseTLS(client: good, server: server)?.malformed == "tls.certificate_der")
        // A certificate list length that disagrees with the message.
        let badList = TLSWire.handshake(11, TLSWire.u24(9) + TLSWire.u24(2) + [0x30, 0x00])
        #expect(parseTLS(client: good, server: TLSWire.record(22, badList))?.malformed == "tls.certificate_length")
    }

    @Test func hostileLengthsNeverCrash() {
        // Every prefix and every single-byte corruption of a full exchange parses without trapping.
        let server = TLSWire.record(22, TLSWire.serverHello(cipher: 0xC02F, extensions: [TLSWire.alpn(["h2"])]))
            + TLSWire.record(22, TLSWire.certificate([TLSFixtures.withAltNames])) + TLSWire.record(24, [2, 0, 1, 9])
        let client = TLSWire.record(22, Self.hello) + TLSWire.record(20, [1]) + TLSWire.record(23, [1, 2, 3])
        for n in 0...server.count { _ = parseTLS(client: client, server: Array(server.prefix(n))) }
        for i in 0..<client.count {
            for v: UInt8 in [0x00, 0xFF, 0x80] {
                var c = client
                c[i] = v
                _ = parseTLS(client: c, server: server)
            }
        }
        for i in stride(from: 0, to: server.count, by: 3) {
            var s = server
            s[i] = 0xFF
            _ = parseTLS(client: client, server: s)
        }
    }

    @Test func listsAreBounded() throws {
        let many = (0..<400).map { UInt16(0x0100 + $0) }
        let big = TLSWire.clientHello(ciphers: many, extensions: [TLSWire.groups(Array(many.prefix(200)))])
        let h = try #require(parseTLS(client: TLSWire.record(22, big))?.clientHello)
        #expect(h.cipherSuites.count == TLSClientHello.cipherCapacity && h.supportedGroups.count == TLSClientHello.listCapacity)
        #expect(h.listsTruncated)
    }

    @Test func versionNames() {
        #expect(TLSInfo.versionName(0x0300) == "SSLv3" && TLSInfo.versionName(0x0301) == "TLSv1")
        #expect(TLSInfo.versionName(0x0302) == "TLS 1.1" && TLSInfo.versionName(0x0303) == "TLS 1.2")
        #expect(TLSInfo.versionName(0x0304) == "TLS 1.3" && TLSInfo.versionName(0x7F1C) == "TLS 1.3 draft-28")
        #expect(TLSInfo.versionName(0x1234) == "UNDETERMINED" && TLSInfo().versionName == "UNDETERMINED")
    }
}
