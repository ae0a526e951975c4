import CPcap
import Testing
@testable import Capture
#if canImport(Glibc)
import Glibc
#endif

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

    @Test func loopbackFlagsAreTheKernelsIFFBits() throws {
        // linux/if.h: IFF_UP 0x1, IFF_LOOPBACK 0x8, IFF_RUNNING 0x40.
        let f = try InterfaceInfo.flags(interface: "lo")
        #expect(f & 0x1 != 0 && f & 0x8 != 0)
        #expect(UInt32(FS_IFF_UP) == 0x1)
    }

    @Test func offloadsDescriptionAndWarningText() {
        #expect(InterfaceOffloads().description == "gro unknown, lro unknown, gso unknown, tso unknown")
        #expect(InterfaceOffloads(gro: true, lro: false, gso: true, tso: false).description
                == "gro on, lro off, gso on, tso off")
        #expect(InterfaceOffloads().warning(interface: "eth0") == nil)
        // GSO and TSO change what is sent, not what is captured on receive: no warning.
        #expect(InterfaceOffloads(gro: false, lro: false, gso: true, tso: true).warning(interface: "eth0") == nil)
        let both = InterfaceOffloads(gro: true, lro: true).warning(interface: "eth0")
        #expect(both?.hasPrefix("eth0: gro and lro on:") == true)
        let lro = InterfaceOffloads(gro: nil, lro: true).warning(interface: "ens3")
        #expect(lro?.hasPrefix("ens3: lro on:") == true)
        #expect(lro?.contains("ethtool -K ens3 gro off lro off") == true)
    }
}
