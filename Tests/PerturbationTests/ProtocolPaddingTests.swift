@testable import Perturbation
import Testing
import Training

/// Padding goes where each protocol carries it, so the message still parses
/// as the protocol frames it (tests/python/test_robustness.py checks the
/// padded captures with tshark).
@Suite struct ProtocolPaddingTests {
    func pad(_ payload: [UInt8], _ n: Int, udp: Bool = false, ports: (UInt16, UInt16) = (40000, 9999),
             stream: inout ProtocolPadding.Stream) -> [UInt8] {
        var rng = NNRandom(seed: 5)
        return ProtocolPadding.padded(payload, by: n, room: 1400, udp: udp, ports: ports, stream: &stream, rng: &rng)
    }

    func pad(_ payload: [UInt8], _ n: Int, udp: Bool = false, ports: (UInt16, UInt16) = (40000, 9999)) -> [UInt8] {
        var s = ProtocolPadding.Stream()
        return pad(payload, n, udp: udp, ports: ports, stream: &s)
    }

    @Test func httpHeadGetsAHeaderAndItsBodyStays() {
        var s = ProtocolPadding.Stream()
        let head = Array("POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nuser=x&pw".utf8)
        let p = pad(head, 40, stream: &s)
        let text = String(decoding: p, as: UTF8.self)
        #expect(text.hasPrefix("POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nX-Padding: "))
        #expect(text.hasSuffix("\r\n\r\nuser=x&pw") && p.count == head.count + 40)
        // The rest of the body, in the next segment: framed by Content-Length, unchanged.
        #expect(pad(Array("=y".utf8), 40, stream: &s) == Array("=y".utf8))
    }

    @Test func tlsApplicationDataRecordGrowsWithItsLength() {
        let record: [UInt8] = [23, 3, 3, 0, 4, 1, 2, 3, 4]
        let p = pad(record, 10)
        #expect(p.count == 19 && p[3] == 0 && p[4] == 14 && Array(p.prefix(9)) == [23, 3, 3, 0, 14, 1, 2, 3, 4])
        // A handshake record has no room; nor has a record cut across segments, once the stream is TLS.
        var s = ProtocolPadding.Stream()
        let hello: [UInt8] = [22, 3, 1, 0, 2, 1, 0]
        #expect(pad(hello, 10, stream: &s) == hello && s.tls)
        let partial: [UInt8] = [9, 9, 9]
        #expect(pad(partial, 10, stream: &s) == partial)
    }

    @Test func sshPaddingGrowsInsidePacketsThenInEncryptedBlocks() {
        var s = ProtocolPadding.Stream()
        let version = Array("SSH-2.0-hydra\r\n".utf8)
        #expect(pad(version, 50, stream: &s) == version && s.ssh)
        // One clear-text packet: length 12 = padding length (1) + NEWKEYS (1) + padding 10.
        let newKeys: [UInt8] = [0, 0, 0, 12, 10, 21] + [UInt8](repeating: 0, count: 10)
        let p = pad(newKeys, 50, stream: &s)
        #expect(p.count == newKeys.count + 48)
        #expect(Array(p.prefix(6)) == [0, 0, 0, 60, 58, 21])
        #expect(s.sshEncrypted)
        // Encrypted from now on: whole cipher blocks.
        let sealed = [UInt8](repeating: 0xab, count: 52)
        #expect(pad(sealed, 20, stream: &s).count == 52 + 32)
    }

    @Test func dnsQueryGetsAnEDNSPaddingOption() {
        // One question, www.a. A IN, no additional records.
        let query: [UInt8] = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 119, 119, 1, 97, 0, 0, 1, 0, 1]
        let p = pad(query, 40, udp: true, ports: (5555, 53))
        #expect(p.count == query.count + 40)
        #expect(p[10] == 0 && p[11] == 1)  // ARCOUNT 1
        let opt = Array(p[query.count...])
        #expect(Array(opt.prefix(3)) == [0, 0, 41] && opt[9] == 0 && opt[10] == 29)  // RDLENGTH 4 + 25
        #expect(Array(opt[11..<15]) == [0, 12, 0, 25] && opt[15...].allSatisfy { $0 == 0 })
        // With an OPT record already last, the option joins it.
        let p2 = pad(p, 20, udp: true, ports: (5555, 53))
        #expect(p2.count == p.count + 20 && p2[10] == 0 && p2[11] == 1 && p2[query.count + 10] == 29 + 20)
        // Not a DNS message: appended.
        #expect(pad([1, 2, 3], 5, udp: true, ports: (5555, 53)).count == 8)
    }

    @Test func aTextLineGrowsItsLastArgument() {
        let login = Array("a1 LOGIN bob \"secret\"\r\n".utf8)
        let p = String(decoding: pad(login, 6), as: UTF8.self)
        #expect(p.hasPrefix("a1 LOGIN bob \"secret") && p.hasSuffix("\"\r\n") && p.utf8.count == login.count + 6)
        let pass = String(decoding: pad(Array("PASS guess\r\n".utf8), 3), as: UTF8.self)
        #expect(pass.hasPrefix("PASS guess") && pass.hasSuffix("\r\n") && pass.utf8.count == 15)
        // Binary payloads of no known protocol: appended.
        let binary: [UInt8] = [0, 1, 2, 255]
        #expect(Array(pad(binary, 7).prefix(4)) == binary && pad(binary, 7).count == 11)
    }
}
