/// A bounds-checked, read-only view of borrowed packet bytes.
///
/// This is the one audited place where raw pointers are read. Every accessor
/// checks the offset against `count` (the *captured* length) and returns `nil`
/// when the read would run past it; nothing here ever traps on short input.
/// The view does not own its bytes: it is valid only while the buffer it was
/// made from (libpcap's packet buffer, a test array) is alive.
public struct ByteView: @unchecked Sendable {
    let base: UnsafeRawPointer?
    public let count: Int

    public init(_ buffer: UnsafeRawBufferPointer) {
        self.base = buffer.baseAddress
        self.count = buffer.count
    }

    /// The first byte (nil for an empty view), for copying the bytes whole.
    public var baseAddress: UnsafeRawPointer? { base }

    public init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = base == nil ? 0 : max(0, count)
    }

    /// True when `length` bytes starting at `offset` are all captured.
    public func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count &- length
    }

    public func u8(_ offset: Int) -> UInt8? {
        guard let base, has(offset, 1) else { return nil }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Big-endian 16-bit read.
    public func u16(_ offset: Int) -> UInt16? {
        guard let base, has(offset, 2) else { return nil }
        return UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// Big-endian 32-bit read.
    public func u32(_ offset: Int) -> UInt32? {
        guard let base, has(offset, 4) else { return nil }
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Host-order (little-endian on Linux) 32-bit read, for BSD loopback headers.
    public func u32LittleEndian(_ offset: Int) -> UInt32? {
        guard let base, has(offset, 4) else { return nil }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Raw 64-bit load in memory order (used to copy addresses without byte swapping).
    public func rawU64(_ offset: Int) -> UInt64? {
        guard let base, has(offset, 8) else { return nil }
        return base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    /// Raw 32-bit load in memory order.
    public func rawU32(_ offset: Int) -> UInt32? {
        guard let base, has(offset, 4) else { return nil }
        return base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    /// Calls `body` with the captured bytes in `offset ..< offset+length`,
    /// clipped to what was captured. The pointer is borrowed for the call only.
    public func withBytes<R>(from offset: Int, length: Int,
                             _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let base, offset >= 0, offset < count, length > 0 else {
            return body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        let n = min(length, count - offset)
        return body(UnsafeRawBufferPointer(start: base + offset, count: n))
    }
}
