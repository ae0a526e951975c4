/// The first bytes of a QUIC long-header packet (RFC 9000 §17.2, QUIC
/// version 2 in RFC 9369 §3.2), as far as telling a client's Initial packet
/// from anything else takes: the stream prefixes keep a QUIC flow's first
/// client Initial datagrams with it, and the QUIC parser walks them.
///
/// ```
/// byte 0:  1 (long) | fixed bit | type (2) | type-specific (4)
/// 1 ... 4: version
/// ```
public enum QUICHeader {
    /// QUIC version 1 (RFC 9000) and version 2 (RFC 9369) on the wire.
    public static let version1: UInt32 = 0x0000_0001
    public static let version2: UInt32 = 0x6B33_43CF

    /// The long-header type bits of an Initial packet in `version`, nil for
    /// a version whose Initial packets the sensor cannot open.
    public static func initialType(version: UInt32) -> UInt8? {
        switch version {
        case version1: 0b00
        case version2: 0b01
        default: nil
        }
    }

    /// True when the bytes at `offset` start a long-header Initial packet of
    /// version 1 or 2 (five bytes read, bounds-checked; no allocation).
    public static func isInitial(_ b: ByteView, at offset: Int) -> Bool {
        guard let first = b.u8(offset), first & 0xC0 == 0xC0, let version = b.u32(offset + 1),
              let type = initialType(version: version) else { return false }
        return (first >> 4) & 0x03 == type
    }
}

/// Where each of a QUIC flow's kept client datagrams ends, counted from the
/// first datagram's byte 0 (datagram i spans `end(i-1) ..< end(i)`): at most
/// `capacity`, inline (no allocation).
public struct QUICDatagramEnds: Sendable {
    public static let capacity = 4
    var ends = InlineArray<4, Int32>(repeating: 0)
    public private(set) var count = 0

    public init() {}

    /// Adds the next datagram's end; ignored past `capacity` or when it does not move forward.
    public mutating func append(_ end: Int) {
        guard count < Self.capacity, end > last, end <= Int(Int32.max) else { return }
        ends[count] = Int32(end)
        count += 1
    }

    /// The end of datagram `i` (0 ..< count).
    public subscript(_ i: Int) -> Int { Int(ends[i]) }

    /// Where datagram `i` starts.
    public func start(_ i: Int) -> Int { i == 0 ? 0 : Int(ends[i - 1]) }

    /// The end of the last datagram (0 when there is none).
    public var last: Int { count == 0 ? 0 : Int(ends[count - 1]) }
}
