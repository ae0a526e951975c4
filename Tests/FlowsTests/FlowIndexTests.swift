import Testing
@testable import Flows

/// The stripe index against a dictionary: random inserts and removals with
/// many shared home positions (tags chosen from a small set of homes), so
/// backward-shift deletion runs across wrapped clusters.
@Suite struct FlowIndexTests {
    @Test func matchesADictionaryUnderRandomInsertsAndRemovals() {
        let index = FlowIndex(capacity: 64)  // 128 positions
        defer { index.deallocate() }
        var truth: [Int32: UInt32] = [:]
        var rng = SystemRandomNumberGenerator()
        func lookup(_ tag: UInt32, _ idx: Int32) -> Bool {
            var i = index.home(tag)
            while index.table[i] != 0 {
                if index.table[i] == FlowIndex.entry(tag, idx) { return true }
                i = (i + 1) & index.mask
            }
            return false
        }
        for step in 0..<20_000 {
            if truth.count < 64 && (truth.isEmpty || Bool.random(using: &rng)) {
                var idx = Int32.random(in: 0..<64, using: &rng)
                while truth[idx] != nil { idx = (idx + 1) % 64 }
                // Homes 120…127 and 0…3: clusters that wrap around the end.
                let home = UInt32([120, 121, 126, 127, 0, 1, 3].randomElement(using: &rng)!)
                let tag = UInt32.random(in: 0..<(1 << 20), using: &rng) << 7 | home
                index.insert(tag: tag, idx: idx)
                truth[idx] = tag
            } else {
                let (idx, tag) = truth.randomElement(using: &rng)!
                index.remove(tag: tag, idx: idx)
                truth[idx] = nil
            }
            if step % 97 == 0 || truth.count == 64 {
                for (idx, tag) in truth { #expect(lookup(tag, idx), "step \(step): slot \(idx) lost") }
                #expect((0...index.mask).filter { index.table[$0] != 0 }.count == truth.count)
            }
        }
    }
}
