import Decoding

/// Community ID v1 (corelight/community-id-spec): a SHA-1 over the seed and
/// the ordered 5-tuple, base64-encoded with a "1:" prefix.
public enum CommunityID {
    /// `sport`/`dport` are ports, or ICMP type and code for ICMP/ICMPv6.
    public static func compute(src: IPAddress, dst: IPAddress, proto: UInt8,
                               sport: UInt16, dport: UInt16, seed: UInt16 = 0,
                               base64: Bool = true) -> String {
        var out: [UInt8] = []
        append(src: src, dst: dst, proto: proto, sport: sport, dport: dport, seed: seed, base64: base64, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the Community ID ("1:…") to `out` without allocating.
    public static func append(src: IPAddress, dst: IPAddress, proto: UInt8,
                              sport: UInt16, dport: UInt16, seed: UInt16 = 0,
                              base64: Bool = true, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxLength) { b in
            let n = write(src: src, dst: dst, proto: proto, sport: sport, dport: dport, seed: seed, base64: base64,
                          into: b.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(start: b.baseAddress!, count: n))
        }
    }

    /// Longest Community ID: "1:" and 40 hex digits (base64: 28 characters).
    public static let maxLength = 42

    /// Writes the Community ID at `p` (room for `maxLength` bytes); returns the bytes written.
    public static func write(src: IPAddress, dst: IPAddress, proto: UInt8,
                             sport: UInt16, dport: UInt16, seed: UInt16 = 0,
                             base64: Bool = true, into p: UnsafeMutablePointer<UInt8>) -> Int {
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
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buf in
            var n = 0
            func put(_ b: UInt8) { buf[n] = b; n += 1 }
            put(UInt8(seed >> 8)); put(UInt8(seed & 0xff))
            // `hi`/`lo` hold the address's network-order bytes in memory order.
            func putAddress(_ a: IPAddress) {
                withUnsafeBytes(of: a.hi) { for i in 0..<(a.version == 4 ? 4 : 8) { put($0[i]) } }
                if a.version != 4 { withUnsafeBytes(of: a.lo) { for i in 0..<8 { put($0[i]) } } }
            }
            putAddress(s)
            putAddress(d)
            put(proto); put(0)
            if hasPorts {
                put(UInt8(sp >> 8)); put(UInt8(sp & 0xff))
                put(UInt8(dp >> 8)); put(UInt8(dp & 0xff))
            }
            p[0] = UInt8(ascii: "1"); p[1] = UInt8(ascii: ":")
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { dgBuf in
                let dg = dgBuf.baseAddress.unsafelyUnwrapped
                SHA1Block.hash(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[0..<n]), into: dg)
                if base64 { return 2 + Base64.write(UnsafeBufferPointer(start: dg, count: 20), into: p + 2) }
                var k = 2
                for i in 0..<20 {
                    let b = dg[i]
                    p[k] = hexDigitBytes[Int(b >> 4)]; p[k + 1] = hexDigitBytes[Int(b & 0xf)]; k += 2
                }
                return k
            }
        }
    }

    private static func swap2<T>(_ a: inout T, _ b: inout T) { let t = a; a = b; b = t }
}

/// Standard base64 with padding (RFC 4648 §4).
let hexDigitBytes: [UInt8] = Array("0123456789abcdef".utf8)

public enum Base64 {
    static let table: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        bytes.withUnsafeBufferPointer { append($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let n = (bytes.count + 2) / 3 * 4
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, n)) { b in
            let k = write(bytes, into: b.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(start: b.baseAddress!, count: k))
        }
    }

    /// Writes the encoding of `bytes` at `p` (room for 4 per 3 bytes, rounded up); returns its length.
    public static func write(_ bytes: UnsafeBufferPointer<UInt8>, into p: UnsafeMutablePointer<UInt8>) -> Int {
        var k = 0
        func put(_ c: UInt8) { p[k] = c; k += 1 }
        let table = Self.table
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            put(table[Int(n >> 18 & 63)]); put(table[Int(n >> 12 & 63)])
            put(table[Int(n >> 6 & 63)]); put(table[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            put(table[Int(n >> 18 & 63)]); put(table[Int(n >> 12 & 63)])
            put(UInt8(ascii: "=")); put(UInt8(ascii: "="))
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            put(table[Int(n >> 18 & 63)]); put(table[Int(n >> 12 & 63)])
            put(table[Int(n >> 6 & 63)]); put(UInt8(ascii: "="))
        }
        return k
    }
}
