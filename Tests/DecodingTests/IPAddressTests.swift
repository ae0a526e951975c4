import Testing
@testable import Decoding

/// Expected text forms and orders are Python's `ipaddress` module's
/// (`ip_address(s).exploded`, sorted by `(version, packed)`).
@Suite struct IPAddressTests {
    @Test func addressTextForms() {
        #expect(IPAddress("10.1.2.3")?.description == "10.1.2.3")
        #expect(IPAddress("fe80::1")?.description == "fe80:0000:0000:0000:0000:0000:0000:0001")
        #expect(IPAddress("1.2.3") == nil && IPAddress("::1::2") == nil)
        #expect(IPAddress("1.2.3.4")! < IPAddress("5.6.7.8")!)
    }

    @Test(arguments: [
        ("::", "0000:0000:0000:0000:0000:0000:0000:0000"),
        ("::1", "0000:0000:0000:0000:0000:0000:0000:0001"),
        ("1::", "0001:0000:0000:0000:0000:0000:0000:0000"),
        ("1:2:3:4:5:6:7::", "0001:0002:0003:0004:0005:0006:0007:0000"),
        ("2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"),
        ("2001:db8:0:1::", "2001:0db8:0000:0001:0000:0000:0000:0000"),
        ("ff02::1:ff00:1", "ff02:0000:0000:0000:0000:0001:ff00:0001"),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ])
    func ipv6ParsesCompressedFormsAndPrintsTheFullForm(text: String, full: String) throws {
        let a = try #require(IPAddress(text))
        #expect(a.version == 6)
        #expect(a.description == full)
        #expect(a.description.utf8.count == IPAddress.maxTextLength)
        // The full form parses back to the same address.
        #expect(IPAddress(full) == a)
    }

    @Test func ipv4TextEveryDigitCount() {
        // One, two and three digits per octet, and the extremes.
        for (a, b, c, d) in [(0, 0, 0, 0), (9, 10, 99, 100), (255, 255, 255, 255), (192, 0, 2, 1)] as [(UInt8, UInt8, UInt8, UInt8)] {
            let ip = IPAddress(v4: a, b, c, d)
            #expect(ip.description == "\(a).\(b).\(c).\(d)")
            #expect(IPAddress(ip.description) == ip)
            #expect(ip.bytes == [a, b, c, d])
        }
    }

    @Test(arguments: ["1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "1::2::3", ":1::",
                      "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "1::2:", ":::",
                      "1.2.3.256", "1..2.3", "1.2.3.4.5", "", "a.b.c.d", "1.2.3.4 "])
    func malformedTextIsNil(text: String) {
        #expect(IPAddress(text) == nil, "\(text) parsed")
    }

    @Test func bytesAreInNetworkOrder() throws {
        #expect(try #require(IPAddress("2001:db8::ff00:42")).bytes
                == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42])
        #expect(IPAddress("198.51.100.7")?.bytes == [198, 51, 100, 7])
        #expect(IPAddress("198.51.100.7") == IPAddress(v4: 198, 51, 100, 7))
    }

    @Test func orderIsByVersionThenNetworkOrderBytes() {
        let sorted = ["0.255.255.255", "1.0.0.0", "9.255.255.255", "10.0.0.2", "10.0.0.10", "255.255.255.255",
                      "::", "::ff", "::100", "2001:db8::1", "2001:db8:0:1::", "fe80::1"]
        let shuffled = [5, 11, 0, 7, 3, 9, 1, 10, 4, 6, 2, 8].map { IPAddress(sorted[$0])! }
        #expect(shuffled.sorted().map(\.description) == sorted.map { IPAddress($0)!.description })
        // The first byte is the most significant (a little-endian integer compare would say otherwise).
        #expect(IPAddress("0.255.255.255")! < IPAddress("1.0.0.0")!)
        #expect(!(IPAddress("1.0.0.0")! < IPAddress("0.255.255.255")!))
        // Every IPv4 address before every IPv6 address, the all-zero one included.
        #expect(IPAddress("255.255.255.255")! < IPAddress("::")!)
    }

    @Test func ipv4AndItsMappedIPv6AreDifferentAddresses() throws {
        let v4 = try #require(IPAddress("192.0.2.1"))
        let mapped = try #require(IPAddress("::ffff:c000:201"))
        #expect(v4 != mapped)
        #expect(v4.bytes.count == 4 && mapped.bytes.count == 16 && Array(mapped.bytes.suffix(4)) == v4.bytes)
        #expect(mapped.description == "0000:0000:0000:0000:0000:ffff:c000:0201")
    }

    @Test func appendTextMatchesDescription() throws {
        var buf: [UInt8] = Array("ip=".utf8)
        try #require(IPAddress("2001:db8::1")).appendText(to: &buf)
        #expect(String(decoding: buf, as: UTF8.self) == "ip=2001:0db8:0000:0000:0000:0000:0000:0001")
    }

    /// RFC 4291 §2.2 (3): the last 32 bits may be written as a dotted quad
    /// (expected values from Python's ipaddress module).
    @Test func ipv6WithEmbeddedDottedQuad() {
        #expect(IPAddress("::ffff:192.0.2.1")?.description == "0000:0000:0000:0000:0000:ffff:c000:0201")
        #expect(IPAddress("64:ff9b::10.0.0.1")?.description == "0064:ff9b:0000:0000:0000:0000:0a00:0001")
        #expect(IPAddress("1:2:3:4:5:6:1.2.3.4")?.description == "0001:0002:0003:0004:0005:0006:0102:0304")
        #expect(IPAddress("::ffff:192.0.2") == nil && IPAddress("::ffff:1.2.3.256") == nil)
        #expect(IPAddress("1.2.3.4::") == nil)
    }

    /// Python's ipaddress rejects these; so do we.
    @Test func ipv4TextIsStrict() {
        for bad in ["01.2.3.4", "+1.2.3.4", "1.2.3.-4", "1.2.3", "1.2.3.4.5", "1..3.4", "256.1.1.1", "1.2.3.4 ", "0x1.2.3.4"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        #expect(IPAddress("0.0.0.0")?.description == "0.0.0.0")
        #expect(IPAddress("10.0.0.255")?.description == "10.0.0.255")
    }
}
