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
