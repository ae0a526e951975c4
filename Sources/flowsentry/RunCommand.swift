import Alerts
import ArgumentParser
import Sensor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Capture live on an interface and write flow, alert and stats records until stopped (the systemd service).",
        discussion: """
            Settings come from --config (YAML, see systemd/flowsentry.yaml.example); flags given here \
            override the file. Signals: SIGHUP reopens the log files (after rename rotation), SIGUSR2 \
            reloads model and policy, SIGTERM/SIGINT write every open flow (reason shutdown), flush and \
            exit 0; a second SIGTERM, or a drain longer than 10 s, exits at once with status 1. \
            Under systemd (Type=notify) READY=1 is sent once every capture handle is active, WATCHDOG=1 \
            every WatchdogSec/2.
            """)

    @Option(name: .customLong("interface"), help: "Capture interface (overrides capture.interface).")
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

    @Flag(name: .customLong("no-sequence"), help: "Leave the first-packets sequence out of flow records.")
    var noSequence = false

    @OptionGroup var flowOptions: FlowOptions

    @OptionGroup var scoring: ScoringOptions

    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus metrics on host:port (numeric IPv4, e.g. 127.0.0.1:9560); off by default.")
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
        o.queueCapacity = queueCapacity
        o.outputSpinMicros = outputSpinMicros
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
        if let m = metricsListen, MetricsEndpoint.parse(m) == nil {
            throw ValidationError("--metrics-listen must be host:port with a numeric IPv4 host, e.g. 127.0.0.1:9560")
        }
        if flowOptions.filter != nil && filterFile != nil {
            throw ValidationError("give --filter or --filter-file, not both")
        }
        do { _ = try resolvedConfig() } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let log = LiveSensor.stderrLog
        let cfg: SensorConfig
        let sensor: LiveSensor
        do {
            cfg = try resolvedConfig()
            sensor = try LiveSensor(config: cfg, notify: SystemdNotify.fromEnvironment(), log: log)
        } catch {
            log("flowsentry: error: \(error)")
            throw ExitCode(1)
        }
        var stageRef: ScoringStage?
        if !scoring.noScore && cfg.scoring {
            // A bad bundle or policy stops the start, before any packet.
            let modelPath = scoring.model ?? cfg.modelPath, policyPath = scoring.policy ?? cfg.policyPath
            let stage: ScoringStage
            do {
                let (m, p) = try loadModelAndPolicy(model: modelPath, policy: policyPath)
                stage = ScoringStage(model: m, policy: p)
                log("flowsentry: scoring with \(m.meta.modelVersion) (threshold \(m.threshold))")
            } catch {
                log("flowsentry: error: \(error)")
                throw ExitCode(1)
            }
            sensor.onRecords = ScoringStage.writer(stage, context: sensor.eveContext)
            sensor.onSweep = ScoringStage.sweeper(stage, context: sensor.eveContext)
            sensor.statsExtra = { stage.appendStats(into: &$0) }
            stageRef = stage
            // SIGUSR2: load the new bundle and policy; a bad one is rejected and the running one stays.
            sensor.onReload = {
                do {
                    let (m, p) = try loadModelAndPolicy(model: modelPath, policy: policyPath)
                    stage.reload(model: m, policy: p)
                    log("flowsentry: reloaded \(m.meta.modelVersion) and its policy")
                } catch {
                    log("flowsentry: error: reload rejected, keeping \(stage.model.meta.modelVersion): \(error)")
                }
            }
        }
        var metrics: MetricsEndpoint?
        if let listen = metricsListen ?? cfg.metricsListen {
            do {
                let m = try MetricsEndpoint(listen: listen)
                metrics = m
                let stage = stageRef
                sensor.onTick = { s in m.update(s, scoring: stage?.counters) }
                log("flowsentry: Prometheus metrics on http://\(listen.split(separator: ":")[0]):\(m.port)/metrics")
            } catch {
                log("flowsentry: error: \(error)")
                throw ExitCode(1)
            }
        }
        defer { metrics?.stop() }
        let drain = DrainDeadline()
        let watcher: SignalWatcher
        do {
            watcher = try SignalWatcher(tick: {
                let d = drain.deadline.load(ordering: .acquiring)
                if d != 0 && monotonicMillis() > d {
                    log("flowsentry: error: drain took longer than \(DrainDeadline.seconds) s; exiting without finishing")
                    _exit(1)
                }
            }) { sig in
                switch sig {
                case SIGHUP:
                    sensor.reopenLogs()
                case SIGUSR2:
                    log("flowsentry: SIGUSR2: reload requested")
                    sensor.requestReload()
                default:
                    if sensor.isStopping {
                        log("flowsentry: second \(SignalWatcher.name(sig)) while draining: exiting now")
                        _exit(1)
                    }
                    log("flowsentry: \(SignalWatcher.name(sig)): stopping; writing open flows")
                    drain.deadline.store(monotonicMillis() + Int64(DrainDeadline.seconds * 1000), ordering: .releasing)
                    sensor.stop()
                }
            }
        } catch {
            log("flowsentry: error: \(error)")
            throw ExitCode(1)
        }
        do {
            try sensor.start()
        } catch {
            watcher.stop()
            log("flowsentry: error: \(error)")
            throw ExitCode(1)
        }
        let final = sensor.wait()
        watcher.stop()
        log(final.summary)
        if final.writeErrors > 0 { throw ExitCode(1) }
    }
}

final class DrainDeadline: Sendable {
    static let seconds = 10.0
    /// Monotonic milliseconds after which the drain is abandoned; 0 = not draining.
    let deadline = Atomic<Int64>(0)
}

func monotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

