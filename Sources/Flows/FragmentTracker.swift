import Decoding
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and code calls it)

/// Remembers the ports of first fragments so later fragments of the same
/// datagram are counted to the right flow. Direct-mapped and bounded: a
/// newer datagram may overwrite an older one that hashes to the same slot
/// (its later fragments then count as orphans, to a port-less flow).
final class FragmentTracker: Sendable {
    struct Entry: Sendable {
        var src = IPAddress.zero, dst = IPAddress.zero
        var id: UInt32 = 0
        var proto: UInt8 = 0
        var used = false
        var sport: UInt16 = 0, dport: UInt16 = 0
    }
    let slots: FSMutex<[Entry]>
    let mask: Int

    init(capacity: Int) {
        var n = 16
        while n < capacity { n <<= 1 }
        mask = n - 1
        slots = FSMutex(Array(repeating: Entry(), count: n))
    }

    private func index(_ p: DecodedPacket) -> Int {
        var h = (p.src.hi ^ p.src.lo &* 31) &* 0x9E37_79B9_7F4A_7C15
        h ^= (p.dst.hi ^ p.dst.lo &* 31 ^ UInt64(p.fragmentID) << 8 ^ UInt64(p.proto)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & mask
    }

    func rememberFirst(_ p: DecodedPacket) {
        let i = index(p)
        slots.withLock { s in
            s[i] = Entry(src: p.src, dst: p.dst, id: p.fragmentID, proto: p.proto, used: true,
                         sport: p.srcPort, dport: p.dstPort)
        }
    }

    /// Fills in ports for a non-first fragment; false if its first fragment is unknown.
    func resolve(_ p: inout DecodedPacket) -> Bool {
        let i = index(p)
        let e = slots.withLock { $0[i] }
        guard e.used, e.id == p.fragmentID, e.proto == p.proto, e.src == p.src, e.dst == p.dst else {
            return false
        }
        p.srcPort = e.sport
        p.dstPort = e.dport
        p.hasPorts = p.proto == IPProto.tcp || p.proto == IPProto.udp
            || p.proto == IPProto.icmp || p.proto == IPProto.icmpv6 || p.proto == IPProto.sctp
        return true
    }
}
