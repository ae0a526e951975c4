/// Little-endian binary encoder for bundle sections.
public struct BundleWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { appendLE(v) }
    public mutating func u32(_ v: UInt32) { appendLE(v) }
    public mutating func u64(_ v: UInt64) { appendLE(v) }
    public mutating func i64(_ v: Int64) { appendLE(UInt64(bitPattern: v)) }
    /// Non-negative count/size, stored as u64.
    public mutating func count(_ v: Int) { precondition(v >= 0); appendLE(UInt64(v)) }
    public mutating func f32(_ v: Float) { appendLE(v.bitPattern) }
    public mutating func f64(_ v: Double) { appendLE(v.bitPattern) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// u64 length, then the values.
    public mutating func f32Array(_ a: [Float]) {
        count(a.count)
        bytes.reserveCapacity(bytes.count + 4 * a.count)
        for v in a { appendLE(v.bitPattern) }
    }

    /// u64 length, then the values.
    public mutating func f64Array(_ a: [Double]) {
        count(a.count)
        bytes.reserveCapacity(bytes.count + 8 * a.count)
        for v in a { appendLE(v.bitPattern) }
    }

    /// u64 length, then the values.
    public mutating func i32Array(_ a: [Int32]) {
        count(a.count)
        for v in a { appendLE(UInt32(bitPattern: v)) }
    }

    /// u64 byte length, then UTF-8.
    public mutating func string(_ s: String) {
        let u = Array(s.utf8)
        count(u.count)
        bytes.append(contentsOf: u)
    }

    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    private mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        var le = v.littleEndian
        withUnsafeBytes(of: &le) { bytes.append(contentsOf: $0) }
    }
}

/// Little-endian binary decoder for bundle sections. Errors name the section and offset.
public struct BundleReader: Sendable {
    public let bytes: [UInt8]
    public let section: String
    public private(set) var offset: Int = 0

    public init(_ bytes: [UInt8], section: String) {
        self.bytes = bytes
        self.section = section
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public func fail(_ reason: String) -> BundleError {
        .corruptSection(section: section, offset: offset, reason: reason)
    }

    private mutating func need(_ n: Int) throws(BundleError) {
        if n < 0 || n > remaining {
            throw fail("needed \(n) bytes, only \(remaining) left")
        }
    }

    private mutating func readLE<T: FixedWidthInteger>(_: T.Type) throws(BundleError) -> T {
        let n = MemoryLayout<T>.size
        try need(n)
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }

    public mutating func u8() throws(BundleError) -> UInt8 { try readLE(UInt8.self) }
    public mutating func u16() throws(BundleError) -> UInt16 { try readLE(UInt16.self) }
    public mutating func u32() throws(BundleError) -> UInt32 { try readLE(UInt32.self) }
    public mutating func u64() throws(BundleError) -> UInt64 { try readLE(UInt64.self) }
    public mutating func i64() throws(BundleError) -> Int64 { Int64(bitPattern: try readLE(UInt64.self)) }
    public mutating func f32() throws(BundleError) -> Float { Float(bitPattern: try readLE(UInt32.self)) }
    public mutating func f64() throws(BundleError) -> Double { Double(bitPattern: try readLE(UInt64.self)) }

    public mutating func bool() throws(BundleError) -> Bool {
        let b = try u8()
        guard b <= 1 else { throw fail("bad boolean byte \(b)") }
        return b == 1
    }

    /// A u64 count that must fit in the remaining bytes at `elementSize` bytes each.
    public mutating func count(elementSize: Int = 1) throws(BundleError) -> Int {
        let at = offset
        let v = try u64()
        guard v <= UInt64(Int.max / max(elementSize, 1)), Int(v) * elementSize <= remaining || elementSize == 0 else {
            offset = at
            throw fail("count \(v) exceeds the \(remaining - 8) bytes left")
        }
        return Int(v)
    }

    public mutating func f32Array() throws(BundleError) -> [Float] {
        let n = try count(elementSize: 4)
        var a = [Float](repeating: 0, count: n)
        for i in 0..<n { a[i] = Float(bitPattern: try readLE(UInt32.self)) }
        return a
    }

    public mutating func f64Array() throws(BundleError) -> [Double] {
        let n = try count(elementSize: 8)
        var a = [Double](repeating: 0, count: n)
        for i in 0..<n { a[i] = Double(bitPattern: try readLE(UInt64.self)) }
        return a
    }

    public mutating func i32Array() throws(BundleError) -> [Int32] {
        let n = try count(elementSize: 4)
        var a = [Int32](repeating: 0, count: n)
        for i in 0..<n { a[i] = Int32(bitPattern: try readLE(UInt32.self)) }
        return a
    }

    /// The next `n` raw bytes.
    public mutating func take(_ n: Int) throws(BundleError) -> [UInt8] {
        try need(n)
        let out = Array(bytes[offset..<offset + n])
        offset += n
        return out
    }

    public mutating func string() throws(BundleError) -> String {
        let n = try count(elementSize: 1)
        let s = String(decoding: bytes[offset..<offset + n], as: UTF8.self)
        offset += n
        return s
    }

    /// Checks a 4-byte tag identifying the payload type (guards against decoding the wrong section).
    public mutating func expectTag(_ tag: String) throws(BundleError) {
        let t = Array(tag.utf8)
        precondition(t.count == 4)
        try need(4)
        guard Array(bytes[offset..<offset + 4]) == t else {
            throw fail("expected payload tag \"\(tag)\"")
        }
        offset += 4
    }

    public mutating func expectEnd() throws(BundleError) {
        guard isAtEnd else { throw fail("\(remaining) unexpected trailing bytes") }
    }
}

extension BundleWriter {
    public mutating func tag(_ tag: String) {
        let t = Array(tag.utf8)
        precondition(t.count == 4)
        raw(t)
    }
}
