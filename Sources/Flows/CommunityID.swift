import Crypto
import Decoding

/// Community ID v1 (corelight/community-id-spec): a SHA-1 over the seed and
/// the ordered 5-tuple, base64-encoded with a "1:" prefix.
public enum CommunityID {
    /// `sport`/`dport` are ports, or ICMP type and code for ICMP/ICMPv6.
    public static func compute(src: IPAddress, dst: IPAddress, proto: UInt8,
                               sport: UInt16, dport: UInt16, seed: UInt16 = 0,
                               base64: Bool = true) -> String {
        var s = src, d = dst
        var sp = sport, dp = dport
        let hasPorts = proto == IPProto.tcp || proto == IPProto.udp || proto == IPProto.sctp
            || proto == IPProto.icmp || proto == IPProto.icmpv6
        var oneWay = false
        if proto == IPProto.icmp || proto == IPProto.icmpv6 {
            // The type decides: paired types map to their counterpart, others are one-way.
            let type = UInt8(truncatingIfNeeded: sport)
            if let c = ICMPPairs.counterpart(type: type, v6: proto == IPProto.icmpv6) {
                dp = UInt16(c)
            } else {
                dp = dport
                oneWay = true
            }
            sp = UInt16(type)
        }
        if !oneWay {
            let swap = hasPorts ? (d < s || (d == s && dp < sp)) : (d < s)
            if swap { swap2(&s, &d); swap2(&sp, &dp) }
        }
        var input = [UInt8]()
        input.reserveCapacity(40)
        input.append(UInt8(seed >> 8)); input.append(UInt8(seed & 0xff))
        input.append(contentsOf: s.bytes)
        input.append(contentsOf: d.bytes)
        input.append(proto)
        input.append(0)
        if hasPorts {
            input.append(UInt8(sp >> 8)); input.append(UInt8(sp & 0xff))
            input.append(UInt8(dp >> 8)); input.append(UInt8(dp & 0xff))
        }
        let digest = Array(Insecure.SHA1.hash(data: input))
        if base64 { return "1:" + Base64.encode(digest) }
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]("1:".utf8)
        for b in digest { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func swap2<T>(_ a: inout T, _ b: inout T) { let t = a; a = b; b = t }
}

/// Standard base64 with padding (RFC 4648 §4).
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(table[Int(n >> 18 & 63)]); out.append(table[Int(n >> 12 & 63)])
            out.append(table[Int(n >> 6 & 63)]); out.append(table[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(table[Int(n >> 18 & 63)]); out.append(table[Int(n >> 12 & 63)])
            out.append(UInt8(ascii: "=")); out.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(table[Int(n >> 18 & 63)]); out.append(table[Int(n >> 12 & 63)])
            out.append(table[Int(n >> 6 & 63)]); out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
