import Testing
@testable import Decoding

/// Ethernet II / IPv4 with options / TCP SYN with options, byte by byte.
let synFrame = hex("""
    00 11 22 33 44 55        # dst MAC
    66 77 88 99 aa bb        # src MAC
    08 00                    # EtherType IPv4
    46                       # version 4, IHL 6 (24 bytes: one option word)
    00                       # DSCP/ECN
    00 40                    # total length 64 = 24 IP + 40 TCP
    ab cd                    # identification
    40 00                    # flags DF, fragment offset 0
    40                       # TTL 64
    06                       # protocol TCP
    00 00                    # header checksum (not verified)
    c0 a8 01 0a              # src 192.168.1.10
    c0 a8 01 14              # dst 192.168.1.20
    01 01 01 00              # options: NOP NOP NOP EOL
    d4 31                    # src port 54321
    01 bb                    # dst port 443
    00 00 00 64              # seq 100
    00 00 00 00              # ack 0
    a0                       # data offset 10 (40 bytes), reserved
    c2                       # flags CWR ECE SYN
    fa f0                    # window 64240
    00 00 00 00              # checksum, urgent pointer
    02 04 05 b4              # MSS 1460
    04 02 08 0a              # SACK permitted, timestamps kind/len
    00 00 00 01 00 00 00 00  # timestamp values
    01 03 03 07              # NOP, window scale 7
    """)

@Suite struct EthernetIPv4TCPTests {
    @Test func decodesEveryField() {
        let (ok, p) = decode(synFrame)
        #expect(ok)
        #expect(p.anomaly == .none)
        #expect(p.ipVersion == 4)
        #expect(p.src.description == "192.168.1.10")
        #expect(p.dst.description == "192.168.1.20")
        #expect(p.proto == 6)
        #expect(p.ttl == 64)
        #expect(p.ipLength == 64)
        #expect(p.ipOffset == 14)
        #expect(p.srcPort == 54321 && p.dstPort == 443 && p.hasPorts)
        #expect(p.tcpFlags == 0xC2)
        #expect(p.tcpWindow == 64240)
        #expect(p.tcpSeq == 100)
        #expect(p.payloadOffset == 14 + 24 + 40)
        #expect(p.payloadLength == 0)
        #expect(!p.isFragment)
        #expect(p.vlanCount == 0 && p.tunnel == .none)
    }

    @Test func ethernetHeaderCutOff() {
        let (ok, p) = decode(Array(synFrame.prefix(13)))
        #expect(!ok && p.anomaly == .truncatedLink)
    }

    @Test func ipv4HeaderCutOff() {
        // 14 Ethernet + 19 bytes of IPv4: not even the fixed header.
        #expect(decode(Array(synFrame.prefix(33))).p.anomaly == .truncatedIPv4)
        // The fixed header is there but the option word is not.
        #expect(decode(Array(synFrame.prefix(36))).p.anomaly == .truncatedIPv4)
    }

    @Test func ipv4HeaderLengthBelowMinimum() {
        var f = synFrame
        f[14] = 0x44  // IHL 4 = 16 bytes
        #expect(decode(f).p.anomaly == .ipv4BadHeaderLength)
    }

    @Test func ipv4TotalLengthBelowHeader() {
        var f = synFrame
        f[16] = 0; f[17] = 20  // total 20 < IHL 24
        #expect(decode(f).p.anomaly == .ipv4BadTotalLength)
    }

    @Test func ipv4LengthBeyondWireIsMalformed() {
        var f = synFrame
        f[16] = 0x05; f[17] = 0xdc  // claims 1500 bytes, 64 on the wire
        #expect(decode(f).p.anomaly == .ipLengthExceedsWire)
    }

    @Test func snaplenCutPayloadStillCounts() {
        // A 1000-byte datagram captured with a 96-byte snaplen: headers whole.
        let payload = [UInt8](repeating: 0x41, count: 1000 - 20 - 20)
        let frame = ether(0x0800, ipv4(proto: 6, tcp(flags: 0x18, payload)))
        let cut = Array(frame.prefix(96))
        let (ok, p) = decode(cut, wire: frame.count)
        #expect(ok)
        #expect(p.ipLength == 1000)
        #expect(p.payloadLength == 960)
        #expect(p.capturedLength == 96 && p.wireLength == frame.count)
    }

    @Test func tcpHeaderCutOff() {
        // IP header whole, TCP fixed header cut after 10 bytes.
        #expect(decode(Array(synFrame.prefix(14 + 24 + 10)), wire: synFrame.count).p.anomaly == .truncatedTCP)
        // TCP fixed header whole but its options cut.
        #expect(decode(Array(synFrame.prefix(14 + 24 + 30)), wire: synFrame.count).p.anomaly == .truncatedTCP)
    }

    @Test func tcpDataOffsetBelowMinimum() {
        var f = synFrame
        f[14 + 24 + 12] = 0x40  // data offset 4
        #expect(decode(f).p.anomaly == .tcpBadDataOffset)
    }

    @Test func tcpDataOffsetBeyondDatagram() {
        var f = synFrame
        f[14 + 24 + 12] = 0xf0  // 60 bytes of header in a 40-byte segment
        #expect(decode(f).p.anomaly == .tcpBadDataOffset)
    }

    @Test func nonIPEtherTypeIsSkippedNotMalformed() {
        let arp = ether(0x0806, [UInt8](repeating: 0, count: 28))
        let (ok, p) = decode(arp)
        #expect(!ok && p.anomaly == .notIP && !p.anomaly.isMalformed)
    }

    @Test func llcSnapCarriesIPv4() {
        let inner = ipv4(proto: 17, udp())
        var frame = macs
        frame += [0, UInt8(3 + 5 + inner.count)]  // length field (< 0x0600)
        frame += hex("aa aa 03   # LLC: SNAP DSAP/SSAP, UI control")
        frame += hex("00 00 00 08 00   # SNAP: OUI 0, EtherType IPv4")
        frame += inner
        let (ok, p) = decode(frame)
        #expect(ok && p.proto == 17 && p.dstPort == 53)
        #expect(decode(Array(frame.prefix(16))).p.anomaly == .truncatedLink)
    }
}
