/// The kinds of EVE record the sensor writes; their names are the records'
/// `event_type` values and what `types:` lists in an output's config.
package enum EveRecordType: String, Sendable, CaseIterable, Equatable {
    case flow, alert, stats
}

/// One entry of `outputs.list` that is not a log file (log-file entries
/// become `outputs.alerts/flows/stats`): where it sends, which record types,
/// and how many records its queue holds while the destination is slow or
/// away (docs/outputs.md).
package struct OutputSpec: Sendable, Equatable {
    /// The `output` label in metrics and stats records.
    package var name: String
    package var types: [EveRecordType]
    /// Records held (queued and in flight) before new ones are dropped and counted.
    package var queueRecords: Int
    /// Seconds the writer keeps sending at shutdown before it gives up on what is left (counted as dropped).
    package var drainSeconds: Double = 3
    /// Longest wait between reconnection attempts (syslog and unix sockets; Redis has its own in `RedisSettings`).
    package var backoffMaxSeconds: Double = 10
    package var transport: Transport

    package enum Transport: Sendable, Equatable {
        case redis(RedisSettings)
        case syslog(SyslogSettings)
        /// EVE lines to a unix socket: one datagram per record, or newline-ended lines on a stream.
        case unixSocket(path: String, stream: Bool)
    }

    package init(name: String, types: [EveRecordType], queueRecords: Int, transport: Transport) {
        self.name = name
        self.types = types
        self.queueRecords = queueRecords
        self.transport = transport
    }

    package func wants(_ t: EveRecordType) -> Bool { types.contains(t) }
}

/// A Redis output's settings, after Suricata's `filetype: redis`.
package struct RedisSettings: Sendable, Equatable {
    /// LPUSH or RPUSH onto a list, PUBLISH to a channel, or XADD to a stream.
    package enum Mode: String, Sendable, CaseIterable {
        case lpush, rpush, publish, xadd

        /// The config's words for each mode (Suricata's and the command names).
        package static func named(_ s: String) -> Mode? {
            switch s.lowercased() {
            case "list", "lpush": return .lpush
            case "rpush": return .rpush
            case "channel", "publish": return .publish
            case "stream", "xadd": return .xadd
            default: return nil
            }
        }
    }

    package var host = "127.0.0.1"
    package var port = 6379
    /// A unix socket path; when set, host and port are not used.
    package var socket: String?
    package var username: String?
    package var password: String?
    package var mode = Mode.lpush
    /// The list, channel or stream name; `{type}` becomes flow, alert or stats.
    package var key = "flowsentry:{type}"
    /// Most records per pipelined round trip.
    package var batch = 256
    /// XADD's `MAXLEN ~` (0: the stream is not trimmed).
    package var streamMaxLen = 100_000
    /// Longest wait between reconnection attempts (the wait doubles from 0.1 s up to this).
    package var backoffMaxSeconds: Double = 10
    /// Connect, send and reply timeout.
    package var timeoutSeconds: Double = 5

    package init() {}

    /// The key for records of type `t`.
    package func key(for t: EveRecordType) -> String {
        key.replacing("{type}", with: t.rawValue)
    }

    /// Where it connects, for messages.
    package var endpoint: String { socket.map { "unix:" + $0 } ?? (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }
}

/// A syslog output's settings: RFC 5424 messages to the local syslog socket,
/// or to a UDP or TCP (octet-counted, RFC 6587) collector.
package struct SyslogSettings: Sendable, Equatable {
    package enum Address: Sendable, Equatable {
        case unix(String)
        case udp(host: String, port: Int)
        case tcp(host: String, port: Int)
    }

    package var address = Address.unix("/dev/log")
    /// The facility code (RFC 5424 table 1): local5 (21) by default, as Suricata.
    package var facility = 21

    package init() {}

    package static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7, "uucp": 8,
        "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
        "local4": 20, "local5": 21, "local6": 22, "local7": 23,
    ]

    /// `unix:PATH`, `udp:HOST:PORT`, `tcp:HOST:PORT` (IPv6 hosts bracketed); nil when malformed.
    package static func parseAddress(_ s: String) -> Address? {
        if s.hasPrefix("unix:") {
            let p = String(s.dropFirst(5))
            return p.isEmpty || p.utf8.count > 107 ? nil : .unix(p)
        }
        let isUDP = s.hasPrefix("udp:"), isTCP = s.hasPrefix("tcp:")
        guard isUDP || isTCP else { return nil }
        var rest = Substring(s.dropFirst(4))
        var host: String
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            rest = rest.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            host = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(rest), (1...65535).contains(port) else { return nil }
        return isUDP ? .udp(host: host, port: port) : .tcp(host: host, port: port)
    }
}
