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

extension LargeAllocation {
    /// `count` copies of `value`, for a table that is mostly never touched
    /// (a replay that holds far fewer entries than the table's capacity).
    /// When `value` is all zero bytes and `T` is trivial, the memory comes
    /// from `calloc`, which for a large table is pages the kernel clears when
    /// they are first touched: nothing is written now. Otherwise every entry
    /// is written here. Freed with the pointer's `deallocate()` (on Linux the
    /// Swift runtime frees with `free` what it allocates with `malloc`, for
    /// alignments up to 16, the only ones taken by the `calloc` path).
    public static func allocateFilled<T>(repeating value: T, count: Int) -> UnsafeMutablePointer<T> {
        if _isPOD(T.self) && MemoryLayout<T>.alignment <= 16 && withUnsafeBytes(of: value, { $0.allSatisfy { $0 == 0 } }) {
            return allocateZeroed(T.self, count: count)
        }
        let p = UnsafeMutablePointer<T>.allocate(capacity: count)
        p.initialize(repeating: value, count: count)
        return p
    }
}

extension LargeAllocation {
    /// `count` entries of a trivial type whose every field is zero when the
    /// entry is empty, from `calloc`: for a large table, pages the kernel
    /// clears when first touched, so nothing is written now. (Unlike
    /// `allocateFilled` this does not compare an empty value's bytes, which
    /// for a struct with padding are not all defined.) Freed with the
    /// pointer's `deallocate()` (see `allocateFilled`).
    public static func allocateZeroed<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        precondition(_isPOD(T.self) && MemoryLayout<T>.alignment <= 16, "allocateZeroed: \(T.self) is not trivial")
        #if canImport(Glibc)
        if let raw = calloc(Swift.max(1, count), MemoryLayout<T>.stride) {
            return raw.bindMemory(to: T.self, capacity: count)
        }
        #endif
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count) * MemoryLayout<T>.stride,
                                                   alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(1, count) * MemoryLayout<T>.stride)
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
