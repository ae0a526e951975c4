import Foundation
import Testing
@testable import Decoding
@testable import Context
@testable import Features

@Suite struct EntropyTests {
    @Test func knownDistributions() {
        #expect(Entropy.bits(counts: [5]) == 0)
        #expect(abs(Entropy.bits(counts: [3, 3]) - 1) < 1e-12)
        #expect(abs(Entropy.bits(counts: [1, 1, 1, 1]) - 2) < 1e-12)
        // p = (3/4, 1/4): −(.75·log2 .75 + .25·log2 .25) = 0.811278…
        #expect(abs(Entropy.bits(counts: [6, 2]) - 0.8112781244591328) < 1e-12)
        #expect(Entropy.bits(counts: [Int]()) == 0)
        #expect(abs(Entropy.bits(counts: [UInt16](repeating: 4, count: 256)) - 8) < 1e-12)
    }

    @Test func flagComboEntropyWithOverflow() {
        var c = FlagComboCounts()
        for f: UInt8 in [0x02, 0x12, 0x10, 0x11] { c.add(f) }
        #expect(abs(c.entropyBits - 2) < 1e-12)
        // Ten distinct combinations: eight exact bins, two folded into one.
        var d = FlagComboCounts()
        for f in UInt8(0)..<10 { d.add(f) }
        let expected = Entropy.bits(counts: [1, 1, 1, 1, 1, 1, 1, 1, 2])
        #expect(abs(d.entropyBits - expected) < 1e-12)
    }
}
