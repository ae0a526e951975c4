import Testing
@testable import AppLayer
import Decoding

/// A DNS query message (RFC 1035 §4.1) built by hand: header (id 0x1234,
/// flags, one question) then the name's labels, type and class IN.
func query(_ name: String, qtype: UInt16 = 1, flags: UInt16 = 0x0100) -> [UInt8] {
    var m: [UInt8] = [0x12, 0x34, UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 0, 0, 0, 0, 0]
    for label in name.split(separator: ".") {
        m.append(UInt8(label.utf8.count))
        m += Array(label.utf8)
    }
    m += [0, UInt8(qtype >> 8), UInt8(qtype & 0xFF), 0, 1]
    return m
}

func parse(_ m: [UInt8]) -> DNSQuestion? {
    m.withUnsafeBytes { DNSQuestionParser.parse(ByteView($0), at: 0, length: m.count) }
}

@Suite struct DNSQuestionTests {
    @Test func nameShapeAndRegisteredDomain() throws {
        let q = try #require(parse(query("WWW.Example.COM", qtype: 28)))
        #expect(q.present && q.qtype == 28 && q.labels == 3 && q.nameLength == 15 && q.longestLabel == 7)
        #expect(q.domainText == "example.com" && !q.domainTruncated && !q.isArpa)
        #expect(q.subdomainLength == 3 && q.subdomainEntropy == 0)  // "www": one symbol
    }

    @Test func countryCodeSecondLevelTakesThreeLabels() throws {
        #expect(try #require(parse(query("a.b.example.co.uk"))).domainText == "example.co.uk")
        #expect(try #require(parse(query("a.example.de"))).domainText == "example.de")
        #expect(try #require(parse(query("co.uk"))).domainText == "co.uk")
    }

    @Test func subdomainEntropyAndHashes() throws {
        // "abcd.ab": a 2, b 2, c 1, d 1 of 6 → −2·(1/3)log2(1/3) − 2·(1/6)log2(1/6) = 1.918 bits.
        let q = try #require(parse(query("abcd.ab.tunnel.example", qtype: 16)))
        #expect(q.subdomainLength == 6 && abs(Double(q.subdomainEntropy) - 1.9182958340544896) < 1e-6)
        #expect(q.isDataCarryingType)
        let r = try #require(parse(query("ABCD.ab.Tunnel.example")))
        #expect(r.domainHash == q.domainHash && r.subdomainHash == q.subdomainHash)
        let s = try #require(parse(query("abce.ab.tunnel.example")))
        #expect(s.domainHash == q.domainHash && s.subdomainHash != q.subdomainHash)
        #expect(try #require(parse(query("example.com"))).subdomainHash == 0)
    }

    @Test func underscoreLabelsAreServiceNames() throws {
        #expect(try #require(parse(query("s2._domainkey.example.com", qtype: 16))).hasServiceLabel)
        #expect(try #require(parse(query("_dmarc.example.com", qtype: 16))).hasServiceLabel)
        #expect(try #require(parse(query("_ldap._tcp.dc.example.com", qtype: 33))).hasServiceLabel)
        #expect(try !#require(parse(query("a_b.example.com", qtype: 16))).hasServiceLabel)
        #expect(try !#require(parse(query("mail.example.com"))).hasServiceLabel)
    }

    @Test func reverseLookupsAreArpa() throws {
        #expect(try #require(parse(query("4.3.2.1.in-addr.arpa", qtype: 12))).isArpa)
        #expect(try #require(parse(query("notarpa.com"))).isArpa == false)
    }

    @Test func responsesAndBrokenMessagesAreRefused() {
        #expect(parse(query("example.com", flags: 0x8180)) == nil)       // QR = 1
        #expect(parse(query("example.com", flags: 0x2800)) == nil)       // OPCODE 5 (UPDATE)
        let m = query("example.com")
        #expect(parse(Array(m.prefix(m.count - 3))) == nil)               // type cut off
        var loop: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(parse(loop) == nil)                                       // pointer to itself
        loop[12] = 0x40
        #expect(parse(loop) == nil)                                       // reserved label type
        var long = [UInt8](repeating: 0, count: 12); long[5] = 1
        for _ in 0..<5 { long += [63] + [UInt8](repeating: 97, count: 63) }
        long += [0, 0, 1, 0, 1]
        #expect(parse(long) == nil)                                       // name over 255 bytes
    }
}
