#if canImport(Glibc)
import Glibc
#endif

/// A stripe's key index: open addressing with linear probing over
/// `UInt64` entries (0 = empty, else a 32-bit tag of the key's hash and the
/// slot number + 1). The tag's low bits are the home position, so deletion
/// shifts entries back instead of leaving tombstones; the key itself is
/// compared in the slot only when a tag matches. At most half full.
struct FlowIndex {
    /// `mask + 1` entries, allocated once (freed by `deallocate`).
    let table: UnsafeMutablePointer<UInt64>
    let mask: Int

    /// `prefault`: writes every entry now (see `StripeState`); otherwise the
    /// entries are the zeroed memory `calloc` returns, which for a large
    /// index are pages the kernel clears when first touched.
    init(capacity: Int, prefault: Bool = true) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        guard let zeroed = calloc(n, MemoryLayout<UInt64>.stride) else {
            fatalError("flow index: cannot allocate \(n) entries")
        }
        table = zeroed.bindMemory(to: UInt64.self, capacity: n)
        if prefault { table.initialize(repeating: 0, count: n) }
        mask = n - 1
    }

    func deallocate() { Glibc.free(table) }

    @inline(__always) static func tag(_ hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }

    @inline(__always) func home(_ tag: UInt32) -> Int { Int(tag) & mask }

    @inline(__always) static func entry(_ tag: UInt32, _ idx: Int32) -> UInt64 {
        UInt64(tag) << 32 | UInt64(UInt32(bitPattern: idx &+ 1))
    }

    func insert(tag: UInt32, idx: Int32) {
        var i = home(tag)
        while table[i] != 0 { i = (i + 1) & mask }
        table[i] = Self.entry(tag, idx)
    }

    func remove(tag: UInt32, idx: Int32) {
        let want = Self.entry(tag, idx)
        var i = home(tag)
        var guardCount = 0
        while table[i] != want {
            if table[i] == 0 || guardCount > mask { return }  // not present
            i = (i + 1) & mask
            guardCount += 1
        }
        // Backward-shift deletion: move later entries of the run whose home
        // is not in (i, j] into the hole.
        var j = i
        while true {
            j = (j + 1) & mask
            let e = table[j]
            if e == 0 { break }
            let h = Int(UInt32(truncatingIfNeeded: e >> 32)) & mask
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !stays { table[i] = e; i = j }
        }
        table[i] = 0
    }
}
