/// An ICMP/ICMPv6 message's type and code packed into one word for the flow
/// table (`1 << 16 | type << 8 | code`, so that 0 means "none seen").
public enum ICMPMessage {
    @inline(__always)
    public static func encode(type: UInt8, code: UInt8) -> UInt32 { 1 << 16 | UInt32(type) << 8 | UInt32(code) }

    /// The type and code packed by `encode`, or nil for 0.
    @inline(__always)
    public static func decode(_ v: UInt32) -> (type: UInt8, code: UInt8)? {
        v == 0 ? nil : (UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v))
    }
}
