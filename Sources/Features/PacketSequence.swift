/// One packet of a flow's opening sequence, as the sequence models see it.
public struct SequenceEntry: Sendable, Equatable {
    /// +1 client→server, −1 server→client.
    public var direction: Int8
    public var tcpFlags: UInt8
    public var ipLength: UInt16
    public var payloadLength: UInt16
    /// Seconds since the flow's previous packet (0 for the first).
    public var iat: Float

    public init(direction: Int8, tcpFlags: UInt8, ipLength: UInt16, payloadLength: UInt16, iat: Float) {
        self.direction = direction; self.tcpFlags = tcpFlags
        self.ipLength = ipLength; self.payloadLength = payloadLength; self.iat = iat
    }
    public static let empty = SequenceEntry(direction: 0, tcpFlags: 0, ipLength: 0, payloadLength: 0, iat: 0)
}

/// The first `PacketSequence.length` packets of a flow, stored inline (no heap).
public struct PacketSequence: Sendable {
    public static let length = 32
    public static let channels = 5
    // `count` first: a new flow's count and first entries share a cache line.
    public var count: UInt8 = 0
    var entries = InlineArray<32, SequenceEntry>(repeating: .empty)

    public init() {}

    @inline(__always)
    public mutating func append(_ e: SequenceEntry) {
        guard Int(count) < Self.length else { return }
        entries[Int(count)] = e
        count &+= 1
    }

    /// Becomes a copy of `other`, copying only its `count` entries (the rest
    /// are never read).
    public mutating func copyPrefix(of other: UnsafePointer<PacketSequence>) {
        let n = Int(other.pointee.count)
        count = UInt8(n)
        for i in 0..<n { entries[i] = other.pointee.entries[i] }
    }

    /// Entry `i`; `.empty` past `count` (a reused slot keeps old entries there).
    public subscript(_ i: Int) -> SequenceEntry { i < Int(count) ? entries[i] : .empty }

    /// Writes the sequence as `length × channels` floats (direction, IP
    /// length, payload length, IAT seconds, TCP flags), zero-padded.
    public func write(into out: inout [Float], at base: Int) {
        for i in 0..<Self.length {
            let e = i < Int(count) ? entries[i] : .empty
            let o = base + i * Self.channels
            out[o] = Float(e.direction)
            out[o + 1] = Float(e.ipLength)
            out[o + 2] = Float(e.payloadLength)
            out[o + 3] = e.iat
            out[o + 4] = Float(e.tcpFlags)
        }
    }
}
