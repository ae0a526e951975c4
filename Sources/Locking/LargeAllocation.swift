#if canImport(Glibc)
import Glibc
#endif

/// Memory for the sensor's large fixed tables (flow slots, host context):
/// allocated once, aligned to 2 MiB and, when at least that big, marked for
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`, which takes effect when
/// the kernel's THP mode is `always` or `madvise`). A flood touches these
/// tables at random; with 4 KiB pages nearly every new flow also misses the
/// TLB. Freed with the pointer's `deallocate()`.
public enum LargeAllocation {
    public static let hugePage = 2 << 20

    /// Uninitialised memory for `count` values of `T`.
    public static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        allocateRaw(byteCount: max(1, count * MemoryLayout<T>.stride), alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: count)
    }

    /// Uninitialised raw memory of `bytes` bytes, aligned to at least `alignment`.
    public static func allocateRaw(byteCount bytes: Int, alignment: Int) -> UnsafeMutableRawPointer {
        guard bytes >= hugePage else { return .allocate(byteCount: bytes, alignment: alignment) }
        let rounded = (bytes + hugePage - 1) / hugePage * hugePage
        let raw = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: max(alignment, hugePage))
        #if canImport(Glibc)
        _ = madvise(raw, rounded, MADV_HUGEPAGE)
        #endif
        return raw
    }
}
