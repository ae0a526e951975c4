import Testing
@testable import AppLayer
import Decoding

@Suite struct QUICInfoTests {
    static let dcid = QUICInitialKeysTests.dcid

    /// A ClientHello as a QUIC client sends it: the JA4 specification's
    /// hello with ALPN h3, quic_transport_parameters (57) and a key share
    /// large enough (1,300 bytes, as X25519MLKEM768's) to need two Initials.
    static func bigHello() -> [UInt8] {
        TLSWire.clientHello(ciphers: [0x0A0A, 0x1301, 0x1302, 0x1303], extensions: [
            TLSWire.ext(0x1A1A, []), TLSWire.sni("quic.example.org"), TLSWire.alpn(["h3"]),
            TLSWire.versions([0x3A3A, 0x0304]), TLSWire.groups([0x11EC, 0x001D]),
            TLSWire.sigAlgs([0x0403, 0x0804, 0x0401]), TLSWire.ext(0x0039, [0x01, 0x02, 0x40, 0x64]),
            TLSWire.ext(0x0033, [UInt8](repeating: 0x33, count: 1300)),
        ])
    }

    @Test func clientHelloOverTwoInitialsOutOfOrder() throws {
        let hello = Self.bigHello()
        #expect(hello.count > 1300)
        let split = 700
        let first = try QUICWire.initial(dcid: Self.dcid, packetNumber: 0,
                                         frames: QUICWire.crypto(offset: 0, hello[..<split]), padTo: 1162)
        let second = try QUICWire.initial(dcid: Self.dcid, packetNumber: 1,
                                          frames: QUICWire.ack + QUICWire.crypto(offset: split, hello[split...]),
                                          padTo: 1162)
        for order in [[first, second], [second, first]] {
            let q = try #require(QUICWire.parse(order))
            #expect(q.version == QUICHeader.version1 && q.versionName == "1")
            #expect(q.initialPackets == 2 && q.cryptoBytes == hello.count && q.malformed == nil)
            let h = try #require(q.clientHello)
            #expect(h.sni == "quic.example.org" && h.alpnNames == ["h3"])
            let ja4 = try #require(q.ja4)
            #expect(ja4.hasPrefix("q13d0307h3_"))
            #expect(ja4.dropFirst() == h.ja4.dropFirst())  // only the transport letter differs from TLS over TCP
            #expect(q.ja3Hash == h.ja3Hash)
        }
        // Only the first half: QUIC, with the hello cut.
        let half = try #require(QUICWire.parse([first]))
        #expect(half.initialPackets == 1 && half.clientHello == nil && half.cryptoBytes == split)
    }

    @Test func coalescedPacketsAndLaterDatagramsWithTheServersConnectionID() throws {
        let hello = TLSFingerprintTests.specHello(grease: false)
        // A 0-RTT packet (type 1) coalesced after the Initial is stepped over.
        let initial = try QUICWire.initial(dcid: Self.dcid, packetNumber: 0,
                                           frames: QUICWire.crypto(offset: 0, hello[..<100]), padTo: 200)
        let zeroRTT: [UInt8] = [0xD0, 0, 0, 0, 1, 8] + Self.dcid + [0, 0x05, 1, 2, 3, 4, 5]
        // The rest in a later Initial sent to the server's chosen ID, still under the first ID's keys.
        let later = try QUICWire.initial(dcid: [7, 7, 7, 7], packetNumber: 1,
                                         frames: QUICWire.crypto(offset: 100, hello[100...]), keysFrom: Self.dcid)
        let q = try #require(QUICWire.parse([initial + zeroRTT, later]))
        #expect(q.initialPackets == 2 && q.clientHello?.sni == "www.example.com")
        #expect(q.ja4 == "q13d1516h2_8daaf6152771_e5627efa2ab1")
    }

    @Test func version2Initials() throws {
        let hello = Self.bigHello()
        let p = try QUICWire.initial(version: QUICHeader.version2, dcid: Self.dcid, packetNumber: 0,
                                     frames: QUICWire.crypto(offset: 0, hello[...]), padTo: 1400)
        let q = try #require(QUICWire.parse([p]))
        #expect(q.version == QUICHeader.version2 && q.versionName == "2" && q.clientHello?.sni == "quic.example.org")
        // With version 1's Initial type bits it is a version-2 Retry, which no client sends: not walked.
        var wrongType = p
        wrongType[0] = (wrongType[0] & 0xCF)
        #expect(QUICWire.parse([wrongType]) == nil)
    }

    @Test func packetBudgetIsBounded() throws {
        // As many ACK-only Initials as the budget before the hello: the parser stops there.
        var list: [[UInt8]] = []
        for n in 0..<UInt32(QUICParser.maxInitialPackets) {
            list.append(try QUICWire.initial(dcid: Self.dcid, packetNumber: n, frames: QUICWire.ack, padTo: 30))
        }
        let hello = TLSFingerprintTests.specHello(grease: false)
        let last = try QUICWire.initial(dcid: Self.dcid, packetNumber: 20, frames: QUICWire.crypto(offset: 0, hello[...]))
        let (all, _) = QUICWire.datagrams(list)
        let q = try #require(QUICWire.parse([all, last]))
        #expect(q.initialPackets == QUICParser.maxInitialPackets && q.clientHello == nil)
    }
}
