/// An IPv4 or IPv6 address held in 16 bytes of network-order storage.
/// IPv4 addresses use the first 4 bytes and zero the rest.
public struct IPAddress: Hashable, Sendable, Comparable {
    /// Network-order bytes 0..<8 and 8..<16, stored in memory order.
    public var hi: UInt64
    public var lo: UInt64
    /// 4 or 6.
    public var version: UInt8

    public init(hi: UInt64, lo: UInt64, version: UInt8) {
        self.hi = hi; self.lo = lo; self.version = version
    }

    public static let zero = IPAddress(hi: 0, lo: 0, version: 0)

    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        let raw = UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
        self.init(hi: UInt64(raw), lo: 0, version: 4)
    }

    /// Bytes in network order (4 for IPv4, 16 for IPv6).
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        withUnsafeBytes(of: hi) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: lo) { out.append(contentsOf: $0) }
        return version == 4 ? Array(out[0..<4]) : out
    }

    /// Network-order comparison (memcmp of the bytes), version 4 before 6.
    public static func < (l: IPAddress, r: IPAddress) -> Bool {
        if l.version != r.version { return l.version < r.version }
        let lh = l.hi.bigEndian, rh = r.hi.bigEndian
        if lh != rh { return lh < rh }
        return l.lo.bigEndian < r.lo.bigEndian
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text. Returns nil on bad text.
    public init?(_ text: String) {
        if text.contains(":") {
            guard let b = IPAddress.parseV6(text) else { return nil }
            var hi: UInt64 = 0, lo: UInt64 = 0
            withUnsafeMutableBytes(of: &hi) { for i in 0..<8 { $0[i] = b[i] } }
            withUnsafeMutableBytes(of: &lo) { for i in 0..<8 { $0[i] = b[8 + i] } }
            self.init(hi: hi, lo: lo, version: 6)
        } else {
            guard let b = IPAddress.parseV4(Substring(text)) else { return nil }
            self.init(v4: b[0], b[1], b[2], b[3])
        }
    }

    /// Four decimal parts of 1–3 digits, 0–255, no sign and no leading zero
    /// (`010` could mean octal to another tool).
    private static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var b = [UInt8]()
        for p in parts {
            guard (1...3).contains(p.utf8.count), p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  p.utf8.count == 1 || p.utf8.first != 48, let v = UInt8(p) else { return nil }
            b.append(v)
        }
        return b
    }

    private static func parseV6(_ whole: String) -> [UInt8]? {
        // RFC 4291 §2.2 (3): the last 32 bits may be written as a dotted quad.
        var text = whole
        if let colon = whole.lastIndex(of: ":"), whole[whole.index(after: colon)...].contains(".") {
            guard let q = parseV4(whole[whole.index(after: colon)...]) else { return nil }
            text = String(whole[...colon]) + String(UInt16(q[0]) << 8 | UInt16(q[1]), radix: 16) + ":"
                + String(UInt16(q[2]) << 8 | UInt16(q[3]), radix: 16)
        }
        var halves: [String] = []
        let u = Array(text.utf8)
        if let i = u.indices.dropLast().first(where: { u[$0] == 58 && u[$0 + 1] == 58 }) {
            halves = [String(decoding: u[..<i], as: UTF8.self),
                      String(decoding: u[(i + 2)...], as: UTF8.self)]
            if halves[1].utf8.count > 0 && halves[1].split(separator: ":", omittingEmptySubsequences: false).contains("") { return nil }
        } else {
            halves = [text]
        }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard let v = UInt16(g, radix: 16), g.count <= 4 else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; for IPv6 the full, uncompressed form Suricata
    /// prints by default (`2001:0db8:0000:...`).
    public var description: String {
        var buf = [UInt8]()
        buf.reserveCapacity(40)
        appendText(to: &buf)
        return String(decoding: buf, as: UTF8.self)
    }

    /// Appends the textual form to a byte buffer without creating a String.
    public func appendText(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxTextLength) { b in
            let n = writeText(into: b.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(start: b.baseAddress!, count: n))
        }
    }

    /// Longest textual form: 8 groups of 4 hex digits and 7 colons.
    public static let maxTextLength = 39

    /// Writes the textual form at `p` (room for `maxTextLength` bytes);
    /// returns the bytes written.
    public func writeText(into p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        // Memory byte i of each word is bits 8i..<8i+8 of its little-endian value.
        let hi = self.hi.littleEndian, lo = self.lo.littleEndian
        if version == 4 {
            for i in 0..<4 {
                if i > 0 { p[n] = UInt8(ascii: "."); n += 1 }
                let v = Int(truncatingIfNeeded: (hi >> UInt64(8 * i)) & 0xff)
                if v >= 100 { p[n] = UInt8(truncatingIfNeeded: 48 + v / 100); n += 1 }
                if v >= 10 { p[n] = UInt8(truncatingIfNeeded: 48 + (v / 10) % 10); n += 1 }
                p[n] = UInt8(truncatingIfNeeded: 48 + v % 10); n += 1
            }
            return n
        }
        let hex: StaticString = "0123456789abcdef"
        let digits = hex.utf8Start
        for i in 0..<16 {
            if i > 0 && i % 2 == 0 { p[n] = UInt8(ascii: ":"); n += 1 }
            let word = i < 8 ? hi : lo
            let byte = Int(truncatingIfNeeded: (word >> UInt64(8 * (i & 7))) & 0xff)
            p[n] = digits[byte >> 4]; p[n + 1] = digits[byte & 0xf]
            n += 2
        }
        return n
    }
}

