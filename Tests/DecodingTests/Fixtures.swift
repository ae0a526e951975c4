@testable import Decoding

/// Bytes from a hex fixture: whitespace ignored, `#` starts a comment to the end of the line.
func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in s.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let digits = code.filter { !$0.isWhitespace }
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(after: i)
            out.append(UInt8(digits[i...j], radix: 16)!)
            i = digits.index(after: j)
        }
    }
    return out
}

/// Decodes `bytes` as one captured packet; `wire` defaults to the captured length.
func decode(_ bytes: [UInt8], _ link: LinkType = .ethernet, wire: Int? = nil) -> (ok: Bool, p: DecodedPacket) {
    var p = DecodedPacket()
    let ok = bytes.withUnsafeBytes { buf in
        PacketDecoder(linkType: link).decode(ByteView(buf), wireLength: wire ?? bytes.count,
                                             timestampNs: 1, into: &p)
    }
    return (ok, p)
}

// Layer builders for the composite cases. Checksums are zero: the decoder
// does not verify them (a sensor counts what was on the wire).

let macs = hex("""
    02 00 00 00 00 02   # destination MAC
    02 00 00 00 00 01   # source MAC
    """)

func ether(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    macs + [UInt8(type >> 8), UInt8(type & 0xff)] + payload
}

func ipv4(proto: UInt8, src: [UInt8] = [10, 0, 0, 1], dst: [UInt8] = [10, 0, 0, 2],
          flagsFrag: UInt16 = 0x4000, id: UInt16 = 0x1234, options: [UInt8] = [],
          _ payload: [UInt8], totalLength: Int? = nil) -> [UInt8] {
    let ihl = (20 + options.count) / 4
    let total = totalLength ?? (20 + options.count + payload.count)
    var h: [UInt8] = [UInt8(0x40 | ihl), 0, UInt8(total >> 8), UInt8(total & 0xff),
                      UInt8(id >> 8), UInt8(id & 0xff), UInt8(flagsFrag >> 8), UInt8(flagsFrag & 0xff),
                      64, proto, 0, 0]
    h += src + dst + options
    return h + payload
}

let v6src = hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01")
let v6dst = hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02")

func ipv6(next: UInt8, _ payload: [UInt8], payloadLength: Int? = nil) -> [UInt8] {
    let plen = payloadLength ?? payload.count
    var h: [UInt8] = [0x60, 0, 0, 0, UInt8(plen >> 8), UInt8(plen & 0xff), next, 64]
    h += v6src + v6dst
    return h + payload
}

func tcp(sport: UInt16 = 40000, dport: UInt16 = 80, flags: UInt8 = 0x02, window: UInt16 = 64240,
         options: [UInt8] = [], _ payload: [UInt8] = []) -> [UInt8] {
    let off = (20 + options.count) / 4
    var h: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff),
                      0, 0, 0, 1, 0, 0, 0, 0, UInt8(off << 4), flags,
                      UInt8(window >> 8), UInt8(window & 0xff), 0, 0, 0, 0]
    h += options
    return h + payload
}

func udp(sport: UInt16 = 5353, dport: UInt16 = 53, _ payload: [UInt8] = []) -> [UInt8] {
    let len = 8 + payload.count
    return [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff),
            UInt8(len >> 8), UInt8(len & 0xff), 0, 0] + payload
}

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

/// IPv6 with hop-by-hop, routing, destination options and a first
/// fragment header, then UDP.
func ipv6ExtensionChain() -> [UInt8] {
    let u = udp(sport: 1000, dport: 2000, [1, 2, 3, 4])
    let ext = hex("""
        2b 00 01 04 00 00 00 00     # hop-by-hop: next routing(43), len 0, PadN
        3c 02 00 01                 # routing: next dest-opts(60), len 2 (24 bytes), type 0, segments left 1
        00 00 00 00                 #   reserved
        20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 99   # one address
        2c 00 01 04 00 00 00 00     # destination options: next fragment(44), len 0, PadN
        11 00 00 01                 # fragment: next UDP(17), offset 0, M=1
        00 00 be ef                 #   identification 0xbeef
        """)
    return ether(0x86DD, ipv6(next: 0, ext + u))
}
