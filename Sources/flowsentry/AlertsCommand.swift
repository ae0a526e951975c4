import Behaviour
import Alerts
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Show the alerts of an EVE JSON-lines log, one readable line each; --follow tails it across rotation.",
        discussion: ExitStatus.discussion(after: """
            Lines that are not JSON or not alerts (event_type != "alert") are skipped; \
            without --follow their count goes to stderr at the end. Colour by severity \
            when stdout is a terminal and NO_COLOR is unset. --follow starts at the end \
            of the file, like 'tail -F': it shows the last 10 matching alerts (-n sets \
            how many), then each new one; a file not there yet is waited for. \
            --class, --ip, --port and --match may be repeated: an alert passes when it \
            matches one of the classes, one of the addresses, one of the ports and every \
            --match.
            """))

    @Argument(help: "The alert log (EVE JSON lines), e.g. /var/log/flowsentry/alerts.json.")
    var file: String

    @Flag(name: .shortAndLong, help: "Keep reading as the file grows, following rotation like 'tail -F'; starts at the end.")
    var follow = false

    @Option(name: [.customShort("n"), .customLong("lines")],
            help: "Show the last N matching alerts first (default: 10 with --follow, all without).")
    var lines: Int?

    @Option(name: .customLong("min-severity"), help: "Keep alerts with alert.severity <= N (1 is most severe).")
    var minSeverity: Int?

    @Option(name: .customLong("class"),
            help: ArgumentHelp("Keep alerts of this class (ml.class; behaviour alerts: the class their behaviour carries), letters in either case; repeat for several: \(AlertFilter.knownClasses.joined(separator: ", ")).", valueName: "class"))
    var classes: [String] = []

    @Option(name: [.customLong("ip"), .customLong("host")],
            help: ArgumentHelp("Keep alerts with this address as source or destination; a CIDR block (10.0.0.0/8) matches any address in it; repeat for several.", valueName: "address"))
    var addresses: [String] = []

    @Option(name: .customLong("port"), help: ArgumentHelp("Keep alerts with this source or destination port; repeat for several.", valueName: "port"))
    var ports: [Int] = []

    @Option(help: "Keep behaviour alerts of this behaviour only: repetition, beaconing, scanning, dns_tunnel or flooding.")
    var behaviour: String?

    @Option(name: .customLong("match"), help: ArgumentHelp("Keep alerts with a field matching a glob, e.g. tls.sni='*.example.org', dns.queries.rrname='*.xyz', http.url='*../*', ssh.client.software_version='libssh*' (dotted path into the alert line; letters in either case; repeat to require several).", valueName: "PATH=GLOB"))
    var matches: [String] = []

    @Option(parsing: .unconditional, help: "Keep alerts from this time on: ISO 8601 (2026-11-22T10:00:00+0000; no offset = UTC) or relative (-1h, -30m, -2d).")
    var since: String?

    @Flag(help: "Print matching lines unchanged (JSON lines) instead of the readable form.")
    var json = false

    @Flag(help: "Under each alert, where its packets are (replay/run --alert-pcap): the pcap file, the packet range, and a tshark command that shows them.")
    var pcap = false

    func validate() throws {
        if let since, EveTimestamp.parseSince(since, now: Date().timeIntervalSince1970) == nil {
            throw ValidationError("--since: cannot read '\(since)' as an ISO 8601 time or a relative time like -1h")
        }
        if let minSeverity, minSeverity < 1 { throw ValidationError("--min-severity must be 1 or more") }
        if let lines, lines < 0 { throw ValidationError("--lines must be 0 or more") }
        for c in classes where !AlertFilter.knownClasses.contains(c.lowercased()) {
            throw ValidationError("--class: '\(c)' is not a class; known: \(AlertFilter.knownClasses.joined(separator: ", "))")
        }
        for a in addresses where CIDR(a) == nil {
            throw ValidationError("--ip: '\(a)' is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.5, 10.0.0.0/8, 2001:db8::/32)")
        }
        for p in ports where !(0...65535).contains(p) { throw ValidationError("--port: \(p) is not a port (0-65535)") }
        let kinds = BehaviourKind.allCases.map(\.name)
        if let behaviour, !kinds.contains(behaviour) {
            throw ValidationError("--behaviour: '\(behaviour)' is not one of \(kinds.joined(separator: ", "))")
        }
        for m in matches where FieldMatch(m) == nil {
            throw ValidationError("--match: '\(m)' is not PATH=GLOB (e.g. tls.sni='*.example.org')")
        }
    }

    /// `  pcap: FILE packets A-B (tshark -r FILE -Y 'frame.number >= A && frame.number <= B')`,
    /// or `  pcap: none` for an alert without `alert_pcap` (closing aggregate
    /// alerts, logs written without --alert-pcap, a flow whose packets were not kept).
    static func pcapLine(_ line: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let ap = object["alert_pcap"] as? [String: Any], let file = ap["file"] as? String,
              let first = (ap["first_packet"] as? NSNumber)?.intValue, let n = (ap["packets"] as? NSNumber)?.intValue else {
            return "  pcap: none"
        }
        let last = first + n - 1
        return "  pcap: \(file) packets \(first)-\(last) (tshark -r '\(file)' -Y 'frame.number >= \(first) && frame.number <= \(last)')"
    }

    func run() throws {
        let filter = AlertFilter(
            minSeverity: minSeverity, classes: classes,
            since: since.flatMap { EveTimestamp.parseSince($0, now: Date().timeIntervalSince1970) }, behaviour: behaviour,
            addresses: addresses.compactMap(CIDR.init), ports: ports,
            fieldMatches: matches.compactMap(FieldMatch.init))
        // Like tail: following starts at the end and shows the last 10; -n N the last N.
        let lastN = lines ?? (follow ? 10 : nil)
        let follower: AlertFollower
        do { follower = try AlertFollower(path: file, follow: follow, fromEnd: lastN != nil) } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        if follower.isWaiting {
            FileHandleStderr.write("flowsentry: waiting for \(file) to appear\n")
            follower.onAppear = { FileHandleStderr.write("flowsentry: \($0) appeared; following it\n") }
        }
        let color = !json && AlertLineFormatter.shouldColor()
        var shown = 0, filtered = 0, notJSON = 0, notAlert = 0
        /// Counts `line` and returns what to print for it, if it passes the filter.
        func render(_ line: String) -> String? {
            if line.isEmpty { return nil }
            switch AlertSummary.parse(line) {
            case .notJSON: notJSON += 1
            case .notAlert: notAlert += 1
            case let .alert(a):
                guard filter.matches(a) else { filtered += 1; return nil }
                shown += 1
                let text = json ? line : AlertLineFormatter.format(a, color: color)
                return pcap && !json ? text + "\n" + Self.pcapLine(line) : text
            }
            return nil
        }
        do {
            if let lastN, lastN > 0 {
                var last: [String] = []
                try follower.scanBackward { line in
                    if let text = render(line) { last.append(text) }
                    return last.count < lastN
                }
                for text in last.reversed() { print(text) }
                if follow { fflush(nil) }
            }
            while let line = try follower.nextLine() {
                guard let text = render(line) else { continue }
                print(text)
                if follow { fflush(nil) }  // all streams: `stdout` is not concurrency-safe to name
            }
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
        if !follow {
            var text = "alerts: \(shown) shown, \(filtered) filtered out"
            let skipped = notJSON + notAlert
            if skipped > 0 { text += ", \(skipped) lines skipped (\(notJSON) not JSON, \(notAlert) not alerts)" }
            FileHandleStderr.write(text + "\n")
        }
    }
}
