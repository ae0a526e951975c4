import Foundation
import Alerts
import Sensor
import Testing
import Flows

@Suite struct SensorConfigLoaderTests {
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
              threads: 3
            flow:
              idle_timeouts:
                tcp_established: 900
                udp_new: 12.5
              active_timeout: 60
              tcp_linger: 0
              max_flows: 4096
              stripes: 8
              entropy_prefix: 64
              app_prefix_bytes: 2048
              app_streams: 100
            detection:
              model: /m.fsm
              evidence_gate: false
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
        #expect(c.fileMode == 0o600 && c.communityIDSeed == 9 && c.flowDetail == .features && c.queueCapacity == 1000)
        #expect(c.outputSpinMicros == 0 && SensorConfig().outputSpinMicros == 250)
        #expect(c.outputThreads == 3 && SensorConfig().outputThreads == nil)
        var o = SensorOverrides()
        o.outputThreads = 1
        #expect(c.applying(o).outputThreads == 1)
        #expect(c.flow.tcpEstablishedTimeout == 900 && c.flow.udpNewTimeout == 12.5 && c.flow.tcpNewTimeout == 60)
        #expect(c.flow.activeTimeout == 60 && c.flow.tcpClosedLinger == 0 && c.flow.maxFlows == 4096
                && c.flow.stripes == 8 && c.flow.features.entropyPrefixBytes == 64)
        #expect(c.flow.features.appPrefixBytes == 2048 && c.flow.appStreamCapacity == 100)
        #expect(c.modelPath == "/m.fsm")
        #expect(!c.evidenceGate && SensorConfig().evidenceGate)
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

    @Test func detectionIndicatorsIsAListOfFilesTheCommandLineReplaces() throws {
        let c = try SensorConfig.parse(yaml: "detection:\n  indicators:\n    - /etc/a.intel\n    - b.intel\n")
        #expect(c.indicatorFiles == ["/etc/a.intel", "b.intel"])
        #expect(try SensorConfig.parse(yaml: "detection:\n  indicators: one.intel\n").indicatorFiles == ["one.intel"])
        var o = SensorOverrides()
        o.indicatorFiles = ["cli.intel"]
        #expect(c.applying(o).indicatorFiles == ["cli.intel"])
        #expect(c.applying(SensorOverrides()).indicatorFiles == c.indicatorFiles)
        #expect(error("detection:\n  indicators:\n    - {a: 1}\n")
            .hasPrefix("flowsentry.yaml: detection.indicators[0]: must be a file name"))
        #expect(error("detection:\n  indicators: [\"\"]\n").hasPrefix("flowsentry.yaml: detection.indicators[0]: must be a file name"))
        #expect(error("detection:\n  indicator: x\n").contains("unknown key (allowed here: model, policy, enabled, evidence_gate, indicators, drift)"))
    }

    @Test func badValuesNameFileKeyAndReason() {
        #expect(error("flow:\n  idle_timeouts:\n    tcp_established: abc\n")
            == #"flowsentry.yaml: flow.idle_timeouts.tcp_established: must be a positive number of seconds (got "abc")"#)
        #expect(error("capture:\n  workers: 0\n").hasPrefix("flowsentry.yaml: capture.workers: must be a whole number"))
        #expect(error("capture:\n  promiscuous: maybe\n")
            == #"flowsentry.yaml: capture.promiscuous: must be true or false (got "maybe")"#)
        #expect(error("outputs:\n  file_mode: \"0999\"\n").hasPrefix("flowsentry.yaml: outputs.file_mode: must be an octal file mode"))
        #expect(error("flow:\n  stripes: 6\n").hasPrefix("flowsentry.yaml: flow.stripes: must be a power of two"))
        #expect(error("flow:\n  app_prefix_bytes: 70000\n").hasPrefix("flowsentry.yaml: flow.app_prefix_bytes: must be a number of bytes between 0 and 65535"))
        #expect(error("flow:\n  app_streams: -1\n").hasPrefix("flowsentry.yaml: flow.app_streams: must be a number of flows"))
        #expect(error("flow:\n  tcp_linger: -1\n").hasPrefix("flowsentry.yaml: flow.tcp_linger: must be a number of seconds, 0 or more"))
        #expect(error("capture: [1, 2]\n").hasPrefix("flowsentry.yaml: capture: must be a mapping"))
        #expect(error("capture:\n  snaplen: {a: 1}\n").hasPrefix("flowsentry.yaml: capture.snaplen: must be a whole number"))
        #expect(error("stats_interval: 0\n").hasPrefix("flowsentry.yaml: stats_interval: must be a positive number"))
        #expect(error("capture: {workers: 2, workers: 3}\n") == "flowsentry.yaml: capture.workers: duplicate key")
        #expect(error("capture: [\n").hasPrefix("flowsentry.yaml: not valid YAML"))
        #expect(error("outputs:\n  flow_detail: tiny\n")
            == #"flowsentry.yaml: outputs.flow_detail: must be one of full, features, summary (got "tiny")"#)
        #expect(error("outputs:\n  threads: 0\n").hasPrefix("flowsentry.yaml: outputs.threads: must be a number of threads between 1 and 256"))
        #expect(error("outputs:\n  output_spin_us: 200000\n").hasPrefix("flowsentry.yaml: outputs.output_spin_us: must be a number of microseconds between 0 and 100000 (got \"200000\")"))
    }

    @Test func logFileQueueBoundsAreReadAndRefusedOutOfRange() throws {
        let d = try SensorConfig.parse(yaml: "", file: "t.yaml")
        #expect(d.fileQueueRecords == 100_000 && d.fileQueueBytes == 64 << 20)
        let c = try SensorConfig.parse(yaml: "outputs:\n  file_queue: 500\n  file_queue_mb: 8\n", file: "t.yaml")
        #expect(c.fileQueueRecords == 500 && c.fileQueueBytes == 8 << 20)
        func error(_ yaml: String) -> String {
            do { _ = try SensorConfig.parse(yaml: yaml, file: "t.yaml"); return "" } catch { return "\(error)" }
        }
        #expect(error("outputs:\n  file_queue: 0\n").hasPrefix("t.yaml: outputs.file_queue: must be a number of records between 1 and 16777216"))
        #expect(error("outputs:\n  file_queue_mb: 5000\n").hasPrefix("t.yaml: outputs.file_queue_mb: must be a number of MiB between 1 and 4096"))
    }

    @Test func flowDetailFromTheFileAndTheCommandLine() throws {
        let c = try SensorConfig.parse(yaml: "outputs:\n  flow_detail: summary\n", file: "t.yaml")
        #expect(c.flowDetail == .summary)
        var o = SensorOverrides()
        o.flowDetail = .full
        #expect(c.applying(o).flowDetail == .full)
        o = SensorOverrides()
        o.noSequence = true
        // --no-sequence only takes the sequence away: a summary stays a summary.
        #expect(c.applying(o).flowDetail == .summary && SensorConfig().applying(o).flowDetail == .features)
    }

    @Test func behaviourSectionSetsTheTableAndNamesBadKeys() throws {
        let c = try SensorConfig.parse(yaml: """
            behaviour:
              window_seconds: 600
              pair_capacity: 1024
              client_capacity: 512
              scan_state_seconds: 3600
              beacon_horizon_seconds: 7200
            """, file: "flowsentry.yaml")
        #expect(c.behaviour.windowSeconds == 600 && c.behaviour.pairCapacity == 1024 && c.behaviour.clientCapacity == 512)
        #expect(c.behaviour.scanStateSeconds == 3600 && c.behaviour.beaconHorizonSeconds == 7200)
        #expect(error("behaviour:\n  pair_capacity: 3\n").hasPrefix("flowsentry.yaml: behaviour.pair_capacity: must be a number of pair series between 16"))
        #expect(error("behaviour:\n  window_seconds: 7200\n  scan_state_seconds: 600\n")
            == "flowsentry.yaml: behaviour.scan_state_seconds: must be at least window_seconds")
        #expect(error("behaviour:\n  windows: 1\n").hasPrefix("flowsentry.yaml: behaviour.windows: unknown key"))
    }

    @Test func unknownKeysAreRejectedAtEveryLevel() {
        #expect(error("sensor: x\n").hasPrefix("flowsentry.yaml: sensor: unknown key (allowed here: sensor_name,"))
        #expect(error("capture:\n  wrokers: 2\n").hasPrefix("flowsentry.yaml: capture.wrokers: unknown key (allowed here: interface,"))
        #expect(error("flow:\n  idle_timeouts:\n    tcp: 5\n").hasPrefix("flowsentry.yaml: flow.idle_timeouts.tcp: unknown key"))
        #expect(error("prometheus:\n  enabled: false\n").hasPrefix("flowsentry.yaml: prometheus: unknown key"))
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
}
