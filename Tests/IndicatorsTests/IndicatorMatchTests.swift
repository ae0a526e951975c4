import Foundation
import Testing
@testable import AppLayer
import Decoding
import Flows
@testable import Indicators

/// Matching flow records: addresses and subnets (IPv4 and IPv6, several
/// prefix lengths), names exact and case-blind, URLs, fingerprints, and
/// every source of an indicator.
@Suite struct IndicatorMatchTests {
    static func record(_ src: String, _ dst: String, app: AppLayerInfo? = nil) -> FlowRecord {
        var r = FlowRecord.blank
        r.srcIP = IPAddress(src)!
        r.dstIP = IPAddress(dst)!
        r.app = app
        return r
    }

    static func set(_ lines: [String]) throws -> IndicatorSet {
        try IndicatorSet.parse("#fields\tindicator\tindicator_type\tmeta.source\tmeta.severity\n"
                               + lines.joined(separator: "\n") + "\n")
    }

    /// (value, where, source) of each hit.
    static func hits(_ s: IndicatorSet, _ r: FlowRecord) -> [String] {
        var h: [IndicatorHit] = []
        s.match(r, into: &h)
        return h.map { "\(s.value(of: $0)) \($0.seenAt.field) \(s.source(of: $0))" }
    }

    @Test func addressesAndSubnetsOfEveryLengthPresent() throws {
        let s = try Self.set([
            "192.0.2.7\tIntel::ADDR\ta\t-",
            "198.51.0.0/16\tIntel::SUBNET\tb\t-",
            "198.51.100.0/24\tIntel::SUBNET\tc\t-",
            "198.51.100.128/25\tIntel::SUBNET\tc\t-",
            "0.0.0.0/0\tIntel::SUBNET\tall\t-",
            "2001:db8::/32\tIntel::SUBNET\tv6\t-",
            "2001:db8:0:1::5\tIntel::ADDR\tv6\t-",
        ])
        #expect(s.addresses.v4Tables == [32, 25, 24, 16, 0])
        #expect(s.addresses.v6Tables == [33 + 128, 33 + 32])
        #expect(Self.hits(s, Self.record("192.0.2.7", "203.0.113.1")) == [
            "192.0.2.7 src_ip a", "0.0.0.0/0 src_ip all", "0.0.0.0/0 dest_ip all",
        ])
        #expect(Self.hits(s, Self.record("10.0.0.1", "198.51.100.200")) == [
            "0.0.0.0/0 src_ip all", "198.51.100.128/25 dest_ip c", "198.51.100.0/24 dest_ip c",
            "198.51.0.0/16 dest_ip b", "0.0.0.0/0 dest_ip all",
        ])
        // IPv6: the /32 and the address; IPv4's 0.0.0.0/0 holds no IPv6 address, and no IPv6 subnet an IPv4 one.
        #expect(Self.hits(s, Self.record("2001:db8:0:1::5", "2001:db9::1")) == [
            "2001:0db8:0000:0001:0000:0000:0000:0005 src_ip v6", "2001:0db8:0000:0000:0000:0000:0000:0000/32 src_ip v6",
        ])
        #expect(Self.hits(s, Self.record("2001:db9::1", "2001:db9::2")).isEmpty)
    }

    @Test func subnetHostBitsAreMaskedAsZeekDoes() throws {
        let s = try Self.set(["10.1.2.3/8\tIntel::SUBNET\ta\t-"])
        #expect(Self.hits(s, Self.record("10.200.0.1", "192.0.2.1")) == ["10.0.0.0/8 src_ip a"])
    }

    static func http(_ request: String) -> AppLayerInfo? {
        let bytes = Array(request.utf8)
        return bytes.withUnsafeBufferPointer { b in
            AppStreamCapture(client: ByteView(base: UnsafeRawPointer(b.baseAddress), count: b.count),
                             server: ByteView(base: nil, count: 0), transport: 6, clientPort: 40000, serverPort: 80,
                             clientStats: AppStreamStats(), serverStats: AppStreamStats()).analyse()
        }
    }

    @Test func httpHostAndURLThroughTheRealParser() throws {
        let s = try Self.set([
            "evil.example\tIntel::DOMAIN\tnames\t1",
            "evil.example/dl/payload.exe?id=1\tIntel::URL\turls\t-",
            "proxy.example/x\tIntel::URL\turls\t-",
        ])
        let app = try #require(Self.http("GET /dl/payload.exe?id=1 HTTP/1.1\r\nHost: EVIL.example:8080\r\nUser-Agent: x\r\n\r\n"))
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: app)) == [
            "evil.example http.hostname names", "evil.example/dl/payload.exe?id=1 http.url urls",
        ])
        // Another path on the host: the domain only (a URL is exact).
        let other = try #require(Self.http("GET /dl/payload.exe HTTP/1.1\r\nHost: evil.example\r\n\r\n"))
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: other)) == ["evil.example http.hostname names"])
        // Absolute form through a proxy: the target carries the host.
        let proxied = try #require(Self.http("GET http://proxy.example/x HTTP/1.1\r\nHost: proxy.example\r\n\r\n"))
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: proxied)) == ["proxy.example/x http.url urls"])
    }

    static func dns(_ name: String) -> AppLayerInfo {
        var m = DNSMessage()
        m.questions = [DNSMessage.Question(rrname: name, rrnameTruncated: false, rrtype: 1, rrclass: 1, nameLength: name.count,
                                           labelCount: 3, nameEntropy: 0, nameDigits: 0)]
        var d = DNSInfo()
        d.request = m
        return AppLayerInfo(proto: .dns, dns: d, client: AppStreamStats(), server: AppStreamStats())
    }

    @Test func domainsAreExactAndCaseBlind() throws {
        let s = try Self.set(["evil.example\tIntel::DOMAIN\tnames\t-"])
        #expect(Self.hits(s, Self.record("10.0.0.1", "10.0.0.53", app: Self.dns("Evil.EXAMPLE"))) == ["evil.example dns.queries.rrname names"])
        #expect(Self.hits(s, Self.record("10.0.0.1", "10.0.0.53", app: Self.dns("evil.example."))) == ["evil.example dns.queries.rrname names"])
        // Zeek's Intel::DOMAIN is exact: neither a name below it nor one it ends.
        #expect(Self.hits(s, Self.record("10.0.0.1", "10.0.0.53", app: Self.dns("www.evil.example"))).isEmpty)
        #expect(Self.hits(s, Self.record("10.0.0.1", "10.0.0.53", app: Self.dns("notevil.example"))).isEmpty)
    }

    @Test func tlsNamesAndFingerprints() throws {
        var hello = TLSClientHello()
        hello.legacyVersion = 0x0303
        hello.cipherSuites = [0x1301, 0x1302, 0xc02b]
        hello.extensions = [0, 10, 11, 16, 43]
        hello.serverName = Array("C2.Example".utf8)
        hello.supportedVersions = [0x0304]
        var cert = X509Summary()
        cert.subjectAltNames = ["cdn.example", "c2.example"]
        var tls = TLSInfo()
        tls.clientHello = hello
        tls.certificate = cert
        let app = AppLayerInfo(proto: .tls, tls: tls, client: AppStreamStats(), server: AppStreamStats())
        let s = try Self.set([
            "c2.example\tIntel::DOMAIN\tnames\t-",
            "c2.example\tFlowSentry::TLS_SNI\tsni\t-",
            "cdn.example\tFlowSentry::TLS_SNI\tsni\t-",  // in the certificate, not the SNI: no hit
            "\(hello.ja3Hash)\tIntel::JA3\tja3s\t-",
            "\(hello.ja4)\tIntel::JA4\tja4s\t-",
        ])
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: app)) == [
            "c2.example tls.sni names", "c2.example tls.sni sni", "\(hello.ja3Hash) tls.ja3.hash ja3s",
            "\(hello.ja4) tls.ja4 ja4s", "c2.example tls.subjectaltname names",
        ])
    }

    /// A QUIC ClientHello is matched as a TLS one is, the hits naming the
    /// `quic` object's fields; its JA4 starts with `q`, so a TLS-over-TCP JA4
    /// of the same hello does not match it.
    @Test func quicSNIAndFingerprints() throws {
        var hello = TLSClientHello()
        hello.legacyVersion = 0x0303
        hello.cipherSuites = [0x1301, 0x1302]
        hello.extensions = [0, 16, 43, 57]
        hello.serverName = Array("c2.example".utf8)
        hello.alpn = [Array("h3".utf8)]
        hello.supportedVersions = [0x0304]
        var quic = QUICInfo()
        quic.version = 1
        quic.clientHello = hello
        let app = AppLayerInfo(proto: .quic, quic: quic, client: AppStreamStats(), server: AppStreamStats())
        let ja4 = try #require(quic.ja4)
        #expect(ja4.hasPrefix("q13d0204h3_"))
        let s = try Self.set([
            "c2.example\tIntel::DOMAIN\tnames\t-",
            "c2.example\tFlowSentry::TLS_SNI\tsni\t-",
            "\(hello.ja3Hash)\tIntel::JA3\tja3s\t-",
            "\(ja4)\tIntel::JA4\tja4s\t-",
            "\(hello.ja4)\tIntel::JA4\ttcp\t-",
        ])
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: app)) == [
            "c2.example quic.sni names", "c2.example quic.sni sni", "\(hello.ja3Hash) quic.ja3.hash ja3s",
            "\(ja4) quic.ja4 ja4s",
        ])
    }

    @Test func certificateSHA1WithOrWithoutColons() throws {
        var cert = X509Summary()
        cert.der = Array("not a real certificate, only its bytes".utf8)
        var tls = TLSInfo()
        tls.certificate = cert
        let app = AppLayerInfo(proto: .tls, tls: tls, client: AppStreamStats(), server: AppStreamStats())
        let colons = try #require(cert.fingerprint)  // "aa:bb:…", as EVE's tls.fingerprint
        let s = try Self.set(["\(colons.uppercased())\tIntel::CERT_HASH\tcerts\t-"])
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: app))
            == ["\(colons.replacingOccurrences(of: ":", with: "")) tls.fingerprint certs"])
        cert.truncated = true  // a cut certificate has no fingerprint: nothing to match
        tls.certificate = cert
        let cut = AppLayerInfo(proto: .tls, tls: tls, client: AppStreamStats(), server: AppStreamStats())
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: cut)).isEmpty)
    }

    @Test func hasshOfEitherSide() throws {
        var kex = SSHKexInit()
        kex.kexAlgorithms = "curve25519-sha256"
        kex.encryptionClientToServer = "aes128-ctr"
        kex.macClientToServer = "hmac-sha2-256"
        kex.compressionClientToServer = "none"
        kex.encryptionServerToClient = "aes256-ctr"
        kex.macServerToClient = "hmac-sha2-512"
        kex.compressionServerToClient = "none"
        kex.listsRead = 10
        var client = SSHEndpoint(), server = SSHEndpoint()
        client.kexInit = kex
        server.kexInit = kex
        var ssh = SSHInfo()
        ssh.client = client
        ssh.server = server
        let h = try #require(ssh.hassh), hs = try #require(ssh.hasshServer)
        #expect(h != hs)
        let app = AppLayerInfo(proto: .ssh, ssh: ssh, client: AppStreamStats(), server: AppStreamStats())
        let s = try Self.set(["\(hs.uppercased())\tIntel::HASSH\tservers\t-"])
        #expect(Self.hits(s, Self.record("10.0.0.1", "192.0.2.1", app: app)) == ["\(hs) ssh.server.hassh.hash servers"])
    }

    @Test func oneIndicatorFromTwoSourcesHitsTwice() throws {
        let s = try Self.set(["192.0.2.7\tIntel::ADDR\ta\t1", "192.0.2.7\tIntel::ADDR\tb\t3"])
        var h: [IndicatorHit] = []
        s.match(Self.record("192.0.2.7", "10.0.0.1"), into: &h)
        #expect(h.map { s.source(of: $0) } == ["a", "b"])
        #expect(h.map(\.meta.severity) == [1, 3])
    }

    /// Fifty thousand of each of two kinds: every one found, nothing else,
    /// and the memory per indicator (docs/indicators.md) within its bound.
    @Test func largeSetsFindEveryIndicatorAndStaySmall() throws {
        var text = "#fields\tindicator\tindicator_type\tmeta.source\n"
        let n = 50_000
        for i in 0..<n {
            text += "10.\(i >> 16).\((i >> 8) & 255).\(i & 255)\tIntel::ADDR\tfeed\n"
            text += "host\(i).bad.example\tIntel::DOMAIN\tfeed\n"
        }
        let s = try IndicatorSet.parse(text)
        #expect(s.count == 2 * n)
        for i in stride(from: 0, to: n, by: 997) {
            #expect(Self.hits(s, Self.record("10.\(i >> 16).\((i >> 8) & 255).\(i & 255)", "192.0.2.1")).count == 1)
            #expect(Self.hits(s, Self.record("192.0.2.1", "192.0.2.53", app: Self.dns("host\(i).bad.example"))).count == 1)
        }
        #expect(Self.hits(s, Self.record("10.9.0.1", "192.0.2.1")).isEmpty)
        #expect(Self.hits(s, Self.record("192.0.2.1", "192.0.2.53", app: Self.dns("host\(n).bad.example"))).isEmpty)
        // The IPv4 filter is a fixed 2 MiB; the rest grows with the indicators.
        let filter = s.addresses.v4Filter.count * 8
        #expect(filter == 2 << 20)
        let perIndicator = Double(s.bytes - filter) / Double(s.count)
        #expect(perIndicator < 52, "\(perIndicator) bytes per indicator")
    }
}
