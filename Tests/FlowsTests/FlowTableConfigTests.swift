import Testing
@testable import Flows

@Suite struct FlowTableConfigTests {
    @Test func theDefaultsAreValid() throws {
        try FlowTableConfig().validate()
    }

    @Test func eachBadSettingIsNamed() {
        func failing(_ change: (inout FlowTableConfig) -> Void) -> FlowTableConfigError.Setting? {
            var c = FlowTableConfig()
            change(&c)
            do throws(FlowTableConfigError) { try c.validate() } catch { return error.setting }
            return nil
        }
        #expect(failing { $0.udpEstablishedTimeout = 0 } == .udpEstablishedTimeout)
        #expect(failing { $0.setIdleTimeout(-1) } == .tcpNewTimeout)
        #expect(failing { $0.activeTimeout = .nan } == .activeTimeout)
        #expect(failing { $0.tcpClosedLinger = -0.5 } == .tcpLinger)
        #expect(failing { $0.tcpClosedLinger = 0 } == nil)  // no linger is allowed
        #expect(failing { $0.maxFlows = 0 } == .maxFlows)
        #expect(failing { $0.stripes = 6 } == .stripes)
        #expect(failing { $0.stripes = 8192 } == .stripes)
        #expect(failing { $0.maxFlows = 8; $0.stripes = 16 } == .stripes)
        // Each setting alone is in range there: only the combination is wrong.
        var combination = FlowTableConfig()
        combination.maxFlows = 8
        #expect(throws: Never.self) { try combination.validateEach() }
        #expect(failing { $0.features.entropyPrefixBytes = 65536 } == .entropyPrefix)
        // Every setting has a distinct config key, and a flag.
        let keys = FlowTableConfigError.Setting.allCases.map(\.configKey)
        #expect(Set(keys).count == keys.count)
        #expect(FlowTableConfigError.Setting.allCases.allSatisfy { $0.flag.hasPrefix("--") })
    }

    @Test func overridesChangeOnlyWhatIsGiven() {
        var base = FlowTableConfig()
        base.tcpEstablishedTimeout = 900
        base.maxFlows = 2048
        #expect(base.applying(FlowTableConfig.Overrides()) == base)

        var o = FlowTableConfig.Overrides()
        o.stripes = 4
        o.entropyPrefix = 64
        var c = base.applying(o)
        #expect(c.stripes == 4 && c.features.entropyPrefixBytes == 64)
        #expect(c.maxFlows == 2048 && c.tcpEstablishedTimeout == 900 && c.activeTimeout == base.activeTimeout)

        o = FlowTableConfig.Overrides()
        o.idleTimeout = 7
        o.tcpLinger = 1
        c = base.applying(o)
        let idle = [c.tcpNewTimeout, c.tcpEstablishedTimeout, c.udpNewTimeout, c.udpEstablishedTimeout,
                    c.icmpNewTimeout, c.icmpEstablishedTimeout, c.otherNewTimeout, c.otherEstablishedTimeout]
        #expect(idle.allSatisfy { $0 == 7 })
        #expect(c.tcpClosedLinger == 1)  // the linger is not an idle timeout
        #expect(c.longestIdleTimeoutNs == 7_000_000_000)
    }
}
