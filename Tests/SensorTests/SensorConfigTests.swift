import Foundation
import Sensor
import Testing
import Flows

@Suite struct SensorConfigTests {
    @Test func goodFileLoadsEveryKey() throws {
        let c = try SensorConfig.parse(yaml: """
            sensor_name: s1
            stats_interval: 2.5
            capture:
              interface: eth7
              snaplen: 1500
              promiscuous: false
              buffer_mb: 128
              timeout_ms: 20
              bpf_filter: "not port 22"
              workers: 4
              fanout_group: 77
              warn_offloads: no
            outputs:
              directory: /var/log/fs
              alerts: a.json
              flows: /abs/f.json
              stats: ""
              file_mode: "0600"
              community_id_seed: 9
              sequence: false
              queue_capacity: 1_000
              output_spin_us: 0
            flow:
              idle_timeouts:
                tcp_established: 900
                udp_new: 12.5
              active_timeout: 60
              tcp_linger: 0
              max_flows: 4096
              stripes: 8
              entropy_prefix: 64
            detection:
              model: /m.fsm
            """, file: "t.yaml")
        #expect(c.sensorName == "s1")
        #expect(c.statsInterval == 2.5)
        #expect(c.interface == "eth7")
        #expect(c.snaplen == 1500 && !c.promiscuous && c.bufferMB == 128 && c.timeoutMs == 20)
        #expect(c.bpfFilter == "not port 22")
        #expect(c.workers == 4 && c.fanoutGroup == 77 && !c.warnOffloads)
        #expect(c.outputPath(c.alerts) == "/var/log/fs/a.json")
        #expect(c.outputPath(c.flows) == "/abs/f.json")
        #expect(c.stats == nil)
        #expect(c.fileMode == 0o600 && c.communityIDSeed == 9 && !c.includeSequence && c.queueCapacity == 1000)
        #expect(c.outputSpinMicros == 0 && SensorConfig().outputSpinMicros == 250)
        #expect(c.flow.tcpEstablishedTimeout == 900 && c.flow.udpNewTimeout == 12.5 && c.flow.tcpNewTimeout == 60)
        #expect(c.flow.activeTimeout == 60 && c.flow.tcpClosedLinger == 0 && c.flow.maxFlows == 4096
                && c.flow.stripes == 8 && c.flow.features.entropyPrefixBytes == 64)
        #expect(c.modelPath == "/m.fsm")
        try c.validate()
    }

    @Test func emptyFileIsAllDefaults() throws {
        let c = try SensorConfig.parse(yaml: "# nothing\n", file: "e.yaml")
        #expect(c == SensorConfig())
    }

    @Test func shippedExampleLoadsAndValidates() throws {
        let path = Repo.root.appendingPathComponent("systemd/flowsentry.yaml.example").path
        let c = try SensorConfig.load(path: path)
        #expect(c.interface == "eth1")
        #expect(c.outputPath(c.alerts) == "/var/log/flowsentry/alerts.json")
        #expect(c.bpfFilter == nil && c.bpfFilterFile == nil)
        try c.validate()
    }

    func error(_ yaml: String) -> String {
        do {
            _ = try SensorConfig.parse(yaml: yaml, file: "flowsentry.yaml")
            return "no error"
        } catch { return error.description }
    }

    @Test func badValuesNameFileKeyAndReason() {
        #expect(error("flow:\n  idle_timeouts:\n    tcp_established: abc\n")
            == #"flowsentry.yaml: flow.idle_timeouts.tcp_established: must be a positive number of seconds (got "abc")"#)
        #expect(error("capture:\n  workers: 0\n").hasPrefix("flowsentry.yaml: capture.workers: must be a whole number"))
        #expect(error("capture:\n  promiscuous: maybe\n")
            == #"flowsentry.yaml: capture.promiscuous: must be true or false (got "maybe")"#)
        #expect(error("outputs:\n  file_mode: \"0999\"\n").hasPrefix("flowsentry.yaml: outputs.file_mode: must be an octal file mode"))
        #expect(error("flow:\n  stripes: 6\n").hasPrefix("flowsentry.yaml: flow.stripes: must be a power of two"))
        #expect(error("flow:\n  tcp_linger: -1\n").hasPrefix("flowsentry.yaml: flow.tcp_linger: must be a number of seconds, 0 or more"))
        #expect(error("capture: [1, 2]\n").hasPrefix("flowsentry.yaml: capture: must be a mapping"))
        #expect(error("capture:\n  snaplen: {a: 1}\n").hasPrefix("flowsentry.yaml: capture.snaplen: must be a whole number"))
        #expect(error("stats_interval: 0\n").hasPrefix("flowsentry.yaml: stats_interval: must be a positive number"))
        #expect(error("capture: {workers: 2, workers: 3}\n") == "flowsentry.yaml: capture.workers: duplicate key")
        #expect(error("capture: [\n").hasPrefix("flowsentry.yaml: not valid YAML"))
        #expect(error("outputs:\n  output_spin_us: 200000\n").hasPrefix("flowsentry.yaml: outputs.output_spin_us: must be a number of microseconds between 0 and 100000 (got \"200000\")"))
    }

    @Test func unknownKeysAreRejectedAtEveryLevel() {
        #expect(error("sensor: x\n").hasPrefix("flowsentry.yaml: sensor: unknown key (allowed here: sensor_name,"))
        #expect(error("capture:\n  wrokers: 2\n").hasPrefix("flowsentry.yaml: capture.wrokers: unknown key (allowed here: interface,"))
        #expect(error("flow:\n  idle_timeouts:\n    tcp: 5\n").hasPrefix("flowsentry.yaml: flow.idle_timeouts.tcp: unknown key"))
        #expect(error("prometheus:\n  enabled: false\n").hasPrefix("flowsentry.yaml: prometheus: unknown key"))
    }

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

    @Test func oneIdleTimeoutReplacesEveryClassWhereverItStands() throws {
        let c = try SensorConfig.parse(yaml: """
            flow:
              idle_timeout: 100
              idle_timeouts: {tcp_new: 5, udp_established: 9}
              tcp_linger: 2
            """)
        #expect(c.flow.tcpNewTimeout == 100 && c.flow.udpEstablishedTimeout == 100 && c.flow.otherNewTimeout == 100)
        #expect(c.flow.tcpClosedLinger == 2)
        let perClass = try SensorConfig.parse(yaml: "flow: {idle_timeout: null, idle_timeouts: {tcp_new: 5}}")
        #expect(perClass.flow.tcpNewTimeout == 5 && perClass.flow.udpNewTimeout == FlowTableConfig().udpNewTimeout)
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
