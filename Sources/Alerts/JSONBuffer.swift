/// A reusable byte buffer that writes compact JSON with keys in insertion
/// order. Numbers are formatted without creating Strings; non-finite
/// doubles become `null`. Not thread-safe: one per writer.
public struct JSONBuffer: Sendable {
    public var bytes: [UInt8] = []
    /// One bit per open container (bit `depth - 1` is the innermost): set
    /// once it holds a value, so the next one needs a comma. 64 levels deep at most.
    var commaBits: UInt64 = 0
    var depth = 0
    /// Where `appendWritten` formats blocks too large for the stack (kept between records).
    var scratch: [UInt8] = []

    public init(reserve: Int = 4096) {
        bytes.reserveCapacity(reserve)
    }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        commaBits = 0
        depth = 0
        valuePending = false
    }

    mutating func separator() {
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if commaBits & bit != 0 { bytes.append(UInt8(ascii: ",")) } else { commaBits |= bit }
    }

    mutating func open(_ c: UInt8) {
        beforeValue()
        bytes.append(c)
        precondition(depth < 64, "JSON nested deeper than 64 levels")
        depth += 1
        commaBits &= ~(1 << UInt64(depth - 1))
    }

    mutating func close(_ c: UInt8) {
        bytes.append(c)
        depth -= 1
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Appends raw bytes with one capacity check.
    mutating func appendRaw(_ p: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: p) }

    /// Starts a member: writes `"key":`. The next value call completes it.
    public mutating func key(_ k: StaticString) {
        separator()
        appendStatic(k)
        bytes.append(UInt8(ascii: ":"))
        valuePending = true
    }

    /// A constant as a JSON string: copied as is unless it holds a character
    /// that needs escaping (then escaped like any string).
    mutating func appendStatic(_ s: StaticString) {
        s.withUTF8Buffer { u in
            var plain = true
            for c in u where c < 0x20 || c == 0x22 || c == 0x5C { plain = false; break }
            if plain {
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: u)
                bytes.append(UInt8(ascii: "\""))
            } else {
                appendEscaped(String(decoding: u, as: UTF8.self))
            }
        }
    }

    /// Disfavoured so that literal keys take the `StaticString` path (no escaping scan).
    @_disfavoredOverload
    public mutating func key(_ k: String) {
        separator()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        valuePending = true
    }

    var valuePending = false

    mutating func beforeValue() {
        if valuePending {
            valuePending = false
        } else {
            separator()
        }
    }

    @_disfavoredOverload
    public mutating func string(_ s: String) { beforeValue(); appendEscaped(s) }

    /// A constant string (names, enum words): no per-call String.
    public mutating func string(_ s: StaticString) {
        beforeValue()
        appendStatic(s)
    }

    /// Pre-encoded JSON (e.g. a cached escaped string) as a value.
    public mutating func rawValue(_ encoded: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: encoded)
    }

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

    /// A double as `RawJSONWriter.double` writes it: always with a fraction
    /// or an exponent ("3.0"); NaN/±inf print as null.
    public mutating func double(_ v: Double) {
        beforeValue()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: RawJSONWriter.maxNumber) { buf in
            var w = RawJSONWriter(buf.baseAddress!)
            w.double(v)
            bytes.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress!, count: w.count))
        }
    }

    /// Members of the open object written raw: `body` writes
    /// `"key":value,"key2":value2…` (at least one member, no leading comma)
    /// into a scratch buffer of `capacity` bytes, appended at once.
    public mutating func rawMembers(capacity: Int, _ body: (inout RawJSONWriter) -> Void) {
        separator()
        appendWritten(capacity: capacity, body)
    }

    /// Formats into a scratch buffer of `capacity` bytes with `body` and
    /// appends what it wrote as one value (e.g. a whole object of numbers).
    public mutating func rawValue(capacity: Int, _ body: (inout RawJSONWriter) -> Void) {
        beforeValue()
        appendWritten(capacity: capacity, body)
    }

    /// What `body` writes into a scratch buffer of `capacity` bytes, appended at once.
    mutating func appendWritten(capacity: Int, _ body: (inout RawJSONWriter) -> Void) {
        guard capacity > Self.stackScratch else {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buf in
                var w = RawJSONWriter(buf.baseAddress!)
                body(&w)
                precondition(w.count <= capacity, "RawJSONWriter overflow")
                bytes.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress!, count: w.count))
            }
            return
        }
        // Larger blocks (a flow record's features and sequence, several KB:
        // a temporary allocation that size is a malloc and a free each time)
        // go through a scratch array kept with the buffer, moved out while
        // it is written so that appending to `bytes` does not overlap it.
        var s: [UInt8] = []
        swap(&s, &scratch)
        if s.count < capacity { s = [UInt8](repeating: 0, count: capacity) }
        s.withUnsafeMutableBufferPointer { buf in
            var w = RawJSONWriter(buf.baseAddress!)
            body(&w)
            precondition(w.count <= capacity, "RawJSONWriter overflow")
            bytes.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress!, count: w.count))
        }
        swap(&s, &scratch)
    }

    /// Blocks up to this many bytes are written on the stack (`withUnsafeTemporaryAllocation`'s limit).
    static let stackScratch = 1024

    mutating func appendFraction(_ frac: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { buf in
            var w = RawJSONWriter(buf.baseAddress!)
            w.fraction(frac)
            bytes.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress!, count: w.count))
        }
    }

    /// Nanoseconds since the epoch as exact decimal seconds ("1700000000.061").
    public mutating func seconds(ns: Int64) {
        beforeValue()
        // Sign, then the magnitude: -1 ns is "-0.000000001", not "-1.999999999".
        if ns < 0 { bytes.append(UInt8(ascii: "-")) }
        let m = ns.magnitude
        appendUnsigned(m / 1_000_000_000)
        let frac = Int64(m % 1_000_000_000)
        if frac > 0 { appendFraction(frac) } else { bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")]) }
    }

    mutating func appendInteger(_ v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            if v == Int64.min { appendDecimalString("9223372036854775808"); return }
            appendUnsigned(UInt64(-v))
        } else {
            appendUnsigned(UInt64(v))
        }
    }

    mutating func appendUnsigned(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(48 + v)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var w = RawJSONWriter(buf.baseAddress!)
            w.unsigned(v)
            bytes.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress!, count: w.count))
        }
    }

    mutating func appendDecimalString(_ s: String) { bytes.append(contentsOf: s.utf8) }

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

    public mutating func rawKey(_ encoded: UnsafeBufferPointer<UInt8>) {
        separator()
        bytes.append(contentsOf: encoded)
        valuePending = true
    }
}

public let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension JSONBuffer {
    /// A string as an escaped JSON string value, encoded once.
    public static func encodedString(_ v: String) -> [UInt8] {
        var j = JSONBuffer(reserve: v.utf8.count + 2)
        j.appendEscaped(v)
        return j.bytes
    }

    /// `"name":` for a key, encoded once.
    public static func encodedKey(_ k: String) -> [UInt8] {
        var j = JSONBuffer(reserve: k.utf8.count + 4)
        j.appendEscaped(k)
        j.bytes.append(UInt8(ascii: ":"))
        return j.bytes
    }
}

/// Writes JSON pieces into memory the caller sized (no checks per byte):
/// the number formatting behind `JSONBuffer`, and whole objects of numbers
/// written at once. `maxNumber` bytes are enough for any one number.
public struct RawJSONWriter {
    public static let maxNumber = 32
    let p: UnsafeMutablePointer<UInt8>
    public var count = 0

    public init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

    public mutating func byte(_ b: UInt8) { p[count] = b; count += 1 }

    /// A constant copied as is (JSON punctuation and keys the caller wrote
    /// already escaped, e.g. `,"flow_id":`).
    @inline(__always) public mutating func lit(_ s: StaticString) {
        (p + count).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        count += s.utf8CodeUnitCount
    }

    /// Pre-encoded bytes copied as is.
    public mutating func bytes(_ b: [UInt8]) {
        b.withUnsafeBufferPointer { bytes($0) }
    }

    /// Lets `body` write at the current position (returning how many bytes it wrote).
    public mutating func write(_ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        count += body(p + count)
    }

    /// Bytes moved by `chunk` at once.
    public static let chunk = 32

    /// Copies the first `length` (≤ `chunk`) bytes of a `chunk`-byte source
    /// with one 32-byte move; the caller's buffer must have `chunk` bytes of room.
    public mutating func chunk(_ src: UnsafeRawPointer, length: Int) {
        let v = src.loadUnaligned(as: SIMD32<UInt8>.self)
        UnsafeMutableRawPointer(p + count).storeBytes(of: v, as: SIMD32<UInt8>.self)
        count += length
    }

    public mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        guard let base = b.baseAddress else { return }
        (p + count).update(from: base, count: b.count)
        count += b.count
    }

    public mutating func unsigned(_ v: UInt64) {
        // Most numbers in flow records are small counts: one or two digits.
        if v < 10 { p[count] = UInt8(truncatingIfNeeded: 48 &+ v); count += 1; return }
        if v < 100 {
            p[count] = UInt8(truncatingIfNeeded: 48 &+ v / 10)
            p[count + 1] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
            count += 2
            return
        }
        var digits = 3, t = v / 1000
        while t > 0 { t /= 10; digits += 1 }
        var n = v
        var i = count + digits - 1
        // Two digits per step.
        while n >= 100 {
            let q = n % 100
            n /= 100
            p[i] = UInt8(truncatingIfNeeded: 48 &+ q % 10)
            p[i - 1] = UInt8(truncatingIfNeeded: 48 &+ q / 10)
            i -= 2
        }
        if n >= 10 {
            p[i] = UInt8(truncatingIfNeeded: 48 &+ n % 10)
            p[i - 1] = UInt8(truncatingIfNeeded: 48 &+ n / 10)
        } else {
            p[i] = UInt8(truncatingIfNeeded: 48 &+ n)
        }
        count += digits
    }

    public mutating func integer(_ v: Int64) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
            unsigned(v == Int64.min ? UInt64(Int64.max) + 1 : UInt64(-v))
        } else {
            unsigned(UInt64(v))
        }
    }

    /// ".ddddddddd" for 0 < `frac` < 10^9, trailing zeros trimmed.
    public mutating func fraction(_ frac: Int64) {
        p[count] = UInt8(ascii: ".")
        var f = frac
        for i in stride(from: count + 9, through: count + 1, by: -1) {
            p[i] = UInt8(truncatingIfNeeded: 48 + f % 10)
            f /= 10
        }
        var last = count + 9
        while last > count + 1 && p[last] == 48 { last -= 1 }
        count = last + 1
    }

    /// A double with up to 9 decimal places (trailing zeros trimmed), always
    /// with a fraction or an exponent ("3.0", "1e+15") so that a consumer
    /// that types fields by their first value (Elasticsearch's dynamic
    /// mapping) sees a float; NaN/±inf print as null.
    public mutating func double(_ v: Double) {
        if v == 0 { zeroPointZero(); return }  // the commonest value of all (±0 both print "0.0")
        guard v.isFinite else {
            byte(UInt8(ascii: "n")); byte(UInt8(ascii: "u")); byte(UInt8(ascii: "l")); byte(UInt8(ascii: "l"))
            return
        }
        let a = Swift.abs(v)
        if a >= 1e15 {
            for c in v.description.utf8 { byte(c) }
            return
        }
        if a < 4e9 && v == v.rounded(.towardZero) {
            // Integral (exact below 2^53 / 5^9, where the general path is exact too).
            integer(Int64(v))
            byte(UInt8(ascii: ".")); byte(UInt8(ascii: "0"))
            return
        }
        let scaled = (a * 1e9).rounded()
        var ip = (scaled / 1e9).rounded(.towardZero)
        var frac = Int64(scaled - ip * 1e9)
        if frac < 0 { frac = 0 }
        if frac >= 1_000_000_000 { ip += 1; frac -= 1_000_000_000 }
        if v < 0 && (ip > 0 || frac > 0) { byte(UInt8(ascii: "-")) }
        integer(Int64(ip))
        if frac > 0 { fraction(frac) } else { byte(UInt8(ascii: ".")); byte(UInt8(ascii: "0")) }
    }

    @inline(__always) mutating func zeroPointZero() {
        byte(UInt8(ascii: "0")); byte(UInt8(ascii: ".")); byte(UInt8(ascii: "0"))
    }
}
