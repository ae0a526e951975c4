import Foundation
import Testing
@testable import AppLayer
import Decoding

/// DNS messages built by hand (RFC 1035 §4.1): a header, then names,
/// questions and records appended in order, with the offsets the
/// compression pointers need returned as they are written.
fileprivate struct DNSWire {
    var bytes: [UInt8] = []

    init(id: UInt16 = 0x1234, flags: UInt16, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) {
        for v in [id, flags, qd, an, ns, ar] { u16(v) }
    }

    var count: Int { bytes.count }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
    mutating func pointer(_ to: Int) { u16(0xC000 | UInt16(to)) }

    /// Labels of `dotted`, then a pointer to `then` or the root; returns where the name starts.
    @discardableResult
    mutating func name(_ dotted: String, then: Int? = nil) -> Int {
        let at = count
        for label in dotted.split(separator: ".") {
            u8(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        if let then { pointer(then) } else { u8(0) }
        return at
    }

    /// A question for `dotted`; returns where its name starts.
    @discardableResult
    mutating func question(_ dotted: String, type: UInt16) -> Int {
        let at = name(dotted)
        u16(type); u16(1)
        return at
    }

    /// A record's fixed part after its owner name, then its data; returns where the data starts.
    @discardableResult
    mutating func record(type: UInt16, ttl: UInt32, _ data: (inout DNSWire) -> Void) -> Int {
        u16(type); u16(1); u32(ttl)
        let lengthAt = count
        u16(0)
        let start = count
        data(&self)
        let n = count - start
        bytes[lengthAt] = UInt8(n >> 8); bytes[lengthAt + 1] = UInt8(n & 0xFF)
        return start
    }

    /// As a TCP stream element: the 2-byte length, then the message.
    var framed: [UInt8] { [UInt8(count >> 8), UInt8(count & 0xFF)] + bytes }
}

fileprivate func dnsParse(_ m: [UInt8]) -> DNSMessage? {
    m.withUnsafeBytes { DNSMessageParser.parse(ByteView($0), at: 0, length: m.count) }
}

fileprivate func dnsInfo(_ client: [UInt8], _ server: [UInt8], tcp: Bool = false) -> DNSInfo? {
    client.withUnsafeBytes { c in
        server.withUnsafeBytes { s in DNSInfo.parse(client: ByteView(c), server: ByteView(s), overTCP: tcp) }
    }
}

/// A query for `name` (id 0xBEEF, RD set).
fileprivate func dnsQuery(_ name: String, type: UInt16 = 1) -> DNSWire {
    var w = DNSWire(id: 0xBEEF, flags: 0x0100)
    w.question(name, type: type)
    return w
}

/// The answer to `www.Example.com A` through a CNAME chain, every name after
/// the question compressed: www.Example.com → cdn.example.net →
/// edge.cdn.example.net, which has an A and an AAAA record.
fileprivate func cnameChainResponse() -> DNSWire {
    var w = DNSWire(id: 0xBEEF, flags: 0x8180, an: 4)
    let q = w.question("www.Example.com", type: 1)
    w.pointer(q)
    let cdn = w.record(type: 5, ttl: 300) { $0.name("cdn.example.net") }
    w.pointer(cdn)
    let edge = w.record(type: 5, ttl: 60) { $0.name("edge", then: cdn) }
    w.pointer(edge)
    w.record(type: 1, ttl: 20) { $0.bytes += [93, 184, 216, 34] }
    w.pointer(edge)
    w.record(type: 28, ttl: 30) { $0.bytes += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1] }
    return w
}

/// A deterministic generator for the garbage test (DNSTestRandom).
fileprivate struct DNSTestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct DNSMessageTests {
    @Test func queryAndCompressedCNAMEChain() throws {
        let q = try #require(dnsParse(dnsQuery("www.Example.com").bytes))
        #expect(q.id == 0xBEEF && !q.qr && q.rd && q.opcode == 0 && q.malformed == nil)
        #expect(q.questions.map(\.rrname) == ["www.Example.com"])  // case kept as sent

        let r = try #require(dnsParse(cnameChainResponse().bytes))
        #expect(r.qr && r.rd && r.ra && !r.aa && r.rcode == 0 && r.flags == 0x8180 && r.malformed == nil)
        #expect(r.answers.map(\.rrname) == ["www.Example.com", "cdn.example.net", "edge.cdn.example.net", "edge.cdn.example.net"])
        #expect(r.answers.map(\.rrtype) == [5, 5, 1, 28])
        #expect(r.answers.map(\.rdata) == ["cdn.example.net", "edge.cdn.example.net", "93.184.216.34",
                                           "2001:0db8:0000:0000:0000:0000:0000:0001"])
        #expect(r.answers[3].rdataCompressed == "2001:db8::1")
        #expect(r.answers.map(\.ttl) == [300, 60, 20, 30] && r.minimumAnswerTTL == 20 && r.answersParsed == 4)

        let info = try #require(dnsInfo(dnsQuery("www.Example.com").bytes, cnameChainResponse().bytes))
        #expect(info.request?.id == 0xBEEF && info.response?.answers.count == 4 && info.malformed == nil)
        #expect(info.requestMessages == 1 && info.responseMessages == 1)
        #expect(info.answerCount == 4 && info.minimumTTL == 20 && info.rcode == 0 && info.queryTypeClass == 1)
        #expect(info.queryNameLength == 15 && info.queryLabelCount == 3)
    }

    @Test func pointerLoopsEndInMalformedNeverAHang() throws {
        // Self-pointer as the first question's name: not taken for DNS at all.
        var selfQ = DNSWire(flags: 0x0100)
        selfQ.pointer(12); selfQ.u16(1); selfQ.u16(1)
        #expect(dnsParse(selfQ.bytes) == nil)

        // Self-pointer as an answer's owner.
        var selfA = DNSWire(flags: 0x8180, an: 1)
        selfA.question("a.example", type: 1)
        selfA.pointer(selfA.count)
        selfA.record(type: 1, ttl: 1) { $0.bytes += [1, 2, 3, 4] }
        #expect(try #require(dnsParse(selfA.bytes)).malformed == "dns.name_loop")

        // Two pointers pointing at each other (CNAME data: p → p+2, p+2 → p):
        // the first points forward, which is refused.
        var mutual = DNSWire(flags: 0x8180, an: 1)
        let q = mutual.question("b.example", type: 5)
        mutual.pointer(q)
        mutual.record(type: 5, ttl: 1) { w in let p = w.count; w.pointer(p + 2); w.pointer(p) }
        let m = try #require(dnsParse(mutual.bytes))
        #expect(m.malformed == "dns.bad_pointer" && m.answers.count == 1 && m.answers[0].rdata == nil)

        // A forward pointer as an owner name.
        var forward = DNSWire(flags: 0x8180, an: 1)
        forward.question("c.example", type: 1)
        forward.pointer(forward.count + 20)
        forward.record(type: 1, ttl: 1) { $0.bytes += [1, 2, 3, 4] }
        #expect(try #require(dnsParse(forward.bytes)).malformed == "dns.bad_pointer")

        // Backward-only pointers can still loop: "abc" then a pointer back to
        // the "abc" (kept in a NULL record's data). The jump limit ends it.
        var loop = DNSWire(flags: 0x8180, an: 2)
        let lq = loop.question("d.example", type: 10)
        loop.pointer(lq)
        let scratch = loop.record(type: 10, ttl: 1) { w in
            let at = w.count
            w.u8(3); w.bytes += Array("abc".utf8); w.pointer(at)
        }
        loop.pointer(scratch)
        loop.record(type: 1, ttl: 1) { $0.bytes += [1, 2, 3, 4] }
        let l = try #require(dnsParse(loop.bytes))
        #expect(l.malformed == "dns.name_loop" && l.answers.count == 1)
        #expect(dnsInfo(dnsQuery("d.example", type: 10).bytes, loop.bytes)?.malformed == "dns.name_loop")

        // With long labels the same loop first outgrows 255 bytes: cut, not followed.
        var long = DNSWire(flags: 0x8180, an: 2)
        let lq2 = long.question("e.example", type: 10)
        long.pointer(lq2)
        let scratch2 = long.record(type: 10, ttl: 1) { w in
            let at = w.count
            w.u8(63); w.bytes += [UInt8](repeating: 0x61, count: 63); w.pointer(at)
        }
        long.pointer(scratch2)
        long.record(type: 1, ttl: 7) { $0.bytes += [1, 2, 3, 4] }
        let lg = try #require(dnsParse(long.bytes))
        #expect(lg.malformed == "dns.name_too_long" && lg.answers.count == 2)
        #expect(lg.answers[1].rrnameTruncated && lg.answers[1].rrname.utf8.count <= 255 && lg.answers[1].rdata == "1.2.3.4")
    }

    @Test func truncatedAnswerKeepsWhatCameBefore() throws {
        let full = cnameChainResponse().bytes
        let cut = Array(full.prefix(full.count - 5))  // inside the AAAA data
        let r = try #require(dnsParse(cut))
        #expect(r.malformed == "dns.truncated_rr" && !r.incomplete)
        #expect(r.answers.count == 3 && r.answersParsed == 3 && r.questions.count == 1)
        let info = try #require(dnsInfo(dnsQuery("www.Example.com").bytes, cut))
        #expect(info.malformed == "dns.truncated_rr" && info.answerCount == 3)
    }

    @Test func txtWithSeveralStrings() throws {
        var w = DNSWire(flags: 0x8180, an: 1)
        let q = w.question("example.org", type: 16)
        w.pointer(q)
        w.record(type: 16, ttl: 3600) { w in
            for s in ["v=spf1 -all", "", "second \"quoted\""] { w.u8(UInt8(s.utf8.count)); w.bytes += Array(s.utf8) }
        }
        let r = try #require(dnsParse(w.bytes))
        #expect(r.answers.count == 1 && r.answers[0].txt == ["v=spf1 -all", "", "second \"quoted\""])
        #expect(r.answers[0].rdata == nil && !r.answers[0].rdataTruncated && r.malformed == nil)
        let info = try #require(dnsInfo(dnsQuery("example.org", type: 16).bytes, w.bytes))
        #expect(info.queryTypeClass == 4)
    }

    @Test func namesKeepPrintableASCIIAndEscapeTheRest() throws {
        var w = DNSWire(flags: 0x0100)
        w.u8(3); w.bytes += [0x61, 0x20, 0x62]           // "a b"
        w.u8(3); w.bytes += [0x63, 0x2E, 0x64]           // "c.d": a dot inside a label stays a dot
        w.u8(3); w.bytes += [0x67, 0x01, 0x68]           // control byte
        w.u8(3); w.bytes += [0x69, 0xFF, 0x6A]           // not UTF-8
        w.u8(0); w.u16(1); w.u16(1)
        #expect(try #require(dnsParse(w.bytes)).questions[0].rrname == "a b.c.d.g\\x01h.i\\xffj")
        var u = DNSWire(flags: 0x0100)
        u.question("été.fr", type: 1)                     // valid UTF-8 kept
        let q = try #require(dnsParse(u.bytes)).questions[0]
        #expect(q.rrname == "été.fr" && q.nameLength == 8 && q.labelCount == 2)
    }

    @Test func boundsOnCountsAndNames() throws {
        var w = DNSWire(flags: 0x8180, an: 100)
        let q = w.question("many.example", type: 1)
        for i in 0..<100 {
            w.pointer(q)
            w.record(type: 1, ttl: UInt32(1000 - i)) { $0.bytes += [10, 0, 0, UInt8(i)] }
        }
        let r = try #require(dnsParse(w.bytes))
        #expect(r.answers.count == DNSMessage.maxAnswers && r.answersParsed == 100 && r.minimumAnswerTTL == 901)
        #expect(r.answerCount == 100 && r.malformed == nil)

        var long = DNSWire(flags: 0x0100)
        long.question([String](repeating: String(repeating: "x", count: 63), count: 5).joined(separator: "."), type: 1)
        let l = try #require(dnsParse(long.bytes))
        #expect(l.malformed == "dns.name_too_long" && l.questions[0].rrnameTruncated)
        #expect(l.questions[0].rrname.utf8.count == 63 * 3 + 2 && l.questions[0].labelCount == 3)
    }

    @Test func dnsOverTCPCountsMessagesAndKeepsTheFirst() throws {
        let q1 = dnsQuery("one.example"), q2 = dnsQuery("two.example", type: 28), q3 = dnsQuery("three.example")
        let client = q1.framed + q2.framed + Array(q3.framed.prefix(9))   // the third cut in the middle
        let server = cnameChainResponse().framed
        let info = try #require(dnsInfo(client, server, tcp: true))
        #expect(info.overTCP && info.requestMessages == 2 && info.responseMessages == 1 && info.malformed == nil)
        #expect(info.request?.questions.first?.rrname == "one.example" && info.response?.answers.count == 4)

        // The first message itself cut by the end of the stream prefix: incomplete, not malformed.
        let partial = Array(cnameChainResponse().framed.prefix(72))
        let p = try #require(dnsInfo(q1.framed, partial, tcp: true))
        #expect(p.response?.incomplete == true && p.response?.malformed == nil && p.malformed == nil)
        #expect(p.responseMessages == 0 && p.response?.answers.count == 1)

        // A length prefix shorter than a header.
        #expect(dnsInfo([0, 5] + [UInt8](repeating: 0, count: 5), [], tcp: true) == nil)
        let bad = try #require(dnsInfo(q1.framed + [0, 3, 1, 2, 3], [], tcp: true))
        #expect(bad.requestMessages == 1 && bad.malformed == "dns.bad_length")
    }

    @Test func randomGarbageIsNotDNS() {
        var rng = DNSTestRandom(state: 2024)
        var accepted = 0
        for _ in 0..<10_000 {
            let n = Int(rng.next() % 300)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if dnsInfo(bytes, [], tcp: false) != nil { accepted += 1 }
            if dnsInfo(bytes, [], tcp: true) != nil { accepted += 1 }
            if dnsInfo(bytes, bytes, tcp: false) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test func directionsAndShapes() throws {
        // Only the response was seen, as the flow's first sender.
        let oneWay = try #require(dnsInfo(cnameChainResponse().bytes, []))
        #expect(oneWay.request == nil && oneWay.response != nil && oneWay.malformed == nil)
        // The server answered with something that is not DNS.
        let garbled = try #require(dnsInfo(dnsQuery("x.example").bytes, [1, 2, 3, 4, 5]))
        #expect(garbled.response == nil && garbled.malformed == "dns.bad_response" && garbled.rcode == -1)
        // A query with a non-zero RCODE or an unknown class is not taken for DNS.
        var rc = dnsQuery("x.example"); rc.bytes[3] = 0x03
        #expect(dnsInfo(rc.bytes, []) == nil)
        var cls = dnsQuery("x.example"); cls.bytes[cls.count - 1] = 9
        #expect(dnsInfo(cls.bytes, []) == nil)
        // nmap's server-status probe: a bare header.
        let probe = try #require(dnsInfo(DNSWire(id: 0, flags: 0x1000, qd: 0).bytes, []))
        #expect(probe.request?.opcode == 2 && probe.query == nil && probe.queryTypeClass == 0)
    }

    @Test func numbersForTheModels() throws {
        // "a1b2.aa": characters a a a 1 b 2 → entropy of {a: 3, 1: 1, b: 1, 2: 1} over 6.
        let info = try #require(dnsInfo(dnsQuery("A1b2.aa", type: 16).bytes, []))
        let expected = -(0.5 * log2(0.5) + 3 * (1.0 / 6) * log2(1.0 / 6))
        #expect(abs(info.queryEntropy - expected) < 1e-12)
        #expect(info.queryDigitShare == 2.0 / 6 && info.queryNameLength == 7 && info.queryLabelCount == 2)
        #expect(info.queryTypeClass == 4 && info.answerCount == 0 && info.minimumTTL == 0 && info.rcode == -1)

        var nx = DNSWire(id: 0xBEEF, flags: 0x8183, ns: 1)
        let q = nx.question("nope.example", type: 33)
        nx.pointer(q + 5)
        nx.record(type: 6, ttl: 900) { w in
            w.name("ns1", then: q + 5); w.name("hostmaster", then: q + 5)
            for v: UInt32 in [2024010101, 7200, 900, 1209600, 300] { w.u32(v) }
        }
        let r = try #require(dnsInfo(dnsQuery("nope.example", type: 33).bytes, nx.bytes))
        #expect(r.rcode == 3 && r.queryTypeClass == 3 && r.answerCount == 0 && r.minimumTTL == 0)
        let soa = try #require(r.response?.authorities.first?.soa)
        #expect(soa.mname == "ns1.example" && soa.rname == "hostmaster.example" && soa.serial == 2024010101 && soa.minimum == 300)
    }

    @Test func ipv6TextForms() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("0000:0000:0000:0000:0000:0000:0000:0000", "::"),
            ("0000:0000:0000:0000:0000:0000:0000:0001", "::1"),
            ("0000:0000:0000:0000:0000:ffff:c000:0201", "::ffff:192.0.2.1"),
            ("0000:0000:0000:0000:0000:0000:c000:0201", "::192.0.2.1"),
            ("0000:0000:0000:0000:0000:0000:0000:0002", "::2"),
            ("0001:0000:0000:0000:0000:0000:0000:0000", "1::"),
            ("2001:0db8:0000:0001:0000:0000:0000:0001", "2001:db8:0:1::1"),
            ("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
            ("fe80:0000:0000:0000:0202:b3ff:fe1e:8329", "fe80::202:b3ff:fe1e:8329"),
            ("2001:0db8:0001:0002:0003:0004:0005:0006", "2001:db8:1:2:3:4:5:6"),
        ]
        for (expanded, compressed) in cases { #expect(DNSMessage.compressIPv6(expanded: expanded) == compressed) }
        #expect(DNSMessage.compressIPv6(expanded: "not:an:address") == nil)
    }

    @Test func typeAndRcodeNames() {
        #expect(DNSMessage.typeName(65) == "HTTPS" && DNSMessage.typeName(64) == "SVCB" && DNSMessage.typeName(257) == "CAA")
        #expect(DNSMessage.typeName(41) == "OPT" && DNSMessage.typeName(65280) == "65280")
        #expect(DNSMessage.rcodeName(3) == "NXDOMAIN" && DNSMessage.rcodeName(10) == "NOTZONE" && DNSMessage.rcodeName(11) == "11")
    }

    /// An mDNS announcement (RFC 6762 §8.3): id 0, no question, answers, sent
    /// unasked — tshark's DNS response; a lone question-less message with
    /// another id or no parsable answer is not DNS.
    @Test func unsolicitedMDNSAnnouncementIsAResponse() throws {
        func announcement(id: UInt16, answers: Bool) -> [UInt8] {
            var m = DNSWire(id: id, flags: 0x8400, qd: 0, an: answers ? 1 : 0)
            if answers {
                _ = m.name("printer.local")
                _ = m.record(type: 1, ttl: 120) { $0.bytes += [10, 77, 25, 152] }
            }
            return m.bytes
        }
        let d = try #require(dnsInfo(announcement(id: 0, answers: true), []))
        #expect(d.response?.answers.first?.rdata == "10.77.25.152" && d.request == nil)
        #expect(dnsInfo(announcement(id: 7, answers: true), []) == nil)
        #expect(dnsInfo(announcement(id: 0, answers: false), []) == nil)
    }
}
