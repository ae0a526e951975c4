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
/// network and prefix length; one hash index over all of them, and the
/// prefix lengths present, so a lookup probes once per length in use.
struct AddressTable: Sendable {
    var hi: [UInt64] = []
    var lo: [UInt64] = []
    var prefix: [UInt8] = []
    var meta: [IndicatorMeta] = []
    var index = SlotIndex(expectedEntries: 0)
    /// The prefix lengths present, longest first.
    var prefixLengths: [UInt8] = []

    var count: Int { hi.count }
    var bytes: Int { count * (8 + 8 + 1 + MemoryLayout<IndicatorMeta>.stride) + index.bytes }

    @inline(__always)
    static func masks(_ p: UInt8) -> (UInt64, UInt64) {
        if p == 0 { return (0, 0) }
        if p <= 64 { return (~UInt64(0) << UInt64(64 - p), 0) }
        if p == 128 { return (~UInt64(0), ~UInt64(0)) }
        return (~UInt64(0), ~UInt64(0) << UInt64(128 - p))
    }

    mutating func append(hi h: UInt64, lo l: UInt64, prefix p: UInt8, meta m: IndicatorMeta) {
        let (mh, ml) = Self.masks(p)
        hi.append(h & mh); lo.append(l & ml); prefix.append(p); meta.append(m)
    }

    /// Builds the index; entries equal to an earlier one in value, kind and
    /// source are left out of it. Returns how many were left out.
    mutating func buildIndex() -> Int {
        index = SlotIndex(expectedEntries: count)
        var duplicates = 0
        var lengths = Set<UInt8>()
        for e in 0..<count {
            let h = IndicatorHash.address(hi: hi[e], lo: lo[e], prefix: prefix[e])
            var dup = false
            index.forEach(hash: h) { o in
                if hi[o] == hi[e] && lo[o] == lo[e] && prefix[o] == prefix[e] && meta[o] == meta[e] { dup = true; return false }
                return true
            }
            if dup { duplicates += 1; continue }
            index.insert(hash: h, entry: e)
            lengths.insert(prefix[e])
        }
        prefixLengths = lengths.sorted(by: >)
        return duplicates
    }

    /// Calls `body` with every entry whose network holds the address (hi, lo).
    @inline(__always)
    func lookup(hi h: UInt64, lo l: UInt64, _ body: (Int) -> Void) {
        for p in prefixLengths {
            let (mh, ml) = Self.masks(p)
            let nh = h & mh, nl = l & ml
            index.forEach(hash: IndicatorHash.address(hi: nh, lo: nl, prefix: p)) { e in
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
        for c in value { arena.append(IndicatorHash.lower(c)) }
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
