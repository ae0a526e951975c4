#if canImport(Glibc)
import Glibc
#endif

/// Opens the sockets the syslog and unix-socket outputs write to, with a
/// send timeout so a stuck peer fails the send instead of the writer.
enum SocketConnect {
    static func unix(_ path: String, type: Int32, timeout: Double) throws(OutputTransportError) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw OutputTransportError("socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        let s = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw OutputTransportError("socket: " + errnoText()) }
        setTimeout(s, timeout)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errnoText()
            close(s)
            throw OutputTransportError("connect \(path): " + e)
        }
        return s
    }

    static func inet(_ host: String, _ port: Int, type: Int32, timeout: Double) throws(OutputTransportError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw OutputTransportError("cannot resolve \(host): " + String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(first) }
        var last = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s < 0 { last = errnoText(); continue }
            setTimeout(s, timeout)
            if connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return s }
            last = errnoText()
            close(s)
        }
        throw OutputTransportError("connect \(host):\(port): " + last)
    }

    static func setTimeout(_ s: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes` (stream) or one datagram.
    static func sendAll(_ s: Int32, _ bytes: ArraySlice<UInt8>) throws(OutputTransportError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(s, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputTransportError("send: " + errnoText())
            }
            off += n
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Splits newline-ended lines; calls `body` with each line's range (newline excluded).
func forEachLine(_ bytes: [UInt8], _ body: (Range<Int>) throws(OutputTransportError) -> Void) throws(OutputTransportError) {
    var start = 0
    for (i, b) in bytes.enumerated() where b == 0x0A {
        if i > start { try body(start..<i) }
        start = i + 1
    }
}

/// EVE lines to a unix socket, as Suricata's `filetype: unix_dgram` and
/// `unix_stream`: one record per datagram (no newline), or the lines as
/// written to a file on a stream.
final class UnixSocketTransport: OutputTransport {
    let path: String
    let stream: Bool
    private var fd: Int32 = -1

    init(path: String, stream: Bool) {
        self.path = path
        self.stream = stream
    }

    var endpoint: String { (stream ? "unix_stream " : "unix_dgram ") + path }

    func connect() throws(OutputTransportError) {
        disconnect()
        fd = try SocketConnect.unix(path, type: Int32(stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), timeout: 5)
    }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func send(_ chunks: [OutputChunk]) throws(OutputTransportError) -> Int {
        for c in chunks {
            if stream {
                try SocketConnect.sendAll(fd, c.bytes[...])
            } else {
                try forEachLine(c.bytes) { r throws(OutputTransportError) in try SocketConnect.sendAll(fd, c.bytes[r]) }
            }
        }
        return 0
    }
}

/// RFC 5424 syslog messages, one per EVE record:
/// `<PRI>1 TIMESTAMP HOST flowsentry PID TYPE - LINE`, where PRI is
/// facility × 8 + severity, TYPE the record's event type, and severity an
/// alert's own (EVE severity 1 → crit, 2 → err, 3 → warning, other →
/// notice); flow and stats records are info. To the local syslog socket
/// (a datagram each), UDP (a datagram each) or TCP (octet counting, RFC 6587).
package final class SyslogTransport: OutputTransport {
    let settings: SyslogSettings
    private var fd: Int32 = -1
    private var out: [UInt8] = []
    private let host: String
    private let pid = String(getpid())

    package init(_ settings: SyslogSettings) {
        self.settings = settings
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let h = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        host = h.isEmpty ? "-" : h
    }

    package var endpoint: String {
        switch settings.address {
        case .unix(let p): "syslog unix:" + p
        case .udp(let h, let p): "syslog udp:\(h):\(p)"
        case .tcp(let h, let p): "syslog tcp:\(h):\(p)"
        }
    }

    package func connect() throws(OutputTransportError) {
        disconnect()
        switch settings.address {
        case .unix(let p): fd = try SocketConnect.unix(p, type: Int32(SOCK_DGRAM.rawValue), timeout: 5)
        case .udp(let h, let p): fd = try SocketConnect.inet(h, p, type: Int32(SOCK_DGRAM.rawValue), timeout: 5)
        case .tcp(let h, let p): fd = try SocketConnect.inet(h, p, type: Int32(SOCK_STREAM.rawValue), timeout: 5)
        }
    }

    package func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    package func send(_ chunks: [OutputChunk]) throws(OutputTransportError) -> Int {
        var tcp = false
        if case .tcp = settings.address { tcp = true }
        for c in chunks {
            try forEachLine(c.bytes) { r throws(OutputTransportError) in
                let message = self.message(type: c.type, line: c.bytes[r])
                if tcp {
                    // Octet counting: "LEN SP MSG", LEN the message's byte count.
                    try SocketConnect.sendAll(fd, (Array(String(message.count).utf8) + [0x20] + message)[...])
                } else {
                    try SocketConnect.sendAll(fd, message[...])
                }
            }
        }
        return 0
    }

    /// The RFC 5424 message for one record.
    package func message(type: EveRecordType, line: ArraySlice<UInt8>) -> [UInt8] {
        let severity = type == .alert ? Self.severity(ofAlert: line) : 6
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: "<\(settings.facility * 8 + severity)>1 ".utf8)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        let micros = ts.tv_nsec / 1000
        out.append(contentsOf: "\(tm.tm_year + 1900)-\(Self.two(tm.tm_mon + 1))-\(Self.two(tm.tm_mday))T".utf8)
        out.append(contentsOf: "\(Self.two(tm.tm_hour)):\(Self.two(tm.tm_min)):\(Self.two(tm.tm_sec)).".utf8)
        let us = String(micros)
        out.append(contentsOf: (String(repeating: "0", count: 6 - us.count) + us + "Z ").utf8)
        out.append(contentsOf: "\(host) flowsentry \(pid) \(type.rawValue) - ".utf8)
        out.append(contentsOf: line)
        return out
    }

    private static func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Syslog severity from an EVE alert line's `"severity":N`.
    package static func severity(ofAlert line: ArraySlice<UInt8>) -> Int {
        let key = Array("\"severity\":".utf8)
        var i = line.startIndex
        while i + key.count < line.endIndex {
            if line[i] == key[0] && line[i..<(i + key.count)].elementsEqual(key) {
                switch line[i + key.count] {
                case UInt8(ascii: "1"): return 2
                case UInt8(ascii: "2"): return 3
                case UInt8(ascii: "3"): return 4
                default: return 5
                }
            }
            i += 1
        }
        return 5
    }
}
