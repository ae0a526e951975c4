/// An open-addressing hash index from 64-bit hashes to entry numbers, for
/// sets built once and then only read: one 8-byte slot per place (the
/// upper 32 bits of the hash as a tag, the entry number + 1 below; 0 is
/// empty), linear probing, a power-of-two capacity of at least 1.5 slots
/// per entry (load ≤ 2/3). Equal keys may sit in several slots (one per
/// source of the same indicator): a lookup visits every slot whose tag
/// matches until the first empty one.
struct SlotIndex: Sendable {
    private(set) var slots: [UInt64]
    private let mask: Int

    init(expectedEntries n: Int) {
        var capacity = 16
        while capacity < n + n / 2 + 1 { capacity <<= 1 }
        slots = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    var bytes: Int { slots.count * 8 }

    mutating func insert(hash: UInt64, entry: Int) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(entry + 1)
    }

    /// Calls `body` with each entry stored under a hash with `hash`'s tag,
    /// in probe order; `body` returns false to stop.
    @inline(__always)
    func forEach(hash: UInt64, _ body: (Int) -> Bool) {
        let tag = hash & 0xFFFF_FFFF_0000_0000
        slots.withUnsafeBufferPointer { s in
            var i = Int(truncatingIfNeeded: hash) & mask
            while true {
                let v = s[i]
                if v == 0 { return }
                if v & 0xFFFF_FFFF_0000_0000 == tag, !body(Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1) { return }
                i = (i + 1) & mask
            }
        }
    }
}

/// The hashes of indicator keys: FNV-1a over the (lower-cased) bytes,
/// seeded by the kind, finished with MurmurHash3's 64-bit mix so that the
/// low bits (the slot) and the high bits (the tag) both spread.
enum IndicatorHash {
    static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c &- 65 < 26 ? c | 0x20 : c }

    @inline(__always)
    static func start(_ kind: IndicatorKind) -> UInt64 { offset ^ (UInt64(kind.rawValue) &* 0x9E37_79B9_7F4A_7C15) }

    @inline(__always)
    static func add(_ h: inout UInt64, _ bytes: UnsafeBufferPointer<UInt8>) {
        for c in bytes { h = (h ^ UInt64(lower(c))) &* prime }
    }

    @inline(__always)
    static func finish(_ h: UInt64) -> UInt64 {
        var k = h
        k ^= k >> 33; k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33; k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// An address key: the masked 128-bit address and its prefix length.
    @inline(__always)
    static func address(hi: UInt64, lo: UInt64, prefix: UInt8) -> UInt64 {
        finish(hi ^ finish(lo ^ UInt64(prefix) &* 0x9E37_79B9_7F4A_7C15))
    }
}
