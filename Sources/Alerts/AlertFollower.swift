import Decoding
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors from reading an alert log. Each names the file.
public enum AlertFollowerError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .readFailed(path, reason): return "\(path): read error: \(reason)"
        }
    }
}

/// Reads a JSON-lines log line by line and, when following, keeps reading as
/// it grows and across rotation the way `tail -F` does: when the path's inode
/// changes (renamed away and recreated) it finishes the old descriptor first,
/// then opens the new file from its start; when the file shrinks (truncated)
/// it starts again at 0; when the path is missing it retries every
/// `retryInterval`. A line is returned only once it ends in a newline (a
/// rotated-away file's unterminated last line is returned when it is left).
/// Not thread-safe; `stop()` may be called from another thread.
public final class AlertFollower: @unchecked Sendable {
    public let path: String
    public let follow: Bool
    /// Sleep between checks when there is nothing new (and between retries
    /// of a missing path), seconds.
    public let retryInterval: Double

    private var fd: Int32 = -1
    private var inode: (dev: UInt64, ino: UInt64) = (0, 0)
    private var offset: Int64 = 0
    private var pending: [UInt8] = []
    private var ready: [String] = []
    private var readyIndex = 0
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private let stopFlag = NSLock()
    private var stopped = false
    /// How many times a rotation (new inode) or truncation was followed.
    public private(set) var rotations = 0
    public private(set) var truncations = 0

    /// Called (on the reading thread) when a path that was missing at the
    /// start appears and is opened.
    public var onAppear: (@Sendable (String) -> Void)?

    /// Opens `path`. Without `follow` a missing file throws; with it the
    /// follower waits for the file to appear (`isWaiting`). `fromEnd` skips
    /// what is there: reading starts after the last complete line (a line
    /// still being written is read when it is finished), and
    /// `scanBackward` reads what was skipped, last line first.
    public init(path: String, follow: Bool = false, fromEnd: Bool = false,
                retryInterval: Double = 0.2) throws(AlertFollowerError) {
        self.path = path
        self.follow = follow
        self.retryInterval = retryInterval
        if !openPath() {
            let e = errno
            if !follow || e != ENOENT { throw .cannotOpen(path: path, reason: String(cString: strerror(e))) }
            isWaiting = true
        } else if fromEnd {
            offset = try endOfLastLine(before: Int64(lseek(fd, 0, SEEK_END)))
            _ = lseek(fd, off_t(offset), SEEK_SET)
        }
    }

    /// True while the path has not appeared yet (following only).
    public private(set) var isWaiting = false

    deinit { if fd >= 0 { close(fd) } }

    /// Makes a following `nextLine()` return nil at its next check.
    public func stop() {
        stopFlag.lock(); stopped = true; stopFlag.unlock()
    }

    private var isStopped: Bool {
        stopFlag.lock(); defer { stopFlag.unlock() }
        return stopped
    }

    /// The next complete line (without its newline), or nil at the end of the
    /// file (not following) or after `stop()` (following).
    public func nextLine() throws(AlertFollowerError) -> String? {
        while true {
            if readyIndex < ready.count {
                defer { readyIndex += 1 }
                return ready[readyIndex]
            }
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            if fd >= 0, try readAvailable() { continue }
            // At the end of what the open descriptor holds.
            if !follow {
                if !pending.isEmpty { emitPending(); continue }
                return nil
            }
            if isStopped { return nil }
            if try checkRotation() { continue }
            usleep(UInt32(retryInterval * 1_000_000))
        }
    }

    /// Complete lines before the reading position, last first, handed to
    /// `body` until it returns false or the file's start is reached: `-n N`
    /// after opening `fromEnd`. Reads backward in blocks, so a long log costs
    /// only the lines looked at.
    public func scanBackward(_ body: (String) -> Bool) throws(AlertFollowerError) {
        guard fd >= 0, offset > 0 else { return }
        var end = offset - 1       // the newline that ends the last line is left out
        var carry: [UInt8] = []    // the line that continues after `end`, read so far
        while end > 0 {
            let start = max(0, end - Int64(chunk.count))
            let block = try readAt(start, count: Int(end - start))
            var lineEnd = block.count
            var i = block.count - 1
            while i >= 0 {
                if block[i] == 0x0A {
                    let line = String(decoding: block[(i + 1)..<lineEnd] + carry, as: UTF8.self)
                    carry.removeAll(keepingCapacity: true)
                    if !body(line) { return }
                    lineEnd = i
                }
                i -= 1
            }
            carry = Array(block[0..<lineEnd]) + carry
            end = start
        }
        _ = body(String(decoding: carry, as: UTF8.self))  // the file's first line
    }

    /// Just after the last newline before `end` (0 when there is none).
    private func endOfLastLine(before end: Int64) throws(AlertFollowerError) -> Int64 {
        var stop = end
        while stop > 0 {
            let start = max(0, stop - Int64(chunk.count))
            let block = try readAt(start, count: Int(stop - start))
            if let i = block.lastIndex(of: 0x0A) { return start + Int64(i) + 1 }
            stop = start
        }
        return 0
    }

    /// `count` bytes at `position` of the open file (fewer if it shrank).
    private func readAt(_ position: Int64, count: Int) throws(AlertFollowerError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(position) + off_t(got)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            got += n
        }
        if got < count { out.removeLast(count - got) }
        return out
    }

    /// Reads to the end of the open descriptor; true when any bytes came.
    private func readAvailable() throws(AlertFollowerError) -> Bool {
        var got = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return got }
            got = true
            offset += Int64(n)
            split(chunk[0..<n])
        }
    }

    private func split(_ bytes: ArraySlice<UInt8>) {
        var start = bytes.startIndex
        var i = start
        while i < bytes.endIndex {
            if bytes[i] == 0x0A {
                if pending.isEmpty {
                    ready.append(String(decoding: bytes[start..<i], as: UTF8.self))
                } else {
                    pending.append(contentsOf: bytes[start..<i])
                    ready.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            i += 1
        }
        if start < bytes.endIndex { pending.append(contentsOf: bytes[start..<bytes.endIndex]) }
    }

    private func emitPending() {
        var line = pending
        if line.last == 0x0D { line.removeLast() }
        ready.append(String(decoding: line, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
    }

    /// After draining the open file: reopen when the path now names another
    /// file, restart when it was truncated. True when there may be more to read.
    private func checkRotation() throws(AlertFollowerError) -> Bool {
        var st = stat()
        if stat(path, &st) != 0 {
            return false  // missing (mid-rotation): keep the old descriptor, retry later
        }
        let now = (dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if fd < 0 || now.dev != inode.dev || now.ino != inode.ino {
            if fd >= 0 {
                // Renamed away: finish whatever the old file still gained, then switch.
                _ = try readAvailable()
                if !pending.isEmpty { emitPending() }
                close(fd)
                fd = -1
                rotations += 1
            }
            if !openPath() { return !ready.isEmpty }
            if isWaiting {
                isWaiting = false
                onAppear?(path)
            }
            return true
        }
        var fst = stat()
        if fstat(fd, &fst) == 0, Int64(fst.st_size) < offset {
            // Truncated in place: start again at the beginning.
            _ = lseek(fd, 0, SEEK_SET)
            offset = 0
            pending.removeAll(keepingCapacity: true)
            truncations += 1
            return true
        }
        return false
    }

    private func openPath() -> Bool {
        let f = open(path, O_RDONLY | O_CLOEXEC)
        if f < 0 { return false }
        var st = stat()
        if fstat(f, &st) != 0 { close(f); return false }
        // A directory opens but never reads: refused here, so it is said at once.
        if st.st_mode & S_IFMT == S_IFDIR { close(f); errno = EISDIR; return false }
        fd = f
        inode = (UInt64(st.st_dev), UInt64(st.st_ino))
        offset = 0
        return true
    }
}

// MARK: - Alert records

/// The fields of an EVE alert line that the `alerts` command shows.
public struct AlertSummary: Sendable, Equatable {
    public var timestamp: String
    /// Seconds since the epoch, when `timestamp` parses.
    public var time: Double?
    public var severity: Int?
    public var signature: String
    public var mlClass: String?
    public var score: Double?
    public var srcIP: String
    public var srcPort: Int?
    public var destIP: String
    public var destPort: Int?
    public var proto: String
    /// Flows folded into this alert (`ml.aggregated_flows`), and whether it is
    /// a closing aggregate alert (`ml.aggregate: "closing"`, its reason).
    public var aggregatedFlows: Int? = nil
    public var closingReason: String? = nil
    /// Behaviour alerts: the behaviour (`behaviour.kind`) and why (`behaviour.reason`).
    public var behaviour: String? = nil
    public var reason: String? = nil
    /// The flow's application protocol (`app_proto`) and what an analyst
    /// pivots on first: the TLS (or QUIC) server name, the DNS query, the HTTP host
    /// and URL, or the SSH client software.
    public var appProto: String? = nil
    public var appDetail: String? = nil
    /// Every scalar of the line by its dotted path (`tls.sni`, `alert.severity`),
    /// array elements under their array's path: what `--match` looks at.
    public var fields: [String: [String]] = [:]

    public enum ParseResult: Sendable, Equatable {
        case alert(AlertSummary)
        case notJSON
        case notAlert
    }

    /// Parses one log line with JSONSerialization (not the hot path).
    public static func parse(_ line: String) -> ParseResult {
        guard let data = line.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data),
              let dict = obj as? [String: Any] else { return .notJSON }
        guard dict["event_type"] as? String == "alert" else { return .notAlert }
        let alert = dict["alert"] as? [String: Any] ?? [:]
        // A behaviour alert carries its class, score and folding in `behaviour {…}`.
        let behaviour = dict["behaviour"] as? [String: Any]
        let ml = dict["ml"] as? [String: Any] ?? behaviour ?? [:]
        let ts = dict["timestamp"] as? String ?? ""
        return .alert(AlertSummary(
            timestamp: ts,
            time: EveTimestamp.parse(ts),
            severity: int(alert["severity"]),
            signature: alert["signature"] as? String ?? "",
            mlClass: ml["class"] as? String,
            score: double(ml["score"]),
            srcIP: dict["src_ip"] as? String ?? "?",
            srcPort: int(dict["src_port"]),
            destIP: dict["dest_ip"] as? String ?? "?",
            destPort: int(dict["dest_port"]),
            proto: dict["proto"] as? String ?? (int(dict["proto"]).map(String.init) ?? "?"),
            aggregatedFlows: int(ml["aggregated_flows"]),
            closingReason: ml["aggregate"] as? String == "closing" ? (ml["closing_reason"] as? String ?? "") : nil,
            behaviour: behaviour?["kind"] as? String,
            reason: (behaviour ?? ml)["reason"] as? String,
            appProto: dict["app_proto"] as? String,
            appDetail: appDetail(dict),
            fields: flatten(dict)))
    }

    /// The application-layer detail shown on an alert's line.
    static func appDetail(_ d: [String: Any]) -> String? {
        for object in ["tls", "quic"] {
            guard let t = d[object] as? [String: Any] else { continue }
            if let sni = t["sni"] as? String { return "sni \(sni)" }
            if let ja3 = (t["ja3"] as? [String: Any])?["hash"] as? String { return "ja3 \(ja3)" }
        }
        if let dns = d["dns"] as? [String: Any], let q = (dns["queries"] as? [[String: Any]])?.first,
           let name = q["rrname"] as? String {
            return "query \(name) \(q["rrtype"] as? String ?? "")" + ((dns["rcode"] as? String).map { " \($0)" } ?? "")
        }
        if let h = d["http"] as? [String: Any] {
            let method = h["http_method"] as? String ?? "?"
            let host = h["hostname"] as? String ?? ""
            return "\(method) \(host)\(h["url"] as? String ?? "")" + (int(h["status"]).map { " \($0)" } ?? "")
        }
        if let ssh = d["ssh"] as? [String: Any], let c = ssh["client"] as? [String: Any] {
            return "client \(c["software_version"] as? String ?? "?")"
        }
        return nil
    }

    /// Scalars by dotted path; numbers and booleans as JSON writes them.
    static func flatten(_ d: [String: Any]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        func walk(_ v: Any, _ path: String) {
            switch v {
            case let o as [String: Any]: for (k, x) in o { walk(x, path.isEmpty ? k : path + "." + k) }
            case let a as [Any]: for x in a { walk(x, path) }
            case let s as String: out[path, default: []].append(s)
            case let n as NSNumber:
                // JSON booleans arrive as NSNumbers of C type `char`.
                let text = String(cString: n.objCType) == "c" ? (n.boolValue ? "true" : "false") : n.stringValue
                out[path, default: []].append(text)
            default: break
            }
        }
        walk(d, "")
        return out
    }

    private static func int(_ v: Any?) -> Int? {
        if let n = v as? NSNumber { return n.intValue }
        if let s = v as? String { return Int(s) }
        return nil
    }

    private static func double(_ v: Any?) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }
}

/// Which alerts to show. Each criterion given must hold; a list holds
/// when any of its entries does (`--class scan --class dos`: either class).
public struct AlertFilter: Sendable, Equatable {
    /// Keep alerts with `alert.severity <= minSeverity` (1 is most severe).
    public var minSeverity: Int?
    /// Keep alerts whose class (`ml.class`, or `behaviour.class`) is one of
    /// these, letters in either case; empty: any class.
    public var classes: [String]
    /// Keep alerts at or after this time (seconds since the epoch).
    public var since: Double?
    /// Keep behaviour alerts of this behaviour (`behaviour.kind`) only.
    public var behaviour: String?
    /// Keep alerts with the source or destination address in one of these blocks.
    public var addresses: [CIDR]
    /// Keep alerts with the source or destination port one of these.
    public var ports: [Int]
    /// Keep alerts where every one of these fields has a value matching its glob.
    public var fieldMatches: [FieldMatch]

    public init(minSeverity: Int? = nil, classes: [String] = [], since: Double? = nil, behaviour: String? = nil,
                addresses: [CIDR] = [], ports: [Int] = [], fieldMatches: [FieldMatch] = []) {
        self.minSeverity = minSeverity
        self.classes = classes.map { $0.lowercased() }
        self.since = since
        self.behaviour = behaviour
        self.addresses = addresses
        self.ports = ports
        self.fieldMatches = fieldMatches
    }

    /// The classes an alert can carry: the label vocabulary's attack
    /// classes and "anomaly" (the novelty models' verdict).
    public static let knownClasses = ["scan", "dos", "bruteforce", "tunnel", "c2", "webattack", "anomaly"]

    public func matches(_ a: AlertSummary) -> Bool {
        if let minSeverity {
            guard let s = a.severity, s <= minSeverity else { return false }
        }
        if !classes.isEmpty {
            guard let c = a.mlClass?.lowercased(), classes.contains(c) else { return false }
        }
        if let behaviour, a.behaviour != behaviour { return false }
        if let since {
            guard let t = a.time, t >= since else { return false }
        }
        if !addresses.isEmpty {
            let ends = [a.srcIP, a.destIP].compactMap(IPAddress.init)
            guard addresses.contains(where: { block in ends.contains { block.contains($0) } }) else { return false }
        }
        if !ports.isEmpty {
            guard ports.contains(where: { $0 == a.srcPort || $0 == a.destPort }) else { return false }
        }
        for m in fieldMatches where !m.matches(a.fields) { return false }
        return true
    }
}

/// `--match PATH=GLOB`: a field of the alert line, by its dotted path
/// (`tls.sni`, `dns.queries.rrname`, `http.url`, `ssh.client.software_version`),
/// holding a value that matches a shell glob (`*`, `?`, `[…]`), letters in
/// either case. An array matches when one of its elements does.
public struct FieldMatch: Sendable, Equatable {
    public var path: String
    public var glob: String

    /// Reads `PATH=GLOB`; nil when there is no `=` or the path is empty.
    public init?(_ text: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { return nil }
        path = String(text[..<eq])
        var g = String(text[text.index(after: eq)...])
        // A glob quoted for the shell twice ('*.org' inside "…") keeps its quotes.
        if g.count >= 2, let f = g.first, f == "'" || f == "\"", g.last == f { g = String(g.dropFirst().dropLast()) }
        glob = g
    }

    public func matches(_ fields: [String: [String]]) -> Bool {
        guard let values = fields[path] else { return false }
        return values.contains { fnmatch(glob, $0, Self.caseFold) == 0 }
    }

    /// glibc's FNM_CASEFOLD, a GNU extension the Glibc module does not export.
    static let caseFold: Int32 = 1 << 4
}

/// One readable line per alert, coloured by severity when asked.
public enum AlertLineFormatter {
    public static func format(_ a: AlertSummary, color: Bool) -> String {
        func endpoint(_ ip: String, _ port: Int?) -> String {
            let host = ip.contains(":") ? "[\(ip)]" : ip
            return port.map { "\(host):\($0)" } ?? host
        }
        let sev = a.severity.map { "sev \($0)" } ?? "sev ?"
        let cls = (a.mlClass ?? "-").padding(toLength: max(12, a.mlClass?.count ?? 0), withPad: " ", startingAt: 0)
        let score = a.score.map { String(format: "%.2f", $0) } ?? "  - "
        var line = "\(a.timestamp)  \(sev)  \(cls)  \(score)  "
            + "\(endpoint(a.srcIP, a.srcPort)) -> \(endpoint(a.destIP, a.destPort)) \(a.proto)  \(a.signature)"
        if let n = a.aggregatedFlows, n > 0 { line += "  +\(n) flows folded" }
        if let why = a.closingReason { line += why.isEmpty ? "  (closing)" : "  (closing: \(why))" }
        if let why = a.reason { line += "  [\(why)]" }
        if let detail = a.appDetail { line += "  \(a.appProto ?? "?"): \(detail)" } else if let p = a.appProto, p != "failed" { line += "  \(p)" }
        if color {
            let code: String
            switch a.severity {
            case 1?: code = "\u{1B}[1;31m"   // bold red
            case 2?: code = "\u{1B}[33m"     // yellow
            case 3?: code = "\u{1B}[36m"     // cyan
            default: code = ""
            }
            if !code.isEmpty { line = code + line + "\u{1B}[0m" }
        }
        return line
    }

    /// Colour when stdout is a terminal and NO_COLOR is unset or empty (no-color.org).
    public static func shouldColor(fd: Int32 = STDOUT_FILENO, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let v = environment["NO_COLOR"], !v.isEmpty { return false }
        return isatty(fd) != 0
    }
}

/// EVE timestamps ("2026-11-22T10:00:00.123456+0000") and `--since` values.
public enum EveTimestamp {
    /// Parses `YYYY-MM-DDTHH:MM[:SS[.frac]]` with an optional `Z`, `±HHMM` or
    /// `±HH:MM` offset (none means UTC); also a date alone. Seconds since the epoch.
    public static func parse(_ s: String) -> Double? {
        let b = Array(s.utf8)
        var i = 0
        func num(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func eat(_ c: UInt8) -> Bool {
            if i < b.count, b[i] == c { i += 1; return true }
            return false
        }
        guard let y = num(4), eat(45), let mo = num(2), eat(45), let d = num(2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var h = 0, mi = 0, sec = 0
        var frac = 0.0
        if eat(84) || eat(32) {  // 'T' or ' '
            guard let hh = num(2), eat(58), let mm = num(2) else { return nil }
            h = hh; mi = mm
            if eat(58) {
                guard let ss = num(2) else { return nil }
                sec = ss
                if eat(46) || eat(44) {
                    var scale = 0.1
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        frac += Double(b[i] - 48) * scale
                        scale /= 10
                        i += 1
                    }
                }
            }
        }
        var offset = 0
        if eat(90) {  // 'Z'
        } else if i < b.count, b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = num(2) else { return nil }
            _ = eat(58)
            let om = num(2) ?? 0
            offset = sign * (oh * 3600 + om * 60)
        }
        guard i == b.count, h < 24, mi < 60, sec <= 60 else { return nil }
        let days = daysFromCivil(y, mo, d)
        return Double(days * 86400 + h * 3600 + mi * 60 + sec - offset) + frac
    }

    /// `--since`: an ISO 8601 time, or a relative `-1h`, `-30m`, `-45s`, `-2d`
    /// (the leading minus is optional) counted back from `now`.
    public static func parseSince(_ s: String, now: Double) -> Double? {
        var t = Substring(s.trimmingCharacters(in: .whitespaces))
        if t.hasPrefix("-") { t = t.dropFirst() }
        if let unit = t.last, "smhd".contains(unit), let n = Double(t.dropLast()), n >= 0 {
            let mult: Double = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 86400
            return now - n * mult
        }
        return parse(s)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
