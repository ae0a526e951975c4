import Testing
@testable import Decoding
@testable import Flows

/// The stripe's free list and per-class LRU lists against a plain model
/// (arrays), under random take / move / return operations.
@Suite struct FlowStripeTests {
    @Test func freeListAndLRUListsMatchAModel() {
        var st = StripeState(capacity: 64, histograms: 0)
        defer { st.deallocate() }
        var lists = [[Int32]](repeating: [], count: TimeoutClass.count)
        var rng = SystemRandomNumberGenerator()
        func walk(_ c: Int) -> [Int32] {
            var out: [Int32] = [], h = st.head[c]
            while h >= 0 { out.append(h); h = st.slots[Int(h)].next }
            return out
        }
        for step in 0..<5000 {
            let used = lists.flatMap { $0 }
            let op = Int.random(in: 0..<3, using: &rng)
            if op == 0 && st.freeCount > 0 {
                let i = st.popFree()
                #expect(!used.contains(i), "step \(step): slot \(i) handed out twice")
                let c = Int.random(in: 0..<TimeoutClass.count, using: &rng)
                st.pushTail(i, cls: c)
                lists[c].append(i)
            } else if op == 1, let i = used.randomElement(using: &rng) {
                // Activity: to the tail of a (possibly other) class.
                let from = lists.firstIndex { $0.contains(i) }!
                st.unlink(i)
                lists[from].removeAll { $0 == i }
                let c = Int.random(in: 0..<TimeoutClass.count, using: &rng)
                st.pushTail(i, cls: c)
                lists[c].append(i)
            } else if let i = used.randomElement(using: &rng) {
                let from = lists.firstIndex { $0.contains(i) }!
                st.unlink(i)
                lists[from].removeAll { $0 == i }
                st.pushFree(i)
            }
            for c in 0..<TimeoutClass.count {
                #expect(walk(c) == lists[c], "step \(step): class \(c)")
                #expect(st.tail[c] == (lists[c].last ?? -1))
            }
            #expect(st.freeCount + lists.reduce(0) { $0 + $1.count } == 64)
        }
    }
}
