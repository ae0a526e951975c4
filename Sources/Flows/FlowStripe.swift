import CPrefetch
import Features
import Locking

/// One stripe's state, guarded by the stripe's lock. Slots, index and free
/// list are allocated once at start-up and addressed through pointers: no
/// copy-on-write checks, no reference counting and no slot copies on the
/// packet path. Slot numbers come only from the stripe's own index, LRU
/// lists and free list, all below `capacity`.
///
/// With `prefault` the slots and index are written once at start-up, so no
/// page of them is first touched (faulted in, cleared by the kernel) on the
/// packet path when a flood fills the table (live capture). Without it
/// (replay) nothing is written before it is used: a slot is initialised
/// when it is first handed out, the index starts as the zero pages the
/// kernel gives, and a capture that holds a few thousand flows at once
/// never pays for the table's full size.
struct StripeState: @unchecked Sendable {
    let slots: UnsafeMutablePointer<FlowSlot>
    let capacity: Int
    let index: FlowIndex
    /// Recycled slots (handed out and returned), a stack of `stacked`.
    let free: UnsafeMutablePointer<Int32>
    var stacked = 0
    /// Slots `untouched..<capacity` were never handed out; they are free too
    /// and go out in ascending order once the stack is empty.
    var untouched = 0
    /// Free slots: the stack and the never-used ones.
    var freeCount: Int
    /// Every slot was initialised at start-up (`prefault`).
    let slotsInitialised: Bool
    var head = InlineArray<9, Int32>(repeating: -1)
    var tail = InlineArray<9, Int32>(repeating: -1)
    var pool: ByteHistogramPool
    var streams: StreamPrefixPool
    var counters = FlowCounters()
    var active = 0

    init(capacity: Int, histograms: Int, streams streamCapacity: Int = 0, prefixBytes: Int = 0, prefault: Bool = true) {
        self.capacity = capacity
        slots = LargeAllocation.allocate(FlowSlot.self, count: capacity)
        slotsInitialised = prefault
        if prefault { slots.initialize(repeating: Self.emptySlot, count: capacity) }
        index = FlowIndex(capacity: capacity, prefault: prefault)
        free = .allocate(capacity: capacity)
        freeCount = capacity
        pool = ByteHistogramPool(capacity: histograms, prefault: prefault)
        streams = StreamPrefixPool(capacity: streamCapacity, prefixBytes: prefixBytes)
    }

    static var emptySlot: FlowSlot { FlowSlot(key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0)) }

    func deallocate() {
        slots.deinitialize(count: slotsInitialised ? capacity : untouched)
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
    /// Recycled slots go out first, most recently returned first; then the
    /// never-used ones in ascending order (the order a stack filled with
    /// every slot, 0 on top, would give).
    @inline(__always)
    mutating func popFree() -> Int32 {
        precondition(freeCount > 0)
        freeCount -= 1
        let i: Int32
        if stacked > 0 {
            stacked -= 1
            i = free[stacked]
        } else {
            i = Int32(truncatingIfNeeded: untouched)
            if !slotsInitialised { (slots + untouched).initialize(to: Self.emptySlot) }
            untouched += 1
        }
        if stacked > 0 {
            fs_prefetch_write_range(slots + Int(free[stacked - 1]), 512)
        } else if untouched < capacity {
            fs_prefetch_write_range(slots + untouched, 512)
        }
        return i
    }

    @inline(__always)
    mutating func pushFree(_ i: Int32) {
        precondition(freeCount < capacity)
        free[stacked] = i
        stacked += 1
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
