import Foundation
import Testing
import Alerts
import AppLayer
import Decoding

/// For Tests/AlertsTests (AppLayerTests cannot import Alerts: it is not
/// among its dependencies). The EVE `dns` object of a flow, written and
/// parsed back with JSONSerialization: Suricata's v3 field names and types.
fileprivate struct EveDNSWire {
    var bytes: [UInt8] = []
    init(id: UInt16, flags: UInt16, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0) {
        for v in [id, flags, qd, an, ns, 0] { u16(v) }
    }
    var count: Int { bytes.count }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
    mutating func pointer(_ to: Int) { u16(0xC000 | UInt16(to)) }
    @discardableResult
    mutating func name(_ dotted: String, then: Int? = nil) -> Int {
        let at = count
        for label in dotted.split(separator: ".") { u8(UInt8(label.utf8.count)); bytes += Array(label.utf8) }
        if let then { pointer(then) } else { u8(0) }
        return at
    }
    mutating func question(_ dotted: String, type: UInt16) -> Int {
        let at = name(dotted)
        u16(type); u16(1)
        return at
    }
    mutating func record(type: UInt16, ttl: UInt32, _ data: (inout EveDNSWire) -> Void) {
        u16(type); u16(1); u32(ttl)
        let lengthAt = count
        u16(0)
        let start = count
        data(&self)
        let n = count - start
        bytes[lengthAt] = UInt8(n >> 8); bytes[lengthAt + 1] = UInt8(n & 0xFF)
    }
}

fileprivate func eveDNS(_ client: [UInt8], _ server: [UInt8]) throws -> [String: Any] {
    let info = try #require(client.withUnsafeBytes { c in
        server.withUnsafeBytes { s in DNSInfo.parse(client: ByteView(c), server: ByteView(s), overTCP: false) }
    })
    var j = JSONBuffer()
    j.beginObject(); info.writeEve(&j); j.endObject()
    let top = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
    return try #require(top["dns"] as? [String: Any])
}

@Suite struct EveDNSTests {
    @Test func responseAndRequestObjects() throws {
        var resp = EveDNSWire(id: 7, flags: 0x8580, an: 2)   // QR AA RD RA
        let q = resp.question("Example.org", type: 16)
        resp.pointer(q)
        resp.record(type: 16, ttl: 60) { w in for s in ["one", "two"] { w.u8(3); w.bytes += Array(s.utf8) } }
        resp.pointer(q)
        resp.record(type: 15, ttl: 61) { w in w.u16(10); w.name("mx", then: q) }
        var req = EveDNSWire(id: 7, flags: 0x0100)
        _ = req.question("Example.org", type: 16)

        for (server, type) in [(resp.bytes, "response"), ([UInt8](), "request")] {
            let dns = try eveDNS(req.bytes, server)
            #expect(dns["version"] as? Int == 3 && dns["type"] as? String == type && dns["id"] as? Int == 7)
            #expect(dns["opcode"] as? Int == 0 && dns["rcode"] as? String == "NOERROR" && dns["rd"] as? Bool == true)
            #expect(dns["tc"] == nil && dns["z"] == nil)   // booleans only when set
            let queries = try #require(dns["queries"] as? [[String: Any]])
            #expect(queries.count == 1 && queries[0]["rrname"] as? String == "Example.org" && queries[0]["rrtype"] as? String == "TXT")
            if type == "request" {
                #expect(dns["flags"] as? String == "100" && dns["qr"] == nil && dns["answers"] == nil)
                continue
            }
            #expect(dns["flags"] as? String == "8580" && dns["qr"] as? Bool == true && dns["aa"] as? Bool == true)
            let answers = try #require(dns["answers"] as? [[String: Any]])
            // One object per TXT character-string, then the MX exchange.
            #expect(answers.map { $0["rdata"] as? String } == ["one", "two", "mx.Example.org"])
            #expect(answers.map { $0["rrtype"] as? String } == ["TXT", "TXT", "MX"])
            #expect(answers.map { $0["ttl"] as? Int } == [60, 60, 61])
            #expect(answers.allSatisfy { $0["rrname"] as? String == "Example.org" })
        }
    }

    @Test func nxdomainWithSOAAuthorityAndAAAA() throws {
        var nx = EveDNSWire(id: 9, flags: 0x8183, ns: 1)
        let q = nx.question("gone.example", type: 1)
        nx.pointer(q + 5)
        nx.record(type: 6, ttl: 5) { w in
            w.name("ns", then: q + 5); w.name("h", then: q + 5)
            for _ in 0..<5 { w.u32(9) }
        }
        let dns = try eveDNS([], nx.bytes)
        #expect(dns["rcode"] as? String == "NXDOMAIN" && dns["answers"] == nil && dns["type"] as? String == "response")
        let auth = try #require((dns["authorities"] as? [[String: Any]])?.first)
        let soa = try #require(auth["soa"] as? [String: Any])
        #expect(auth["rrtype"] as? String == "SOA" && auth["rrname"] as? String == "example" && auth["rdata"] == nil)
        #expect(soa["mname"] as? String == "ns.example" && soa["rname"] as? String == "h.example" && soa["serial"] as? Int == 9)

        var six = EveDNSWire(id: 3, flags: 0x8180, an: 1)
        let q6 = six.question("v6.example", type: 28)
        six.pointer(q6)
        six.record(type: 28, ttl: 30) { $0.bytes += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1] }
        let a = try #require((try eveDNS([], six.bytes)["answers"] as? [[String: Any]])?.first)
        #expect(a["rdata"] as? String == "2001:0db8:0000:0000:0000:0000:0000:0001" && a["rrtype"] as? String == "AAAA")
    }
}
