import Decoding

/// Reads HTTP/1.x (RFC 9112) from the first bytes each side of a TCP
/// connection sent: every request in the client prefix (keep-alive and
/// pipelining: bodies are skipped by Content-Length or by their chunks) and
/// the responses in the server prefix, paired in order. Every read goes
/// through `ByteView`; every loop consumes bytes, so hostile input ends.
///
/// Tolerated as real servers do: bare LF line ends, obs-fold continuation
/// lines, up to two empty lines between messages, several spaces between
/// request-line parts, a status line without a reason phrase.
///
/// `malformed` reasons: `http.request_line` (a later message in the client
/// stream is not a request), `http.status_line`, `http.header_line` (no
/// colon, or a bad name), `http.line_too_long`, `http.too_many_headers`,
/// `http.content_length` (not a number, or two that differ),
/// `http.transfer_encoding` (a request coding other than chunked: its body
/// cannot be delimited), `http.chunk_size`, `http.chunk_end`.
public enum HTTPParser {
    /// The methods of RFC 9110 §9 and PATCH (RFC 5789); a request line with
    /// one of these may be cut by the prefix and still count.
    static let knownMethods: [[UInt8]] = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"]
        .map { Array($0.utf8) }

    /// Requests whose method is remembered for framing their responses
    /// (HEAD and CONNECT change it); later ones are taken as GET-like.
    static let requestKindCapacity = 4096

    /// nil unless the client stream starts with an HTTP/1.x request line
    /// (or the start of one with a known method, cut by the prefix).
    public static func parse(client: ByteView, server: ByteView) -> HTTPInfo? {
        var info = HTTPInfo()
        // Per request, in the low 2 bits: 1 HEAD, 2 CONNECT, 0 other — how
        // its response is framed; above them the request's path bit
        // (`pathBit`), set in `missedPaths` when the response is a miss.
        var kinds: [UInt8] = []
        var p = 0
        requests: while true {
            if info.requestCount > 0 { p = skipEmptyLines(client, from: p) }
            guard client.has(p, 1) else {
                if info.requestCount == 0 { return nil }
                break
            }
            let line = requestLine(client, at: p)
            let rl: RequestLine
            var next = p
            switch line {
            case .notRequest:
                guard info.requestCount > 0 else { return nil }
                note(&info, "http.request_line")
                break requests
            case .complete(let r, let n):
                rl = r
                next = n
            case .cut(let r), .tooLong(let r):
                // An unfinished line counts when its method is a known one
                // and part of the target was seen (a long URI cut by the prefix).
                let counts = r.knownMethod && r.target.count > 0
                guard counts || info.requestCount > 0 else { return nil }
                if case .tooLong = line { note(&info, "http.line_too_long") } else { info.clientTruncated = true }
                guard counts else { break requests }
                rl = r
            }
            var t = HTTPTransaction()
            t.method = text(client, rl.method, cap: HTTPInfo.methodCapacity).0
            (t.uri, t.uriTruncated) = text(client, rl.target, cap: HTTPInfo.uriCapacity)
            t.uriWireLength = rl.target.count
            if rl.minor >= 0 { t.protocolVersion = "HTTP/1.\(rl.minor)" }
            info.requestCount += 1
            if kinds.count < requestKindCapacity {
                let kind: UInt8 = t.method == "HEAD" ? 1 : t.method == "CONNECT" ? 2 : 0
                kinds.append(kind | pathBit(client, rl.target) << 2)
            }
            guard case .complete = line else {
                t.webAttack = WebAttackContent.families(in: t.uri.utf8)
                info.note(webAttack: t.webAttack)
                keep(t, in: &info)
                break requests
            }
            let h = headers(client, from: next)
            t.hostname = h.hostname
            t.port = h.port
            t.userAgent = h.userAgent
            t.userAgentWireLength = h.userAgentWireLength
            t.referer = h.referer
            t.requestContentType = h.contentType
            t.requestContentLength = h.contentLength
            t.requestChunked = h.chunked
            t.valuesTruncated = h.valuesTruncated
            if t.hostname == nil, let (host, port) = authority(ofTarget: t.uri) {
                t.hostname = host
                t.port = port
            }
            if case .complete(let bodyStart) = h.end, !h.chunked, let length = h.contentLength, length > 0,
               h.contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
                // A form body is parameters like a query's (what is in the prefix of it).
                t.webAttack = client.withBytes(from: bodyStart, length: min(length, WebAttackContent.inspectedBytes)) {
                    WebAttackContent.families(in: $0)
                }
            }
            t.webAttack.formUnion(WebAttackContent.families(in: t.uri.utf8))
            if let ua = t.userAgent, WebAttackContent.attackTool(userAgent: ua) { t.webAttack.insert(.attackTool) }
            if h.exploit { t.webAttack.insert(.exploit) }
            info.note(webAttack: t.webAttack)
            keep(t, in: &info)
            switch h.end {
            case .cut: info.clientTruncated = true; break requests
            case .malformed(let reason): note(&info, reason); break requests
            case .complete(let bodyStart):
                // A tunnel or a protocol switch: what follows is not HTTP/1.
                if t.method == "CONNECT" || h.upgrade { break requests }
                if h.conflict { note(&info, "http.content_length"); break requests }
                let body: BodyEnd
                if h.chunked {
                    body = chunkedBody(client, from: bodyStart)
                } else if h.otherCoding {
                    note(&info, "http.transfer_encoding")
                    break requests
                } else {
                    body = sizedBody(client, from: bodyStart, length: h.contentLength ?? 0)
                }
                switch body {
                case .complete(let n, _): p = n
                case .cut: info.clientTruncated = true; break requests
                case .malformed(let reason): note(&info, reason); break requests
                }
            }
        }
        parseResponses(server, kinds: kinds, into: &info)
        // Only misses need the User-Agents read (most HTTP flows have none).
        info.artifactClient = info.missResponses > 0
            && info.transactions.contains { $0.userAgent.map(WebAttackContent.artifactClient) ?? false }
        if !info.artifactClient && WebAttackContent.forcedBrowsing(misses: info.missResponses, responses: info.responseCount) {
            info.webAttack.insert(.forcedBrowsing)
            info.webAttackRequests = max(info.webAttackRequests, info.missResponses)
        }
        return info
    }

    /// Pairs the responses in `server` with the requests in order.
    static func parseResponses(_ b: ByteView, kinds: [UInt8], into info: inout HTTPInfo) {
        var p = 0
        var r = 0  // the request the next final response answers
        while true {
            if p > 0 { p = skipEmptyLines(b, from: p) }
            guard b.has(p, 1) else { return }
            let sl = statusLine(b, at: p)
            guard case .complete(let status, let minor, let afterLine) = sl else {
                if case .cut = sl { info.serverTruncated = true } else { note(&info, "http.status_line") }
                return
            }
            let h = headers(b, from: afterLine)
            let interim = status >= 100 && status < 200 && status != 101
            if !interim {
                info.responseCount += 1
                if status == 404 || status == 403 {
                    info.missResponses += 1
                    if r < kinds.count { info.missedPaths |= 1 << UInt64(kinds[r] >> 2) }
                }
                if r < info.transactions.count {
                    var t = info.transactions[r]
                    t.status = status
                    t.responseProtocolVersion = "HTTP/1.\(minor)"
                    t.responseContentType = h.contentType
                    t.responseContentLength = h.contentLength
                    t.responseChunked = h.chunked
                    t.location = h.location
                    t.valuesTruncated = t.valuesTruncated || h.valuesTruncated
                    info.transactions[r] = t
                }
            }
            let bodyStart: Int
            switch h.end {
            case .cut: info.serverTruncated = true; return
            case .malformed(let reason): note(&info, reason); return
            case .complete(let n): bodyStart = n
            }
            if interim { p = bodyStart; continue }
            let kind = r < kinds.count ? kinds[r] & 3 : 0
            let index = r
            r += 1
            // A switch of protocols or an accepted tunnel ends HTTP/1 on this stream.
            if status == 101 || (kind == 2 && status >= 200 && status < 300) { return }
            // RFC 9112 §6.3: no body after HEAD, 1xx, 204 and 304.
            if kind == 1 || status == 204 || status == 304 { p = bodyStart; continue }
            if h.conflict { note(&info, "http.content_length"); return }
            let body: BodyEnd
            if h.chunked {
                body = chunkedBody(b, from: bodyStart)
            } else if let length = h.contentLength, !h.otherCoding {
                body = sizedBody(b, from: bodyStart, length: length)
            } else {
                // No length: the body runs to the end of the connection.
                addBody(max(0, b.count - bodyStart), to: index, in: &info)
                return
            }
            switch body {
            case .complete(let n, let bytes): addBody(bytes, to: index, in: &info); p = n
            case .cut(let bytes): addBody(bytes, to: index, in: &info); info.serverTruncated = true; return
            case .malformed(let reason): note(&info, reason); return
            }
        }
    }

    static func addBody(_ bytes: Int, to index: Int, in info: inout HTTPInfo) {
        if index < info.transactions.count { info.transactions[index].responseBodyBytes = bytes }
    }

    static func keep(_ t: HTTPTransaction, in info: inout HTTPInfo) {
        if info.transactions.count < HTTPInfo.transactionCapacity { info.transactions.append(t) }
    }

    /// Records the first anomaly only.
    static func note(_ info: inout HTTPInfo, _ reason: String) {
        if info.malformed == nil { info.malformed = reason }
    }

    // MARK: - Lines

    /// A line's content `start ..< end` (without CR LF or LF) and where the next one starts.
    struct Line {
        var start: Int, end: Int, next: Int
        var count: Int { end - start }
    }

    enum LineScan { case line(Line), cut, tooLong }

    /// The line starting at `p`: ended by LF (a CR before it is dropped);
    /// `cut` when the view ends first, `tooLong` past `HTTPInfo.lineCapacity`.
    static func scanLine(_ b: ByteView, from p: Int) -> LineScan {
        var i = p
        while let c = b.u8(i) {
            if c == 0x0A {
                let end = i > p && b.u8(i - 1) == 0x0D ? i - 1 : i
                return .line(Line(start: p, end: end, next: i + 1))
            }
            if i - p > HTTPInfo.lineCapacity { return .tooLong }
            i += 1
        }
        return .cut
    }

    /// Skips up to two empty lines (RFC 9112 §2.2: a server should ignore
    /// at least one before a request line; clients send one after a body).
    static func skipEmptyLines(_ b: ByteView, from p: Int) -> Int {
        var p = p
        for _ in 0..<2 {
            if b.u8(p) == 0x0D, b.u8(p + 1) == 0x0A { p += 2 } else if b.u8(p) == 0x0A { p += 1 } else { break }
        }
        return p
    }

    /// Bytes `r` of `b` as text, cut at `cap` (the flag says when).
    static func text(_ b: ByteView, _ r: Range<Int>, cap: Int) -> (String, Bool) {
        let n = min(r.count, cap)
        let s = b.withBytes(from: r.lowerBound, length: n) { String(decoding: $0, as: UTF8.self) }
        return (s, r.count > cap)
    }

    // MARK: - Start lines

    /// A request target's path (up to `?` or `#`) hashed to one of 64
    /// bits (FNV-1a): the requests a server missed, as a linear-counting
    /// bitmap of distinct paths (`HTTPInfo.missedPaths`).
    static func pathBit(_ b: ByteView, _ target: Range<Int>) -> UInt8 {
        b.withBytes(from: target.lowerBound, length: target.count) { bytes in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for c in bytes {
                if c == UInt8(ascii: "?") || c == UInt8(ascii: "#") { break }
                h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01B3
            }
            return UInt8(truncatingIfNeeded: (h ^ (h >> 32)) & 63)
        }
    }

    struct RequestLine {
        var method: Range<Int>
        var target: Range<Int>
        /// The x of HTTP/1.x, or -1 when the line was cut before it.
        var minor: Int
        /// The method is one of `knownMethods`.
        var knownMethod: Bool
    }

    enum RequestLineScan {
        case complete(RequestLine, next: Int)
        /// The view ended inside the line; the parts seen fit the grammar.
        case cut(RequestLine)
        case tooLong(RequestLine)
        case notRequest
    }

    static func isSpace(_ c: UInt8?) -> Bool { c == 0x20 }

    /// `METHOD SP request-target SP HTTP/1.x` then CR LF or LF. The method is
    /// an upper-case token (letters, `-`, `_`) of at most
    /// `HTTPInfo.methodCapacity`; the target any bytes above space but DEL.
    static func requestLine(_ b: ByteView, at p: Int) -> RequestLineScan {
        var i = p
        while let c = b.u8(i), (c >= 0x41 && c <= 0x5A) || c == 0x2D || c == 0x5F {
            i += 1
            if i - p > HTTPInfo.methodCapacity { return .notRequest }
        }
        var rl = RequestLine(method: p..<i, target: i..<i, minor: -1, knownMethod: false)
        guard b.has(i, 1) else { return .cut(rl) }
        guard rl.method.count > 0, b.u8(p).map({ $0 >= 0x41 && $0 <= 0x5A }) == true, isSpace(b.u8(i)) else {
            return .notRequest
        }
        for m in knownMethods where m.count == rl.method.count {
            var same = true
            for k in 0..<m.count where b.u8(p + k) != m[k] { same = false; break }
            if same { rl.knownMethod = true; break }
        }
        while isSpace(b.u8(i)) { i += 1 }
        let targetStart = i
        while let c = b.u8(i), c > 0x20, c != 0x7F {
            i += 1
            if i - p > HTTPInfo.lineCapacity {
                rl.target = targetStart..<i
                return .tooLong(rl)
            }
        }
        rl.target = targetStart..<i
        guard b.has(i, 1) else { return .cut(rl) }
        guard rl.target.count > 0, isSpace(b.u8(i)) else { return .notRequest }
        while isSpace(b.u8(i)) { i += 1 }
        // "HTTP/1." then one digit; a prefix of it when the view ends.
        for k in 0..<httpVersionPrefix.count {
            guard let c = b.u8(i + k) else { return .cut(rl) }
            guard c == httpVersionPrefix[k] else { return .notRequest }
        }
        i += httpVersionPrefix.count
        guard let d = b.u8(i) else { return .cut(rl) }
        guard d >= 0x30 && d <= 0x39 else { return .notRequest }
        rl.minor = Int(d - 0x30)
        i += 1
        // Trailing spaces are tolerated; then the line end.
        while isSpace(b.u8(i)) { i += 1 }
        guard let e = b.u8(i) else { return .cut(rl) }
        if e == 0x0A { return .complete(rl, next: i + 1) }
        guard e == 0x0D else { return .notRequest }
        guard let lf = b.u8(i + 1) else { return .cut(rl) }
        return lf == 0x0A ? .complete(rl, next: i + 2) : .notRequest
    }

    static let httpVersionPrefix: [UInt8] = Array("HTTP/1.".utf8)

    enum StatusLineScan { case complete(status: Int, minor: Int, next: Int), cut, malformed }

    /// `HTTP/1.x SP 3DIGIT [SP reason]` then CR LF or LF.
    static func statusLine(_ b: ByteView, at p: Int) -> StatusLineScan {
        let line: Line
        switch scanLine(b, from: p) {
        case .line(let l): line = l
        case .tooLong: return .malformed
        case .cut:
            // Cut: fine if what is there starts like a status line.
            for k in 0..<httpVersionPrefix.count {
                guard let c = b.u8(p + k) else { return .cut }
                guard c == httpVersionPrefix[k] else { return .malformed }
            }
            return .cut
        }
        guard line.count >= 12 else { return .malformed }
        for k in 0..<httpVersionPrefix.count where b.u8(p + k) != httpVersionPrefix[k] { return .malformed }
        guard let d = b.u8(p + 7), d >= 0x30, d <= 0x39, isSpace(b.u8(p + 8)) else { return .malformed }
        var status = 0
        for k in 9..<12 {
            guard let c = b.u8(p + k), c >= 0x30, c <= 0x39 else { return .malformed }
            status = status * 10 + Int(c - 0x30)
        }
        guard line.count == 12 || isSpace(b.u8(p + 12)) else { return .malformed }
        return .complete(status: status, minor: Int(d - 0x30), next: line.next)
    }

    // MARK: - Header fields

    /// What a header block told about the message (both directions share it).
    struct Headers {
        enum End { case complete(bodyStart: Int), cut, malformed(String) }
        var end = End.cut
        var hostname: String?
        var port: Int?
        /// Some header's value carries an exploit's payload (`WebAttackContent.exploitInHeader`).
        var exploit = false
        var userAgent: String?
        var userAgentWireLength = 0
        var referer: String?
        var contentType: String?
        var contentLength: Int?
        /// Two Content-Length fields that differ (a smuggling sign; RFC 9112 §6.3 makes it an error).
        var conflict = false
        /// Transfer-Encoding ends in chunked, or names another coding.
        var chunked = false
        var otherCoding = false
        var location: String?
        var upgrade = false
        var valuesTruncated = false
    }

    enum Field { case host, userAgent, referer, contentType, contentLength, transferEncoding, location, upgrade }

    static let fieldNames: [(Field, [UInt8])] = [
        (Field.host, "host"), (.userAgent, "user-agent"), (.referer, "referer"), (.contentType, "content-type"),
        (.contentLength, "content-length"), (.transferEncoding, "transfer-encoding"), (.location, "location"),
        (.upgrade, "upgrade"),
    ].map { (f: Field, name: String) in (f, Array(name.utf8)) }

    /// The field a name (`range` of `b`) stands for, compared case-insensitively.
    static func field(_ b: ByteView, _ range: Range<Int>) -> Field? {
        outer: for (f, name) in fieldNames where name.count == range.count {
            for k in 0..<name.count {
                guard var c = b.u8(range.lowerBound + k) else { continue outer }
                if c >= 0x41 && c <= 0x5A { c += 32 }
                if c != name[k] { continue outer }
            }
            return f
        }
        return nil
    }

    /// A token character (RFC 9110 §5.6.2), as field names must be.
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }

    /// Reads header lines from `p` to the empty line. Values of the fields
    /// FlowSentry keeps are gathered (with obs-fold continuations joined by
    /// one space) and applied when the field ends; the first of a repeated
    /// field wins, except Content-Length (must agree) and Transfer-Encoding
    /// (its last coding counts).
    static func headers(_ b: ByteView, from p: Int) -> Headers {
        var h = Headers()
        var p = p
        var lines = 0
        var pending: Field?
        var value: [UInt8] = []
        var wire = 0  // the pending value's length on the wire
        while true {
            let line: Line
            switch scanLine(b, from: p) {
            case .cut:
                // An unfinished field line is dropped (its value may be cut);
                // the whole one before it counts.
                if let f = pending { apply(f, value, wire: wire, to: &h) }
                h.end = .cut
                return h
            case .tooLong:
                h.end = .malformed("http.line_too_long")
                return h
            case .line(let l): line = l
            }
            p = line.next
            if line.count == 0 {
                if let f = pending { apply(f, value, wire: wire, to: &h) }
                h.end = .complete(bodyStart: p)
                return h
            }
            lines += 1
            guard lines <= HTTPInfo.headerCapacity else {
                h.end = .malformed("http.too_many_headers")
                return h
            }
            let first = b.u8(line.start) ?? 0
            if first == 0x20 || first == 0x09 {
                // obs-fold: more of the previous field's value.
                guard lines > 1 else { h.end = .malformed("http.header_line"); return h }
                if pending != nil {
                    let r = trimmed(b, line.start..<line.end)
                    if !r.isEmpty {
                        append([0x20], to: &value)
                        appendBytes(b, r, to: &value)
                        wire += 1 + r.count
                    }
                }
                continue
            }
            if let f = pending { apply(f, value, wire: wire, to: &h) }
            pending = nil
            // name ":" OWS value OWS
            var colon = line.start
            while colon < line.end, b.u8(colon) != UInt8(ascii: ":") { colon += 1 }
            guard colon < line.end else { h.end = .malformed("http.header_line"); return h }
            var nameEnd = colon
            // Whitespace before the colon is tolerated (libhtp does), not inside the name.
            while nameEnd > line.start, b.u8(nameEnd - 1) == 0x20 || b.u8(nameEnd - 1) == 0x09 { nameEnd -= 1 }
            guard nameEnd > line.start else { h.end = .malformed("http.header_line"); return h }
            for k in line.start..<nameEnd where !isTokenChar(b.u8(k) ?? 0) {
                h.end = .malformed("http.header_line")
                return h
            }
            if !h.exploit {
                h.exploit = b.withBytes(from: colon + 1, length: line.end - colon - 1) { WebAttackContent.exploitInHeader($0) }
            }
            guard let f = field(b, line.start..<nameEnd) else { continue }
            let r = trimmed(b, (colon + 1)..<line.end)
            pending = f
            value.removeAll(keepingCapacity: true)
            appendBytes(b, r, to: &value)
            wire = r.count
        }
    }

    /// `r` without leading and trailing spaces and tabs.
    static func trimmed(_ b: ByteView, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, b.u8(lo) == 0x20 || b.u8(lo) == 0x09 { lo += 1 }
        while hi > lo, b.u8(hi - 1) == 0x20 || b.u8(hi - 1) == 0x09 { hi -= 1 }
        return lo..<hi
    }

    /// Appends bytes `r` of `b`, keeping at most one byte past the largest cap
    /// (enough to know a value was cut).
    static func appendBytes(_ b: ByteView, _ r: Range<Int>, to value: inout [UInt8]) {
        let room = HTTPInfo.uriCapacity + 1 - value.count
        guard room > 0 else { return }
        b.withBytes(from: r.lowerBound, length: min(r.count, room)) { value.append(contentsOf: $0) }
    }

    static func append(_ bytes: [UInt8], to value: inout [UInt8]) {
        if value.count <= HTTPInfo.uriCapacity { value.append(contentsOf: bytes) }
    }

    /// `v` as text cut at `cap`, noting the cut in `h`.
    static func capped(_ v: ArraySlice<UInt8>, cap: Int, _ h: inout Headers) -> String {
        if v.count > cap { h.valuesTruncated = true }
        return String(decoding: v.prefix(cap), as: UTF8.self)
    }

    static func apply(_ f: Field, _ v: [UInt8], wire: Int, to h: inout Headers) {
        switch f {
        case .host:
            guard h.hostname == nil else { return }
            let (host, port) = splitHostPort(v[...])
            h.hostname = capped(host, cap: HTTPInfo.valueCapacity, &h).lowercased()
            h.port = port
        case .userAgent:
            guard h.userAgent == nil else { return }
            h.userAgent = capped(v[...], cap: HTTPInfo.valueCapacity, &h)
            h.userAgentWireLength = wire
        case .referer:
            guard h.referer == nil else { return }
            h.referer = capped(v[...], cap: HTTPInfo.uriCapacity, &h)
        case .contentType:
            guard h.contentType == nil else { return }
            // Cut at the first ';' (parameters dropped), as Suricata logs it.
            var t = v[...]
            if let semi = t.firstIndex(of: UInt8(ascii: ";")) { t = t[..<semi] }
            while let last = t.last, last == 0x20 || last == 0x09 { t = t.dropLast() }
            h.contentType = capped(t, cap: HTTPInfo.valueCapacity, &h)
        case .contentLength:
            guard let n = decimal(v[...]) else {
                // Not a number: the body cannot be delimited.
                h.conflict = true
                return
            }
            if let old = h.contentLength, old != n { h.conflict = true }
            if h.contentLength == nil { h.contentLength = n }
        case .transferEncoding:
            // The last coding listed decides whether the body is chunked.
            var last = v[...]
            if let comma = last.lastIndex(of: UInt8(ascii: ",")) { last = last[(comma + 1)...] }
            let word = String(decoding: last, as: UTF8.self).trimmingSpaces.lowercased()
            h.chunked = word == "chunked"
            h.otherCoding = !h.chunked && !word.isEmpty && word != "identity"
        case .location:
            guard h.location == nil else { return }
            h.location = capped(v[...], cap: HTTPInfo.uriCapacity, &h)
        case .upgrade:
            h.upgrade = true
        }
    }

    /// A non-negative decimal of at most 15 digits, else nil.
    static func decimal(_ v: ArraySlice<UInt8>) -> Int? {
        guard !v.isEmpty, v.count <= 15 else { return nil }
        var n = 0
        for c in v {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + Int(c - 0x30)
        }
        return n
    }

    /// `host[:port]` or `[v6]:port` → host and port. A port that is not a
    /// number up to 65535 is left in the host (libhtp flags such hosts).
    static func splitHostPort(_ v: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Int?) {
        // The colon before the port: after the closing bracket of an IPv6 literal.
        let searchFrom = v.first == UInt8(ascii: "[") ? (v.firstIndex(of: UInt8(ascii: "]")) ?? v.endIndex) : v.startIndex
        guard let colon = v[searchFrom...].lastIndex(of: UInt8(ascii: ":")) else { return (v, nil) }
        let digits = v[(colon + 1)...]
        guard digits.count <= 5, let port = decimal(digits), port <= 65535 else {
            return digits.isEmpty ? (v[..<colon], nil) : (v, nil)
        }
        return (v[..<colon], port)
    }

    /// The authority of an absolute-form target (`http://host:port/…`), for
    /// requests to proxies that carry no Host field.
    static func authority(ofTarget uri: String) -> (String, Int?)? {
        let u = Array(uri.utf8)
        guard let sep = u.firstRange(of: Array("://".utf8)) else { return nil }
        for c in u[..<sep.lowerBound] {
            guard (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) else { return nil }
        }
        var auth = u[sep.upperBound...]
        if let end = auth.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            auth = auth[..<end]
        }
        if let at = auth.lastIndex(of: UInt8(ascii: "@")) { auth = auth[(at + 1)...] }  // userinfo
        guard !auth.isEmpty else { return nil }
        let (host, port) = splitHostPort(auth)
        return (String(decoding: host, as: UTF8.self).lowercased(), port)
    }

    // MARK: - Bodies

    enum BodyEnd {
        /// The body ended; the next message starts at `next`. `bytes`: body bytes (de-chunked).
        case complete(next: Int, bytes: Int)
        case cut(bytes: Int)
        case malformed(String)
    }

    static func sizedBody(_ b: ByteView, from p: Int, length: Int) -> BodyEnd {
        let available = max(0, b.count - p)
        return length <= available ? .complete(next: p + length, bytes: length) : .cut(bytes: available)
    }

    /// Walks `size [; ext] CRLF data CRLF` chunks to the last (size 0) one and
    /// its trailer fields (RFC 9112 §7.1).
    static func chunkedBody(_ b: ByteView, from p: Int) -> BodyEnd {
        var p = p
        var total = 0
        while true {
            let line: Line
            switch scanLine(b, from: p) {
            case .cut: return .cut(bytes: total)
            case .tooLong: return .malformed("http.chunk_size")
            case .line(let l): line = l
            }
            // Hex digits, then an optional extension after ';' (or whitespace).
            var size = 0, digits = 0, i = line.start
            while i < line.end, let c = b.u8(i), let v = HTTPInfo.hexValue(c) {
                size = size << 4 | Int(v)
                digits += 1
                i += 1
                guard digits <= 12 else { return .malformed("http.chunk_size") }
            }
            guard digits > 0 else { return .malformed("http.chunk_size") }
            if i < line.end {
                guard let c = b.u8(i), c == UInt8(ascii: ";") || c == 0x20 || c == 0x09 else {
                    return .malformed("http.chunk_size")
                }
            }
            p = line.next
            if size == 0 {
                // Trailer fields, up to the empty line.
                var fields = 0
                while true {
                    switch scanLine(b, from: p) {
                    case .cut: return .cut(bytes: total)
                    case .tooLong: return .malformed("http.line_too_long")
                    case .line(let l):
                        p = l.next
                        if l.count == 0 { return .complete(next: p, bytes: total) }
                        fields += 1
                        if fields > HTTPInfo.headerCapacity { return .malformed("http.too_many_headers") }
                    }
                }
            }
            let available = max(0, b.count - p)
            guard size <= available else { return .cut(bytes: total + available) }
            total += size
            p += size
            // The data's own line end.
            if b.u8(p) == 0x0D {
                guard let lf = b.u8(p + 1) else { return .cut(bytes: total) }
                guard lf == 0x0A else { return .malformed("http.chunk_end") }
                p += 2
            } else if b.u8(p) == 0x0A {
                p += 1
            } else if b.has(p, 1) {
                return .malformed("http.chunk_end")
            } else {
                return .cut(bytes: total)
            }
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
