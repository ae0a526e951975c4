import Testing
@testable import Capture

@Suite struct FanoutArgumentTests {
    @Test func groupInLowBitsModeAndFlagsInHigh() {
        // PACKET_FANOUT_HASH = 0, PACKET_FANOUT_FLAG_DEFRAG = 0x8000.
        #expect(LiveCapture.fanoutArgument(groupID: 42, mode: .hash) == 0x8000_002A)
        #expect(LiveCapture.fanoutArgument(groupID: 42, mode: .hash, defrag: false) == 0x0000_002A)
        #expect(LiveCapture.fanoutArgument(groupID: 0xFFFF, mode: .loadBalance, defrag: false) == 0x0001_FFFF)
        #expect(LiveCapture.fanoutArgument(groupID: 7, mode: .cpu) == 0x8002_0007)
    }

    @Test func modesAreTheKernelsValues() {
        // linux/if_packet.h: PACKET_FANOUT_HASH 0, LB 1, CPU 2, ROLLOVER 3, RND 4, QM 5; FLAG_DEFRAG 0x8000.
        let modes: [(FanoutMode, UInt32)] = [(.hash, 0), (.loadBalance, 1), (.cpu, 2), (.rollover, 3),
                                             (.random, 4), (.queueMapping, 5)]
        for (m, v) in modes {
            #expect(m.rawValue == v)
            #expect(LiveCapture.fanoutArgument(groupID: 1, mode: m, defrag: false) == (v << 16) | 1)
            #expect(LiveCapture.fanoutArgument(groupID: 1, mode: m) == ((v | 0x8000) << 16) | 1)
        }
        // Group 0 is a valid id; the whole 16 bits are the group.
        #expect(LiveCapture.fanoutArgument(groupID: 0, mode: .rollover, defrag: false) == 0x0003_0000)
    }
}
