import ArgumentParser
import Alerts
import Sensor

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Capture live on an interface and write flow, alert and stats records until stopped (the systemd service).",
        discussion: ExitStatus.discussion(after: """
            One interface per process: run one service per interface (flowsentry@eth1, \
            flowsentry@eth2), each with its own fanout group. \
            Settings come from --config (YAML, see systemd/flowsentry.yaml.example); flags given here \
            override the file. Signals: SIGHUP reopens the log files (after rename rotation), SIGUSR2 \
            reloads model and policy, SIGTERM/SIGINT write every open flow (reason shutdown), flush and \
            exit 0; a second SIGTERM, or a drain longer than 10 s, exits at once with status 1. \
            Under systemd (Type=notify) READY=1 is sent once every capture handle is active, WATCHDOG=1 \
            every WatchdogSec/2.
            """))

    @Option(name: [.customLong("interface"), .customShort("i")], help: "Capture interface, as tcpdump -i (overrides capture.interface); one per process.")
    var interface: String?

    @Option(help: "YAML configuration file.")
    var config: String?

    @Option(help: "Alert log (EVE JSON lines; '' to disable).")
    var alerts: String?

    @Option(help: "Flow log (EVE flow records; '' to disable).")
    var flows: String?

    @Option(help: "Stats log (event_type stats every --stats-interval seconds; '' to disable).")
    var stats: String?

    @Option(help: "Capture threads; more than 1 joins them to one PACKET_FANOUT hash group.")
    var workers: Int?

    @Option(name: .customLong("fanout-group"), help: "PACKET_FANOUT group id (0-65535), unique per interface on the host.")
    var fanoutGroup: Int?

    @Option(name: .customLong("filter-file"), help: "Read the BPF filter from a file ('#' comment lines allowed).")
    var filterFile: String?

    @Option(help: "Bytes kept per packet.")
    var snaplen: Int?

    @Option(name: .customLong("buffer-mb"), help: "Kernel ring size per capture handle, MiB.")
    var bufferMB: Int?

    @Flag(name: .customLong("no-promisc"), help: "Do not put the interface into promiscuous mode.")
    var noPromisc = false

    @Option(name: .customLong("sensor-name"), help: "Sensor name written as 'host' in every record.")
    var sensorName: String?

    @Option(name: .customLong("stats-interval"), help: "Seconds between stats records (default 8).")
    var statsInterval: Double?

    @Option(name: .customLong("queue-capacity"), help: "Ended flow records held between capture and output (default 65536); more are dropped and counted.")
    var queueCapacity: Int?

    @Option(name: .customLong("output-spin-us"), help: "Microseconds the output thread polls for ended flows before it blocks (default 250; 0 blocks at once, leaving the core idle but paying a wake-up per batch).")
    var outputSpinMicros: Int?

    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    var communityIDSeed: UInt16?

    @Option(help: ArgumentHelp("Threads that score and format the flow records: the output thread and its helpers (default: the CPUs this process may use less one per capture worker; 1: the output thread alone).", valueName: "n"))
    var threads: Int?

    @Flag(name: .customLong("no-sequence"), help: "Leave the first-packets sequence out of flow records (as --flow-detail features).")
    var noSequence = false

    @Option(name: .customLong("flow-detail"),
            help: ArgumentHelp("What flow records carry: full (features and first-packets sequence), features (no sequence), summary (Suricata-sized: no features, behaviour values or sequence; scoring still uses them).", valueName: "full|features|summary"))
    var flowDetail: FlowDetail?

    @OptionGroup var flowOptions: FlowOptions

    @OptionGroup var alertPcap: AlertPcapOptions

    @OptionGroup var scoring: ScoringOptions

    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus metrics on host:port (127.0.0.1:9560, localhost:9560, [::1]:9560); off by default.")
    var metricsListen: String?

    var overrides: SensorOverrides {
        var o = SensorOverrides()
        o.interface = interface
        o.alerts = alerts
        o.flows = flows
        o.stats = stats
        o.workers = workers
        o.fanoutGroup = fanoutGroup
        o.filter = flowOptions.filter
        o.filterFile = filterFile
        o.snaplen = snaplen
        o.bufferMB = bufferMB
        o.noPromisc = noPromisc
        o.sensorName = sensorName
        o.statsInterval = statsInterval
        o.communityIDSeed = communityIDSeed
        o.noSequence = noSequence
        o.flowDetail = flowDetail
        o.queueCapacity = queueCapacity
        o.outputSpinMicros = outputSpinMicros
        o.outputThreads = threads
        if !scoring.indicators.isEmpty { o.indicatorFiles = scoring.indicators }
        o.flow = flowOptions.overrides
        return o
    }

    func resolvedConfig() throws(SensorConfigError) -> SensorConfig {
        let base = try config.map { p throws(SensorConfigError) in try SensorConfig.load(path: p) } ?? SensorConfig()
        let c = base.applying(overrides)
        try c.validate()
        return c
    }

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let m = metricsListen {
            do { try MetricsEndpoint.validate(m) } catch { throw ValidationError("--metrics-listen \(error)") }
        }
        if flowOptions.filter != nil && filterFile != nil {
            throw ValidationError("give --filter or --filter-file, not both")
        }
    }

    func run() throws {
        let log = LiveSensor.stderrLog
        let cfg: SensorConfig
        let sensor: LiveSensor
        do {
            var resolved = try resolvedConfig()
            if scoring.noEvidenceGate { resolved.evidenceGate = false }
            resolved.alertPcap = alertPcap.config(over: resolved.alertPcap)
            cfg = resolved
            // With scoring, a bad bundle or policy stops the start, before any packet.
            let source = !scoring.noScore && cfg.scoring
                ? ModelSource(model: scoring.model ?? cfg.modelPath, policy: scoring.policy ?? cfg.policyPath) : nil
            sensor = try LiveSensor(config: cfg, scoring: source, notify: SystemdNotify.fromEnvironment(), log: log)
        } catch {
            log("flowsentry: error: \(error)")
            throw ExitStatus.cannotStart
        }
        var metrics: MetricsEndpoint?
        if let listen = metricsListen ?? cfg.metricsListen {
            do {
                let m = try MetricsEndpoint(listen: listen)
                metrics = m
                sensor.metrics = m
                log("flowsentry: Prometheus metrics on \(m.url)")
            } catch {
                log("flowsentry: error: \(error)")
                throw ExitStatus.cannotStart
            }
        }
        defer { metrics?.stop() }
        let final: SensorStats
        do {
            final = try sensor.runUntilStopped()
        } catch {
            // Opening the interface (or the signal pipe) at start.
            log("flowsentry: error: \(error)")
            throw ExitStatus.cannotStart
        }
        log(final.summary)
        if let line = alertPcapSummary(sensor.writer) { log("  " + line) }
        if final.writeErrors > 0 { throw ExitStatus.failed }
    }
}
