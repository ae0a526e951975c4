import CPcap
import Testing
@testable import Capture
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CaptureStatsTests {
    @Test func advanceWithoutWrap() {
        #expect(CaptureStatsAccumulator.advance(10, from: 5, to: 9) == 14)
        #expect(CaptureStatsAccumulator.advance(0, from: 0, to: 0) == 0)
    }

    @Test func advanceAcrossTwoToThe32() {
        // 2^32 - 100 → 50 is a step of 150 across the wrap.
        #expect(CaptureStatsAccumulator.advance(1_000, from: UInt32.max - 99, to: 50) == 1_150)
        #expect(CaptureStatsAccumulator.advance(0, from: UInt32.max, to: 0) == 1)
    }

    @Test func runningTotalsKeepCountingPastTheWrap() {
        var acc = CaptureStatsAccumulator()
        acc.update(received: 4_000_000_000, dropped: 10, ifDropped: 0)
        acc.update(received: UInt32.max, dropped: 4_294_967_290, ifDropped: 1)
        let t = acc.update(received: 1_000, dropped: 5, ifDropped: 1)
        #expect(t.received == (1 << 32) + 1_000)
        #expect(t.dropped == (1 << 32) + 5)
        #expect(t.ifDropped == 1)
        // A second wrap of received, polled in time.
        acc.update(received: 3_000_000_000, dropped: 5, ifDropped: 1)
        let t2 = acc.update(received: 7, dropped: 5, ifDropped: 1)
        #expect(t2.received == (2 << 32) + 7)
        #expect(t2.dropped == (1 << 32) + 5)
    }
}

@Suite struct LiveCaptureErrorTests {
    @Test func permissionDeniedSaysHowToGrantCapNetRaw() {
        let e = LiveCaptureError.activationFailure(interface: "eth1", code: PCAP_ERROR_PERM_DENIED,
                                                   message: "socket: Operation not permitted")
        #expect(e == .permissionDenied(interface: "eth1", reason: "socket: Operation not permitted"))
        let text = e.description
        #expect(text.hasPrefix("eth1: permission denied"))
        #expect(text.contains("CAP_NET_RAW"))
        #expect(text.contains("setcap cap_net_raw"))
        #expect(text.contains("flowsentry@"))
        #expect(!e.isInterfaceUnavailable)
    }

    @Test func promiscuousPermissionDenied() {
        let e = LiveCaptureError.activationFailure(interface: "eth1", code: PCAP_ERROR_PROMISC_PERM_DENIED, message: "")
        guard case .promiscuousPermissionDenied = e else { Issue.record("got \(e)"); return }
        #expect(e.description.contains("CAP_NET_RAW"))
    }

    @Test func missingAndDownInterfacesAreRetryable() {
        let missing = LiveCaptureError.activationFailure(interface: "eth9", code: PCAP_ERROR_NO_SUCH_DEVICE, message: "No such device exists")
        #expect(missing == .noSuchInterface(interface: "eth9", reason: "No such device exists"))
        #expect(missing.isInterfaceUnavailable)
        #expect(missing.description.hasPrefix("eth9: no such interface"))
        let down = LiveCaptureError.activationFailure(interface: "eth9", code: PCAP_ERROR_IFACE_NOT_UP, message: "")
        guard case .interfaceNotUp = down else { Issue.record("got \(down)"); return }
        #expect(down.isInterfaceUnavailable)
        #expect(LiveCaptureError.interfaceGone(interface: "eth9", reason: "x").isInterfaceUnavailable)
        #expect(LiveCaptureError.interfaceGone(interface: "eth9", reason: "x").interface == "eth9")
    }

    @Test func otherActivationErrorsNameTheStatus() {
        let e = LiveCaptureError.activationFailure(interface: "wlan0", code: PCAP_ERROR_RFMON_NOTSUP, message: "")
        guard case .cannotOpen = e else { Issue.record("got \(e)"); return }
        #expect(e.description.hasPrefix("wlan0: cannot open interface"))
    }
}

@Suite struct FanoutArgumentTests {
    @Test func groupInLowBitsModeAndFlagsInHigh() {
        // PACKET_FANOUT_HASH = 0, PACKET_FANOUT_FLAG_DEFRAG = 0x8000.
        #expect(LiveCapture.fanoutArgument(groupID: 42, mode: .hash) == 0x8000_002A)
        #expect(LiveCapture.fanoutArgument(groupID: 42, mode: .hash, defrag: false) == 0x0000_002A)
        #expect(LiveCapture.fanoutArgument(groupID: 0xFFFF, mode: .loadBalance, defrag: false) == 0x0001_FFFF)
        #expect(LiveCapture.fanoutArgument(groupID: 7, mode: .cpu) == 0x8002_0007)
    }
}

@Suite struct InterfaceInfoTests {
    @Test func loopbackExistsAndIsUp() throws {
        #expect(InterfaceInfo.exists(interface: "lo"))
        #expect(try InterfaceInfo.isUp(interface: "lo"))
        #expect(!InterfaceInfo.exists(interface: "fsnone\(getpid())"))
    }

    @Test func unknownInterfaceQueriesThrowNoSuchInterface() {
        #expect(throws: LiveCaptureError.self) { try InterfaceInfo.offloads(interface: "fsnone\(getpid())") }
        do {
            _ = try InterfaceInfo.isUp(interface: "fsnone\(getpid())")
            Issue.record("expected an error")
        } catch {
            #expect(error.isInterfaceUnavailable)
        }
    }

    @Test func offloadWarningNamesInterfaceAndFix() {
        #expect(InterfaceOffloads(gro: false, lro: false).warning(interface: "eth1") == nil)
        let w = InterfaceOffloads(gro: true, lro: nil).warning(interface: "eth1")
        #expect(w?.contains("ethtool -K eth1 gro off lro off") == true)
        #expect(InterfaceOffloads(gro: false, lro: true).mergesReceivedPackets)
    }
}
