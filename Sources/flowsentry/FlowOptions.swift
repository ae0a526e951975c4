import ArgumentParser
import Flows

/// Flow-table options shared by every command that builds flows. Each is
/// optional: a flag not given leaves the value of the configuration it is
/// applied to (`FlowTableConfig`'s defaults, or `run`'s config file).
struct FlowOptions: ParsableArguments {
    private static let defaults = FlowTableConfig()

    @Option(help: "BPF filter applied to the input (libpcap syntax).")
    var filter: String?

    @Option(name: .customLong("idle-timeout"), help: "One idle timeout (seconds) for every protocol and state; default: per protocol, like Suricata (TCP \(Int(defaults.tcpNewTimeout)) new/\(Int(defaults.tcpEstablishedTimeout)) established, UDP and ICMP \(Int(defaults.udpNewTimeout))/\(Int(defaults.udpEstablishedTimeout))).")
    var idleTimeout: Double?

    @Option(name: .customLong("active-timeout"), help: "Seconds after which a long flow is cut and continues as a new record (default \(Int(defaults.activeTimeout))).")
    var activeTimeout: Double?

    @Option(name: .customLong("tcp-linger"), help: "Seconds a TCP flow lingers after FIN both ways or RST, for stragglers (default \(Int(defaults.tcpClosedLinger))).")
    var tcpLinger: Double?

    @Option(name: .customLong("max-flows"), help: "Flows held at once; when a stripe is full its least recently active flow is evicted (default \(defaults.maxFlows)).")
    var maxFlows: Int?

    @Option(help: "Flow-table stripes, a power of two (default \(defaults.stripes)).")
    var stripes: Int?

    @Option(name: .customLong("entropy-prefix"), help: "Payload bytes per direction fed to the payload-entropy histogram (default \(defaults.features.entropyPrefixBytes)).")
    var entropyPrefix: Int?

    @Option(name: .customLong("app-prefix"), help: "Stream bytes per direction kept for the application-layer parsers (TLS, HTTP, SSH, DNS); 0 turns them off (default \(defaults.features.appPrefixBytes)).")
    var appPrefix: Int?

    @Option(name: .customLong("app-streams"), help: "Flows that may hold an application-layer stream prefix at once (default \(defaults.appStreamCapacity)).")
    var appStreams: Int?

    /// The flags given, to apply on top of a configuration.
    var overrides: FlowTableConfig.Overrides {
        var o = FlowTableConfig.Overrides()
        o.idleTimeout = idleTimeout
        o.activeTimeout = activeTimeout
        o.tcpLinger = tcpLinger
        o.maxFlows = maxFlows
        o.stripes = stripes
        o.entropyPrefix = entropyPrefix
        o.appPrefix = appPrefix
        o.appStreams = appStreams
        return o
    }

    /// The defaults with the flags given on top.
    var tableConfig: FlowTableConfig { Self.defaults.applying(overrides) }

    /// Each flag's own range (argument parsing calls this for every command).
    func validate() throws {
        do throws(FlowTableConfigError) { try tableConfig.validateEach() } catch {
            throw ValidationError("\(error.setting.flag) \(error.reason)")
        }
    }

    /// The flags on the defaults, checked against each other too: for the
    /// commands whose flow table is made from the flags alone (`run` checks
    /// them on top of its configuration file instead).
    func validateOnDefaults() throws {
        do throws(FlowTableConfigError) { try tableConfig.validate() } catch {
            throw ValidationError("\(error.setting.flag) \(error.reason)")
        }
    }
}
