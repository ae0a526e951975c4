import Foundation
import Sensor
import Testing
import Flows

@Suite struct SensorConfigTests {
    @Test func flagsOverrideTheFile() throws {
        let file = try SensorConfig.parse(yaml: """
            sensor_name: from-file
            capture: {interface: eth1, workers: 2, bpf_filter: "port 53", promiscuous: true}
            outputs: {flows: f.json, alerts: a.json}
            flow: {idle_timeout: 100, active_timeout: 900, max_flows: 2048}
            """)
        var o = SensorOverrides()
        o.interface = "eth9"
        o.workers = 3
        o.filterFile = "/etc/f.bpf"
        o.noPromisc = true
        o.flow.idleTimeout = 7
        o.alerts = ""
        let c = file.applying(o)
        #expect(c.interface == "eth9" && c.workers == 3 && !c.promiscuous)
        // A filter of either kind on the command line replaces the file's.
        #expect(c.bpfFilter == nil && c.bpfFilterFile == "/etc/f.bpf")
        #expect(c.flow.udpEstablishedTimeout == 7 && c.flow.tcpNewTimeout == 7)
        #expect(c.alerts == nil)  // '' disables
        // Not given on the command line: the file's values stay.
        #expect(c.sensorName == "from-file" && c.flow.activeTimeout == 900 && c.flow.maxFlows == 2048 && c.flows == "f.json")
        // No flags at all: the file unchanged.
        #expect(file.applying(SensorOverrides()) == file)
    }

    @Test func aBadFlowSettingIsNamedByItsConfigKey() {
        var c = SensorConfig()
        c.interface = "eth0"
        c.flows = "f.json"
        c.flow.maxFlows = 8
        #expect(throws: SensorConfigError(file: nil, key: "flow.stripes",
                                          reason: "(16) cannot be more than the flows held at once (8)")) {
            try c.validate()
        }
    }

    @Test func validationCatchesBadCombinations() {
        var c = SensorConfig()
        c.flows = "f.json"
        #expect(throws: SensorConfigError.self) { try c.validate() }  // no interface
        c.interface = "eth0"
        #expect(throws: Never.self) { try c.validate() }
        var d = c
        d.bpfFilter = "tcp"
        d.bpfFilterFile = "/x"
        #expect(throws: SensorConfigError.self) { try d.validate() }
        d = c
        d.flows = nil
        #expect(throws: SensorConfigError.self) { try d.validate() }  // no output at all
        d = c
        d.flow.stripes = 256
        d.flow.maxFlows = 128
        #expect(throws: SensorConfigError.self) { try d.validate() }
    }

    @Test func filterFileSkipsComments() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fs-filter-\(getpid()).bpf").path
        try "# mine\nnot port 22\n  and not port 9200\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = SensorConfig()
        c.bpfFilterFile = path
        #expect(try c.resolvedFilter() == "not port 22 and not port 9200")
        c.bpfFilterFile = "/nonexistent/f.bpf"
        #expect(throws: SensorConfigError.self) { try c.resolvedFilter() }
    }
}
