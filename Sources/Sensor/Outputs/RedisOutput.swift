#if canImport(Glibc)
import Glibc
#endif

/// Sends EVE lines to Redis as Suricata's redis output does: LPUSH or RPUSH
/// onto a list, PUBLISH to a channel, or XADD (`MAXLEN ~ n`, field `eve`)
/// to a stream, one key per record type. Commands for a batch are written
/// at once (pipelined) and their replies read after; list pushes carry up
/// to `batch` values per command. Over TCP (host, port) or a unix socket,
/// with AUTH (password, or ACL username and password) after connecting.
final class RedisTransport: OutputTransport {
    let settings: RedisSettings
    private var fd: Int32 = -1
    private var out: [UInt8] = []
    private var replies: [UInt8] = []
    /// Records each pipelined command carries, in order.
    private var perCommand: [Int] = []
    private var lines: [Range<Int>] = []
    private var readBuffer = [UInt8](repeating: 0, count: 65536)
    private let keys: [EveRecordType: [UInt8]]

    init(_ settings: RedisSettings) {
        self.settings = settings
        var k: [EveRecordType: [UInt8]] = [:]
        for t in EveRecordType.allCases { k[t] = Array(settings.key(for: t).utf8) }
        keys = k
        out.reserveCapacity(1 << 20)
    }

    var endpoint: String { "redis " + settings.endpoint }

    func connect() throws(OutputTransportError) {
        disconnect()
        if let path = settings.socket { fd = try connectUnix(path) } else { fd = try connectTCP() }
        var tv = timeval(tv_sec: Int(settings.timeoutSeconds),
                         tv_usec: Int((settings.timeoutSeconds - Double(Int(settings.timeoutSeconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard let password = settings.password else { return }
        out.removeAll(keepingCapacity: true)
        RESP.appendCommand(settings.username.map { ["AUTH", $0, password] } ?? ["AUTH", password], to: &out)
        try writeAll()
        let r = try readReply()
        if case .error(let e) = r { disconnect(); throw OutputTransportError("AUTH refused: \(e)") }
    }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        replies.removeAll(keepingCapacity: true)
    }

    func send(_ chunks: [OutputChunk]) throws(OutputTransportError) -> Int {
        out.removeAll(keepingCapacity: true)
        perCommand.removeAll(keepingCapacity: true)
        for c in chunks { encode(c) }
        try writeAll()
        var refused = 0
        for n in perCommand {
            if case .error = try readReply() { refused += n }
        }
        return refused
    }

    /// Appends the commands for one chunk's lines (without their newlines).
    private func encode(_ c: OutputChunk) {
        let key = keys[c.type]!
        lines.removeAll(keepingCapacity: true)
        var start = 0
        for (i, b) in c.bytes.enumerated() where b == 0x0A {
            if i > start { lines.append(start..<i) }
            start = i + 1
        }
        switch settings.mode {
        case .lpush, .rpush:
            let verb = settings.mode == .lpush ? "LPUSH" : "RPUSH"
            var i = 0
            while i < lines.count {
                let n = min(settings.batch, lines.count - i)
                RESP.appendArrayHeader(2 + n, to: &out)
                RESP.appendBulk(verb, to: &out)
                RESP.appendBulk(key, to: &out)
                for r in lines[i..<(i + n)] { RESP.appendBulk(c.bytes[r], to: &out) }
                perCommand.append(n)
                i += n
            }
        case .publish:
            for r in lines {
                RESP.appendArrayHeader(3, to: &out)
                RESP.appendBulk("PUBLISH", to: &out)
                RESP.appendBulk(key, to: &out)
                RESP.appendBulk(c.bytes[r], to: &out)
                perCommand.append(1)
            }
        case .xadd:
            let maxLen = settings.streamMaxLen > 0 ? String(settings.streamMaxLen) : nil
            for r in lines {
                RESP.appendArrayHeader(maxLen == nil ? 5 : 8, to: &out)
                RESP.appendBulk("XADD", to: &out)
                RESP.appendBulk(key, to: &out)
                if let maxLen {
                    RESP.appendBulk("MAXLEN", to: &out)
                    RESP.appendBulk("~", to: &out)
                    RESP.appendBulk(maxLen, to: &out)
                }
                RESP.appendBulk("*", to: &out)
                RESP.appendBulk("eve", to: &out)
                RESP.appendBulk(c.bytes[r], to: &out)
                perCommand.append(1)
            }
        }
    }

    private func writeAll() throws(OutputTransportError) {
        guard fd >= 0 else { throw OutputTransportError("not connected") }
        var off = 0
        while off < out.count {
            let n = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputTransportError("send: " + errnoText())
            }
            off += n
        }
    }

    /// The next reply, reading more bytes as needed.
    private func readReply() throws(OutputTransportError) -> RESP.Reply {
        while true {
            switch RESP.parse(replies) {
            case .reply(let r, let end):
                replies.removeFirst(end)
                return r
            case .invalid(let why):
                throw OutputTransportError("not a Redis reply (\(why))")
            case .incomplete:
                let n = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputTransportError(errno == EAGAIN ? "no reply within \(settings.timeoutSeconds) s" : "recv: " + errnoText())
                }
                if n == 0 { throw OutputTransportError("the server closed the connection") }
                replies.append(contentsOf: readBuffer[0..<n])
            }
        }
    }

    private func connectUnix(_ path: String) throws(OutputTransportError) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw OutputTransportError("socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw OutputTransportError("socket: " + errnoText()) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errnoText()
            close(s)
            throw OutputTransportError("connect: " + e)
        }
        return s
    }

    private func connectTCP() throws(OutputTransportError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(settings.host, String(settings.port), &hints, &res)
        guard rc == 0, let first = res else { throw OutputTransportError("cannot resolve \(settings.host): " + String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(first) }
        var last = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s < 0 { last = errnoText(); continue }
            // Bounds the connect as well as later sends.
            var tv = timeval(tv_sec: Int(settings.timeoutSeconds), tv_usec: 0)
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return s
            }
            last = errnoText()
            close(s)
        }
        throw OutputTransportError("connect: " + last)
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
