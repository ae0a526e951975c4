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
        discussion: """
            Lines that are not JSON or not alerts (event_type != "alert") are skipped; \
            without --follow their count goes to stderr at the end. Colour by severity \
            when stdout is a terminal and NO_COLOR is unset.
            """)

    @Argument(help: "The alert log (EVE JSON lines), e.g. /var/log/flowsentry/alerts.json.")
    var file: String

    @Flag(name: .shortAndLong, help: "Keep reading as the file grows, following rotation like 'tail -F'.")
    var follow = false

    @Option(name: .customLong("min-severity"), help: "Keep alerts with alert.severity <= N (1 is most severe).")
    var minSeverity: Int?

    @Option(name: .customLong("class"), help: "Keep alerts whose class is C (ml.class; behaviour alerts: the class their behaviour carries).")
    var mlClass: String?

    @Option(help: "Keep behaviour alerts of this behaviour only: repetition, beaconing, scanning or dns_tunnel.")
    var behaviour: String?

    @Option(name: .customLong("match"), help: ArgumentHelp("Keep alerts with a field matching a glob, e.g. tls.sni='*.example.org', dns.queries.rrname='*.xyz', http.url='*../*', ssh.client.software_version='libssh*' (dotted path into the alert line; letters in either case; repeat to require several).", valueName: "PATH=GLOB"))
    var matches: [String] = []

    @Option(parsing: .unconditional, help: "Keep alerts from this time on: ISO 8601 (2026-11-22T10:00:00+0000; no offset = UTC) or relative (-1h, -30m, -2d).")
    var since: String?

    @Flag(help: "Print matching lines unchanged (JSON lines) instead of the readable form.")
    var json = false

    func validate() throws {
        if let since, EveTimestamp.parseSince(since, now: Date().timeIntervalSince1970) == nil {
            throw ValidationError("--since: cannot read '\(since)' as an ISO 8601 time or a relative time like -1h")
        }
        if let minSeverity, minSeverity < 1 { throw ValidationError("--min-severity must be 1 or more") }
        let kinds = BehaviourKind.allCases.map(\.name)
        if let behaviour, !kinds.contains(behaviour) {
            throw ValidationError("--behaviour: '\(behaviour)' is not one of \(kinds.joined(separator: ", "))")
        }
        for m in matches where FieldMatch(m) == nil {
            throw ValidationError("--match: '\(m)' is not PATH=GLOB (e.g. tls.sni='*.example.org')")
        }
    }

    func run() throws {
        let filter = AlertFilter(
            minSeverity: minSeverity, mlClass: mlClass,
            since: since.flatMap { EveTimestamp.parseSince($0, now: Date().timeIntervalSince1970) }, behaviour: behaviour,
            fieldMatches: matches.compactMap(FieldMatch.init))
        let follower: AlertFollower
        do { follower = try AlertFollower(path: file, follow: follow) } catch {
            FileHandleStderr.write("flowsentry: \(error)\n")
            throw ExitCode(2)
        }
        let color = !json && AlertLineFormatter.shouldColor()
        var shown = 0, filtered = 0, notJSON = 0, notAlert = 0
        while true {
            let line: String?
            do { line = try follower.nextLine() } catch {
                FileHandleStderr.write("flowsentry: \(error)\n")
                throw ExitCode(1)
            }
            guard let line else { break }
            if line.isEmpty { continue }
            switch AlertSummary.parse(line) {
            case .notJSON: notJSON += 1
            case .notAlert: notAlert += 1
            case let .alert(a):
                guard filter.matches(a) else { filtered += 1; continue }
                shown += 1
                print(json ? line : AlertLineFormatter.format(a, color: color))
                if follow { fflush(nil) }  // all streams: `stdout` is not concurrency-safe to name
            }
        }
        if !follow {
            var text = "alerts: \(shown) shown, \(filtered) filtered out"
            let skipped = notJSON + notAlert
            if skipped > 0 { text += ", \(skipped) lines skipped (\(notJSON) not JSON, \(notAlert) not alerts)" }
            FileHandleStderr.write(text + "\n")
        }
    }
}
