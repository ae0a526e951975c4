// Little-endian binary encoding helpers shared by the neural models' `encode()` /
// `init(decoding:)`. Every model blob starts with a 4-byte magic and a UInt16 version.

/// Errors thrown when decoding a serialized neural model.
public enum NNFormatError: Error, Equatable, CustomStringConvertible {
    /// The blob ended before `needed` bytes could be read at `offset`.
    case truncated(context: String, offset: Int, needed: Int, available: Int)
    /// The blob does not start with the expected magic.
    case badMagic(expected: String, found: [UInt8])
    /// The blob's format version is not understood by this build.
    case unsupportedVersion(found: UInt16, supported: UInt16)
    /// Dimensions in the header are inconsistent or out of range.
    case invalidShape(String)
    /// Bytes left over after the model was fully decoded.
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case let .truncated(context, offset, needed, available):
            return "truncated model data while reading \(context): need \(needed) bytes at offset \(offset), only \(available) left"
        case let .badMagic(expected, found):
            return "bad magic: expected \"\(expected)\", found \(found)"
        case let .unsupportedVersion(found, supported):
            return "unsupported model format version \(found) (this build reads version \(supported))"
        case let .invalidShape(message):
            return "invalid model shape: \(message)"
        case let .trailingBytes(count):
            return "\(count) unexpected trailing bytes after model data"
        }
    }
}

/// Appends little-endian values to a byte buffer.
public struct NNByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func magic(_ tag: String) {
        precondition(tag.utf8.count == 4, "magic must be 4 ASCII bytes")
        bytes.append(contentsOf: tag.utf8)
    }

    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    public mutating func int(_ v: Int) {
        precondition(v >= 0 && v <= Int(UInt32.max))
        u32(UInt32(v))
    }

    public mutating func f32(_ v: Float) { u32(v.bitPattern) }

    /// Length-prefixed Float array.
    public mutating func floats(_ values: [Float]) {
        int(values.count)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { f32(v) }
    }

    /// Length-prefixed Int8 array.
    public mutating func int8s(_ values: [Int8]) {
        int(values.count)
        bytes.append(contentsOf: values.map { UInt8(bitPattern: $0) })
    }
}

/// Reads little-endian values from a byte buffer, throwing `NNFormatError.truncated`.
public struct NNByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int, _ context: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else {
            throw NNFormatError.truncated(context: context, offset: offset, needed: n, available: remaining)
        }
        defer { offset += n }
        return bytes[offset ..< offset + n]
    }

    public mutating func expectMagic(_ tag: String) throws {
        let found = try take(4, "magic")
        guard Array(found) == Array(tag.utf8) else {
            throw NNFormatError.badMagic(expected: tag, found: Array(found))
        }
    }

    /// Reads the version and checks it against `supported`.
    public mutating func expectVersion(_ supported: UInt16) throws {
        let v = try u16("version")
        guard v == supported else { throw NNFormatError.unsupportedVersion(found: v, supported: supported) }
    }

    public mutating func u16(_ context: String) throws -> UInt16 {
        let s = try take(2, context)
        return UInt16(s[s.startIndex]) | UInt16(s[s.startIndex + 1]) << 8
    }

    public mutating func u32(_ context: String) throws -> UInt32 {
        let s = try take(4, context)
        var v: UInt32 = 0
        for i in 0 ..< 4 { v |= UInt32(s[s.startIndex + i]) << UInt32(8 * i) }
        return v
    }

    /// Reads a non-negative count and checks it is at most `limit`.
    public mutating func int(_ context: String, limit: Int = 1 << 24) throws -> Int {
        let v = Int(try u32(context))
        guard v <= limit else { throw NNFormatError.invalidShape("\(context) = \(v) exceeds \(limit)") }
        return v
    }

    public mutating func f32(_ context: String) throws -> Float { Float(bitPattern: try u32(context)) }

    public mutating func floats(_ context: String, count expected: Int? = nil) throws -> [Float] {
        let n = try int("\(context).count")
        if let expected, expected != n {
            throw NNFormatError.invalidShape("\(context) has \(n) values, expected \(expected)")
        }
        let s = try take(n * 4, context)
        var out = [Float](repeating: 0, count: n)
        var p = s.startIndex
        for i in 0 ..< n {
            let bits = UInt32(s[p]) | UInt32(s[p + 1]) << 8 | UInt32(s[p + 2]) << 16 | UInt32(s[p + 3]) << 24
            out[i] = Float(bitPattern: bits)
            p += 4
        }
        return out
    }

    public mutating func int8s(_ context: String, count expected: Int? = nil) throws -> [Int8] {
        let n = try int("\(context).count")
        if let expected, expected != n {
            throw NNFormatError.invalidShape("\(context) has \(n) values, expected \(expected)")
        }
        let s = try take(n, context)
        return s.map { Int8(bitPattern: $0) }
    }

    /// Throws if bytes remain.
    public func expectEnd() throws {
        if remaining != 0 { throw NNFormatError.trailingBytes(remaining) }
    }
}
