import CPrefetch
import Features
import Locking

/// One stripe's state, guarded by the stripe's lock. Slots, index and free
/// list are allocated once at start-up and addressed through pointers: no
/// copy-on-write checks, no reference counting and no slot copies on the
/// packet path. Slot numbers come only from the stripe's own index, LRU
/// lists and free list, all below `capacity`.
struct StripeState: @unchecked Sendable {
    let slots: UnsafeMutablePointer<FlowSlot>
    let capacity: Int
    let index: FlowIndex
    /// Free slots, a stack of `freeCount`.
    let free: UnsafeMutablePointer<Int32>
    var freeCount: Int
    var head = InlineArray<9, Int32>(repeating: -1)
    var tail = InlineArray<9, Int32>(repeating: -1)
    var pool: ByteHistogramPool
    var streams: StreamPrefixPool
    var counters = FlowCounters()
    var active = 0

    init(capacity: Int, histograms: Int, streams streamCapacity: Int = 0, prefixBytes: Int = 0) {
        let empty = FlowSlot(key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0))
        self.capacity = capacity
        slots = LargeAllocation.allocate(FlowSlot.self, count: capacity)
        slots.initialize(repeating: empty, count: capacity)
        index = FlowIndex(capacity: capacity)
        free = .allocate(capacity: capacity)
        for i in 0..<capacity { free[i] = Int32(capacity - 1 - i) }
        freeCount = capacity
        pool = ByteHistogramPool(capacity: histograms)
        streams = StreamPrefixPool(capacity: streamCapacity, prefixBytes: prefixBytes)
    }

    func deallocate() {
        slots.deinitialize(count: capacity)
        slots.deallocate()
        index.deallocate()
        free.deallocate()
    }

    /// The slot holding `key`, or nil.
    @inline(__always)
    func find(_ key: FlowKey, tag: UInt32) -> Int32? {
        var i = index.home(tag)
        while true {
            let e = index.table[i]
            if e == 0 { return nil }
            if UInt32(truncatingIfNeeded: e >> 32) == tag {
                let idx = Int32(truncatingIfNeeded: e & 0xFFFF_FFFF) &- 1
                if slots[Int(idx)].key == key { return idx }
            }
            i = (i + 1) & index.mask
        }
    }

    /// Takes a free slot, and starts loading the first lines of the one the
    /// stripe's next new flow will take (what a new flow writes: its header,
    /// counters and first statistics), so a flood's new flows do not each
    /// wait for those lines.
    @inline(__always)
    mutating func popFree() -> Int32 {
        freeCount -= 1
        if freeCount > 0 { fs_prefetch_write_range(slots + Int(free[freeCount - 1]), 512) }
        return free[freeCount]
    }

    @inline(__always)
    mutating func pushFree(_ i: Int32) {
        precondition(freeCount < capacity)
        free[freeCount] = i
        freeCount += 1
    }

    @inline(__always)
    mutating func unlink(_ i: Int32) {
        let s = slots + Int(i)
        let c = Int(s.pointee.cls)
        let p = s.pointee.prev, n = s.pointee.next
        if p >= 0 { slots[Int(p)].next = n } else { head[c] = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tail[c] = p }
        s.pointee.prev = -1
        s.pointee.next = -1
    }

    @inline(__always)
    mutating func pushTail(_ i: Int32, cls c: Int) {
        let s = slots + Int(i)
        let t = tail[c]
        s.pointee.cls = UInt8(c)
        s.pointee.prev = t
        s.pointee.next = -1
        if t >= 0 { slots[Int(t)].next = i } else { head[c] = i }
        tail[c] = i
    }
}
