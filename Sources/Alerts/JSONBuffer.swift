/// A reusable byte buffer that writes compact JSON with keys in insertion
/// order. Numbers are formatted without creating Strings; non-finite
/// doubles become `null`. Not thread-safe: one per writer.
public struct JSONBuffer: Sendable {
    public var bytes: [UInt8] = []
    @usableFromInline var needComma: [Bool] = []

    public init(reserve: Int = 4096) {
        bytes.reserveCapacity(reserve)
        needComma.reserveCapacity(16)
    }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needComma.removeAll(keepingCapacity: true)
        valuePending = false
    }

    @inlinable mutating func separator() {
        if let last = needComma.last {
            if last { bytes.append(UInt8(ascii: ",")) } else { needComma[needComma.count - 1] = true }
        }
    }

    public mutating func beginObject() { beforeValue(); bytes.append(UInt8(ascii: "{")); needComma.append(false) }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needComma.removeLast() }
    public mutating func beginArray() { beforeValue(); bytes.append(UInt8(ascii: "[")); needComma.append(false) }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needComma.removeLast() }

    /// Starts a member: writes `"key":`. The next value call completes it.
    public mutating func key(_ k: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        valuePending = true
    }

    public mutating func key(_ k: String) {
        separator()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        valuePending = true
    }

    @usableFromInline var valuePending = false

    @inlinable mutating func beforeValue() {
        if valuePending {
            valuePending = false
        } else {
            separator()
        }
    }

    public mutating func string(_ s: String) { beforeValue(); appendEscaped(s) }

    public mutating func rawString(_ f: (inout [UInt8]) -> Void) {
        beforeValue()
        bytes.append(UInt8(ascii: "\""))
        f(&bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int<T: BinaryInteger>(_ v: T) { beforeValue(); appendInteger(Int64(v)) }
    public mutating func uint(_ v: UInt64) {
        beforeValue()
        if v > UInt64(Int64.max) { appendDecimalString(String(v)) } else { appendInteger(Int64(v)) }
    }
    public mutating func bool(_ v: Bool) { beforeValue(); bytes.append(contentsOf: v ? Self.trueBytes : Self.falseBytes) }
    public mutating func null() { beforeValue(); bytes.append(contentsOf: Self.nullBytes) }

    static let trueBytes: [UInt8] = Array("true".utf8)
    static let falseBytes: [UInt8] = Array("false".utf8)
    static let nullBytes: [UInt8] = Array("null".utf8)

    /// A double with up to 9 decimal places (trailing zeros trimmed);
    /// integers print without a fraction; NaN/±inf print as null.
    public mutating func double(_ v: Double) {
        beforeValue()
        guard v.isFinite else { bytes.append(contentsOf: Self.nullBytes); return }
        let a = Swift.abs(v)
        if a >= 1e15 { appendDecimalString(v.description); return }
        var scaled = (a * 1e9).rounded()
        var ip = (scaled / 1e9).rounded(.towardZero)
        var frac = Int64(scaled - ip * 1e9)
        if frac < 0 { frac = 0 }
        if frac >= 1_000_000_000 { ip += 1; frac -= 1_000_000_000 }
        if v < 0 && (ip > 0 || frac > 0) { bytes.append(UInt8(ascii: "-")) }
        appendInteger(Int64(ip))
        if frac > 0 {
            bytes.append(UInt8(ascii: "."))
            var digits = InlineArray<9, UInt8>(repeating: 48)
            var f = frac
            for i in stride(from: 8, through: 0, by: -1) {
                digits[i] = UInt8(48 + f % 10)
                f /= 10
            }
            var last = 8
            while last > 0 && digits[last] == 48 { last -= 1 }
            for i in 0...last { bytes.append(digits[i]) }
        }
        scaled = 0
    }

    /// Nanoseconds since the epoch as exact decimal seconds ("1700000000.061").
    public mutating func seconds(ns: Int64) {
        beforeValue()
        var sec = ns / 1_000_000_000
        var frac = ns % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; sec -= 1 }
        appendInteger(sec)
        if frac > 0 {
            bytes.append(UInt8(ascii: "."))
            var digits = InlineArray<9, UInt8>(repeating: 48)
            var f = frac
            for i in stride(from: 8, through: 0, by: -1) { digits[i] = UInt8(48 + f % 10); f /= 10 }
            var last = 8
            while last > 0 && digits[last] == 48 { last -= 1 }
            for i in 0...last { bytes.append(digits[i]) }
        }
    }

    @inlinable mutating func appendInteger(_ v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            if v == Int64.min { appendDecimalString("9223372036854775808"); return }
            appendUnsigned(UInt64(-v))
        } else {
            appendUnsigned(UInt64(v))
        }
    }

    @inlinable mutating func appendUnsigned(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(48 + v)); return }
        var tmp = InlineArray<20, UInt8>(repeating: 0)
        var n = v, i = 20
        while n > 0 { i -= 1; tmp[i] = UInt8(48 + n % 10); n /= 10 }
        for j in i..<20 { bytes.append(tmp[j]) }
    }

    @usableFromInline mutating func appendDecimalString(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// Writes `s` as a JSON string (RFC 8259 escaping; UTF-8 passed through).
    public mutating func appendEscaped(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var plain = true
        for c in s.utf8 where c < 0x20 || c == 0x22 || c == 0x5C { plain = false; break }
        if plain {
            bytes.append(contentsOf: s.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        let hex = hexDigits
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): bytes.append(92); bytes.append(c)
            case UInt8(ascii: "\\"): bytes.append(92); bytes.append(c)
            case 0x0A: bytes.append(92); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(92); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(92); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(c >> 4)]); bytes.append(hex[Int(c & 0xf)])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func newline() { bytes.append(0x0A) }

    /// Appends pre-encoded bytes (e.g. a cached `"key":`) as a member key.
    public mutating func rawKey(_ encoded: [UInt8]) {
        separator()
        bytes.append(contentsOf: encoded)
        valuePending = true
    }
}

public let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension JSONBuffer {
    /// `"name":` for a key, encoded once.
    public static func encodedKey(_ k: String) -> [UInt8] {
        var j = JSONBuffer(reserve: k.utf8.count + 4)
        j.appendEscaped(k)
        j.bytes.append(UInt8(ascii: ":"))
        return j.bytes
    }
}
