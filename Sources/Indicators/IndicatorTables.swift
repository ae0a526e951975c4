/// What is kept of each indicator besides its value: 4 bytes.
public struct IndicatorMeta: Sendable, Equatable {
    public var kind: IndicatorKind
    /// 1 (high) … 3 (low), as `alert.severity`.
    public var severity: UInt8
    /// Index into `IndicatorSet.sources`.
    public var source: UInt16
}

/// Addresses and subnets as 128-bit numbers (IPv4 as IPv4-mapped IPv6,
/// `::ffff:a.b.c.d`, its prefix length + 96), each entry its masked
/// network and prefix length, with one hash index per (family, prefix
/// length) present: a lookup probes once per length in use for its family,
/// and the indexes of the few subnets of one length stay small (in cache)
/// beside the large one of whole addresses. IPv4 and IPv6 are apart.
/// Before any probe, an IPv4 address is checked against a bitmap of the
/// /24s that any entry touches (2 MiB): most addresses stop there.
struct AddressTable: Sendable {
    var hi: [UInt64] = []
    var lo: [UInt64] = []
    var prefix: [UInt8] = []
    var meta: [IndicatorMeta] = []
    /// The slots of every table in one array (`SlotIndex`'s layout): table t
    /// (IPv4 length t, 0…32, at t; IPv6 length l at 33 + l) at `offset[t]`,
    /// `mask[t] + 1` slots.
    var slots: [UInt64] = []
    var offset = [Int](repeating: 0, count: 33 + 129)
    var mask = [Int](repeating: 0, count: 33 + 129)
    /// The tables in use per family, longest prefix first.
    var v4Tables: [Int] = []
    var v6Tables: [Int] = []
    /// Bit n set: some IPv4 entry holds an address of the /24 numbered n.
    var v4Filter: [UInt64] = []

    var count: Int { hi.count }
    var bytes: Int {
        count * (8 + 8 + 1 + MemoryLayout<IndicatorMeta>.stride) + slots.count * 8 + v4Filter.count * 8
    }

    @inline(__always)
    static func masks(_ p: UInt8) -> (UInt64, UInt64) {
        if p == 0 { return (0, 0) }
        if p <= 64 { return (~UInt64(0) << UInt64(64 - p), 0) }
        if p == 128 { return (~UInt64(0), ~UInt64(0)) }
        return (~UInt64(0), ~UInt64(0) << UInt64(128 - p))
    }

    /// The table of an entry: IPv4-mapped networks of length ≥ 96 are IPv4's.
    static func table(hi: UInt64, lo: UInt64, prefix: UInt8) -> Int {
        hi == 0 && lo >> 32 == 0xFFFF && prefix >= 96 ? Int(prefix) - 96 : 33 + Int(prefix)
    }

    mutating func append(hi h: UInt64, lo l: UInt64, prefix p: UInt8, meta m: IndicatorMeta) {
        let (mh, ml) = Self.masks(p)
        hi.append(h & mh); lo.append(l & ml); prefix.append(p); meta.append(m)
    }

    /// Builds the indexes and the IPv4 filter; entries equal to an earlier
    /// one in value, kind and source are left out. Returns how many were.
    mutating func buildIndex() -> Int {
        var sizes = [Int](repeating: 0, count: 33 + 129)
        for e in 0..<count { sizes[Self.table(hi: hi[e], lo: lo[e], prefix: prefix[e])] += 1 }
        var total = 0
        for t in sizes.indices where sizes[t] > 0 {
            let capacity = SlotIndex(expectedEntries: sizes[t]).slots.count
            offset[t] = total
            mask[t] = capacity - 1
            total += capacity
        }
        slots = [UInt64](repeating: 0, count: total)
        var duplicates = 0
        for e in 0..<count {
            let t = Self.table(hi: hi[e], lo: lo[e], prefix: prefix[e])
            let h = IndicatorHash.address(hi: hi[e], lo: lo[e], prefix: prefix[e])
            var dup = false
            forEach(table: t, hash: h) { o in
                if hi[o] == hi[e] && lo[o] == lo[e] && prefix[o] == prefix[e] && meta[o] == meta[e] { dup = true; return false }
                return true
            }
            if dup { duplicates += 1; continue }
            var i = Int(truncatingIfNeeded: h) & mask[t]
            while slots[offset[t] + i] != 0 { i = (i + 1) & mask[t] }
            slots[offset[t] + i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
            if t <= 32 {
                if v4Filter.isEmpty { v4Filter = [UInt64](repeating: 0, count: (1 << 24) / 64) }
                let first = Int(truncatingIfNeeded: lo[e] & 0xFFFF_FFFF) >> 8
                let n = t >= 24 ? 1 : 1 << (24 - t)
                for b in first..<(first + n) { v4Filter[b >> 6] |= 1 << UInt64(b & 63) }
            }
        }
        v4Tables = (0...32).reversed().filter { sizes[$0] > 0 }
        v6Tables = (0...128).reversed().map { 33 + $0 }.filter { sizes[$0] > 0 }
        return duplicates
    }

    /// `SlotIndex.forEach` over table t.
    @inline(__always)
    func forEach(table t: Int, hash: UInt64, _ body: (Int) -> Bool) {
        let tag = hash & 0xFFFF_FFFF_0000_0000
        let m = mask[t], base = offset[t]
        slots.withUnsafeBufferPointer { s in
            var i = Int(truncatingIfNeeded: hash) & m
            while true {
                let v = s[base + i]
                if v == 0 { return }
                if v & 0xFFFF_FFFF_0000_0000 == tag, !body(Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1) { return }
                i = (i + 1) & m
            }
        }
    }

    /// Calls `body` with every entry whose network holds the address (hi, lo)
    /// of family IPv4 (`v4`, as IPv4-mapped) or IPv6, longest prefix first.
    @inline(__always)
    func lookup(hi h: UInt64, lo l: UInt64, v4: Bool, _ body: (Int) -> Void) {
        if v4 {
            guard !v4Filter.isEmpty else { return }
            let b = Int(truncatingIfNeeded: l & 0xFFFF_FFFF) >> 8
            guard v4Filter[b >> 6] & (1 << UInt64(b & 63)) != 0 else { return }
        }
        for t in v4 ? v4Tables : v6Tables {
            let p = UInt8(v4 ? 96 + t : t - 33)
            let (mh, ml) = Self.masks(p)
            let nh = h & mh, nl = l & ml
            forEach(table: t, hash: IndicatorHash.address(hi: nh, lo: nl, prefix: p)) { e in
                if hi[e] == nh && lo[e] == nl && prefix[e] == p { body(e) }
                return true
            }
        }
    }
}

/// Names, URLs and fingerprints: lower-cased bytes in one arena, each
/// entry its offset and length there, one hash index over (kind, bytes).
struct StringTable: Sendable {
    var arena: [UInt8] = []
    var offset: [UInt32] = []
    var length: [UInt16] = []
    var meta: [IndicatorMeta] = []
    var index = SlotIndex(expectedEntries: 0)

    var count: Int { offset.count }
    var bytes: Int { arena.count + count * (4 + 2 + MemoryLayout<IndicatorMeta>.stride) + index.bytes }

    mutating func append(_ value: UnsafeBufferPointer<UInt8>, meta m: IndicatorMeta) {
        offset.append(UInt32(arena.count))
        length.append(UInt16(value.count))
        let start = arena.count
        arena.append(contentsOf: value)
        for i in start..<arena.count { arena[i] = IndicatorHash.lower(arena[i]) }
        meta.append(m)
    }

    static func hash(_ kind: IndicatorKind, _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = IndicatorHash.start(kind)
        IndicatorHash.add(&h, a)
        IndicatorHash.add(&h, b)
        return IndicatorHash.finish(h)
    }

    /// Entry `e` holds `a` followed by `b`, compared ASCII-case-insensitively.
    @inline(__always)
    func equals(_ e: Int, _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Int(length[e]) == a.count + b.count else { return false }
        return arena.withUnsafeBufferPointer { ar in
            var p = Int(offset[e])
            for c in a { if ar[p] != IndicatorHash.lower(c) { return false }; p += 1 }
            for c in b { if ar[p] != IndicatorHash.lower(c) { return false }; p += 1 }
            return true
        }
    }

    mutating func buildIndex() -> Int {
        index = SlotIndex(expectedEntries: count)
        var duplicates = 0
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        let arenaCopy = arena
        arenaCopy.withUnsafeBufferPointer { ar in
            for e in 0..<count {
                let v = UnsafeBufferPointer(rebasing: ar[Int(offset[e])..<(Int(offset[e]) + Int(length[e]))])
                let h = Self.hash(meta[e].kind, v, empty)
                var dup = false
                index.forEach(hash: h) { o in
                    if meta[o] == meta[e] && equals(o, v, empty) { dup = true; return false }
                    return true
                }
                if dup { duplicates += 1; continue }
                index.insert(hash: h, entry: e)
            }
        }
        return duplicates
    }

    /// Calls `body` with every entry of `kind` whose value is `a` + `b`.
    @inline(__always)
    func lookup(_ kind: IndicatorKind, _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>,
                _ body: (Int) -> Void) {
        index.forEach(hash: Self.hash(kind, a, b)) { e in
            if meta[e].kind == kind && equals(e, a, b) { body(e) }
            return true
        }
    }

    func text(_ e: Int) -> String {
        String(decoding: arena[Int(offset[e])..<(Int(offset[e]) + Int(length[e]))], as: UTF8.self)
    }
}
