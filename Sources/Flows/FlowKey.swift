import Decoding

/// Canonical bidirectional flow key: endpoints sorted so both directions of
/// a conversation give the same key (`a` is the smaller (address, port)),
/// plus protocol and up to two VLAN ids. Fixed size, no heap.
public struct FlowKey: Hashable, Sendable {
    public var a: IPAddress
    public var b: IPAddress
    public var portA: UInt16
    public var portB: UInt16
    public var proto: UInt8
    public var vlan0: UInt16
    public var vlan1: UInt16
    public var vlan2: UInt16

    public init(a: IPAddress, b: IPAddress, portA: UInt16, portB: UInt16, proto: UInt8,
                vlan0: UInt16 = 0, vlan1: UInt16 = 0, vlan2: UInt16 = 0) {
        self.a = a; self.b = b; self.portA = portA; self.portB = portB
        self.proto = proto; self.vlan0 = vlan0; self.vlan1 = vlan1; self.vlan2 = vlan2
    }

    /// Builds the key for a packet; `fromA` tells whether the packet's
    /// source is endpoint `a`.
    @inline(__always)  // inlined, so the ~200-byte packet is read in place, not copied
    public static func make(_ p: DecodedPacket, fromA: inout Bool) -> FlowKey {
        let sp = p.hasPorts ? p.srcPort : 0, dp = p.hasPorts ? p.dstPort : 0
        let srcFirst = p.src < p.dst || (p.src == p.dst && sp <= dp)
        fromA = srcFirst
        // Tag slots beyond the count are zero (the decoder resets them), and an
        // id 0 tag is kept apart from "no tag" by the +1.
        let v0 = p.vlanCount > 0 ? p.vlan0 &+ 1 : 0
        let v1 = p.vlanCount > 1 ? p.vlan1 &+ 1 : 0
        let v2 = p.vlanCount > 2 ? p.vlan2 &+ 1 : 0
        return srcFirst
            ? FlowKey(a: p.src, b: p.dst, portA: sp, portB: dp, proto: p.proto, vlan0: v0, vlan1: v1, vlan2: v2)
            : FlowKey(a: p.dst, b: p.src, portA: dp, portB: sp, proto: p.proto, vlan0: v0, vlan1: v1, vlan2: v2)
    }

    var packedTail: UInt64 {
        UInt64(portA) | UInt64(portB) << 16 | UInt64(proto) << 32 | UInt64(a.version) << 40
    }

    var packedVLANs: UInt64 { UInt64(vlan0) | UInt64(vlan1) << 16 | UInt64(vlan2) << 32 }

    /// VLAN ids as carried (outermost first), without the internal +1.
    public var vlans: [UInt16] { [vlan0, vlan1, vlan2].filter { $0 != 0 }.map { $0 &- 1 } }

    /// One word into the (per-process seeded) Hasher: the stable mix of the
    /// whole key, so the table index costs one SipHash round, not five.
    public func hash(into h: inout Hasher) {
        h.combine(stableHash())
    }

    public static func == (l: FlowKey, r: FlowKey) -> Bool {
        l.a.hi == r.a.hi && l.a.lo == r.a.lo && l.b.hi == r.b.hi && l.b.lo == r.b.lo
            && l.packedTail == r.packedTail && l.packedVLANs == r.packedVLANs
    }

    /// A fast, seeded, deterministic hash (for stripe choice and flow ids):
    /// the same key gives the same value in every run.
    @inline(__always)
    public func stableHash(seed: UInt64 = 0x5157_4C46_5345_4E54) -> UInt64 {
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            var x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            x ^= x >> 32
            return x &* 0xD6E8_FEB8_6659_FD93
        }
        var h = seed
        h = mix(h, a.hi); h = mix(h, a.lo); h = mix(h, b.hi); h = mix(h, b.lo)
        h = mix(h, packedTail)
        h = mix(h, packedVLANs)
        return h ^ (h >> 29)
    }
}
