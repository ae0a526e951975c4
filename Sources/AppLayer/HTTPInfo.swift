/// One HTTP/1.x request and the response matched to it (responses pair with
/// requests in order, as HTTP/1.x requires), as far as the stream prefixes
/// showed them. Strings are cut at `HTTPInfo`'s caps; the flags say when.
public struct HTTPTransaction: Sendable, Equatable {
    /// The method token as sent (`GET`, `POST`, `PROPFIND`, …).
    public var method = ""
    /// The request-target as sent, undecoded (origin form `/a?b=1`, or
    /// absolute form through proxies), cut at `HTTPInfo.uriCapacity`.
    public var uri = ""
    /// Bytes of the request-target on the wire (more than `uri` holds when cut).
    public var uriWireLength = 0
    public var uriTruncated = false
    /// The request's version, `HTTP/1.1` or `HTTP/1.0`; empty when the
    /// prefix ended inside the request line.
    public var protocolVersion = ""
    /// The Host header without `:port`, lower-cased (libhtp normalises it
    /// so, and Suricata logs that); for absolute-form targets without Host,
    /// the target's authority.
    public var hostname: String?
    /// The port the Host header carried, if any (Suricata's `http_port`).
    public var port: Int?
    public var userAgent: String?
    /// Bytes of the User-Agent value on the wire (more than `userAgent` holds when cut).
    public var userAgentWireLength = 0
    public var referer: String?
    /// The request's Content-Type, cut at the first `;` like the response's.
    public var requestContentType: String?
    public var requestContentLength: Int?
    /// The request body came in chunks (Transfer-Encoding: chunked).
    public var requestChunked = false

    /// The final response's status code (interim 1xx responses other than
    /// 101 are skipped, as libhtp does); nil when no response was seen.
    public var status: Int?
    /// The response's version, `HTTP/1.1` or `HTTP/1.0`.
    public var responseProtocolVersion: String?
    /// The response's Content-Type, cut at the first `;` (as Suricata logs it).
    public var responseContentType: String?
    public var responseContentLength: Int?
    public var responseChunked = false
    /// The Location header (redirect target), cut at `HTTPInfo.uriCapacity`.
    public var location: String?
    /// Response body bytes present in the server prefix: after de-chunking,
    /// before any content decoding (libhtp's `response_message_len`, which
    /// Suricata logs as `length`), so at most what the prefix held.
    public var responseBodyBytes = 0
    /// A header value above (Host, User-Agent, Referer, a Content-Type,
    /// Location) was longer than its cap and was cut.
    public var valuesTruncated = false
    /// Web-attack content of the request (`WebAttackContent`): its target,
    /// its form body, its User-Agent.
    public var webAttack: WebAttackFamilies = []

    public init() {}
}

/// What the sensor keeps of a TCP conversation that speaks HTTP/1.x: the
/// requests in the client's stream prefix with the responses in the
/// server's, bounded in count and size.
public struct HTTPInfo: Sendable, Equatable {
    /// Transactions kept; later requests are only counted (`requestCount`).
    public static let transactionCapacity = 16
    /// Longest request-target (and Location) kept as text.
    public static let uriCapacity = 2048
    /// Longest other header value kept as text.
    public static let valueCapacity = 512
    /// Longest method token accepted (longer first words are not HTTP).
    public static let methodCapacity = 16
    /// Longest request, status or header line (folded continuations count
    /// on their own); a longer one stops parsing with `http.line_too_long`.
    public static let lineCapacity = 8192
    /// Most header lines in one message; more stop parsing with `http.too_many_headers`.
    public static let headerCapacity = 100

    /// The first `transactionCapacity` requests, in order.
    public var transactions: [HTTPTransaction] = []
    /// Every request line seen in the client prefix (also those not kept).
    public var requestCount = 0
    /// Final responses seen in the server prefix (interim 1xx not counted).
    public var responseCount = 0
    /// The client prefix ended inside a request (its line, headers or body).
    public var clientTruncated = false
    /// The server prefix ended inside a response.
    public var serverTruncated = false
    /// Web-attack content over every request seen (also those not kept),
    /// and how many requests showed some.
    public var webAttack: WebAttackFamilies = []
    public var webAttackRequests = 0
    /// Final responses 404 (Not Found) or 403 (Forbidden): a path-guessing tool's misses.
    public var missResponses = 0
    /// The missed requests' paths (without query), one of 64 bits each by
    /// hash: a linear-counting bitmap of distinct missed paths, which the
    /// behaviour table adds up across a client's connections to a server
    /// (forced browsing over many short connections).
    public var missedPaths: UInt64 = 0
    /// A kept request's User-Agent is a build tool's or package manager's
    /// (`WebAttackContent.artifactClient`): its misses are no forced browsing.
    /// Read only when a response missed (false otherwise).
    public var artifactClient = false
    /// nil when both streams parsed cleanly up to where they ended; else the
    /// first anomaly, snake_case with an `http.` prefix (the list is in
    /// HTTPParser.swift). Parsing of that stream stops at anomalies that lose
    /// the message framing.
    public var malformed: String?

    public init() {}

    /// More requests were seen than were kept.
    public var transactionsTruncated: Bool { requestCount > transactions.count }

    mutating func note(webAttack f: WebAttackFamilies) {
        guard !f.isEmpty else { return }
        webAttack.formUnion(f)
        webAttackRequests += 1
    }
}

// MARK: - Numbers for the models

extension HTTPInfo {
    /// Counts over one request-target, in one pass (see the properties below).
    struct URIShape {
        var percentEscapes = 0, quotes = 0, angleBrackets = 0, semicolons = 0, traversals = 0, parameters = 0
    }

    /// The value of an ASCII hex digit, or nil.
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Scans `uri`: `%XX` escapes are decoded (one level) for the character
    /// counts; `..` followed by `/` or `\`, each part raw or escaped, is one
    /// traversal; parameters are the non-empty `&`-separated parts of the
    /// query (after the first `?`, before any `#`).
    static func shape(of uri: String) -> URIShape {
        var s = URIShape()
        var u = Array(uri.utf8)
        // Logical characters: an escape stands for the byte it encodes.
        var logical: [UInt8] = []
        logical.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            var c = u[i]
            if c == UInt8(ascii: "%"), i + 2 < u.count, let hi = hexValue(u[i + 1]), let lo = hexValue(u[i + 2]) {
                c = hi << 4 | lo
                s.percentEscapes += 1
                i += 3
            } else {
                i += 1
            }
            logical.append(c)
            switch c {
            case 0x27, 0x22: s.quotes += 1
            case 0x3C, 0x3E: s.angleBrackets += 1
            case 0x3B: s.semicolons += 1
            default: break
            }
        }
        if logical.count >= 3 {
            for k in 2..<logical.count where logical[k] == 0x2F || logical[k] == 0x5C {
                if logical[k - 1] == 0x2E && logical[k - 2] == 0x2E { s.traversals += 1 }
            }
        }
        // The query of the raw target (escaped `&` and `=` are data, not separators).
        if let q = u.firstIndex(of: UInt8(ascii: "?")) {
            if let h = u[q...].firstIndex(of: UInt8(ascii: "#")) { u.removeSubrange(h...) }
            var partLength = 0
            for c in u[(q + 1)...] {
                if c == UInt8(ascii: "&") {
                    if partLength > 0 { s.parameters += 1 }
                    partLength = 0
                } else {
                    partLength += 1
                }
            }
            if partLength > 0 { s.parameters += 1 }
        }
        return s
    }

    var firstShape: URIShape { transactions.first.map { Self.shape(of: $0.uri) } ?? URIShape() }

    /// Bytes of the first request-target on the wire (0 without requests).
    public var uriLength: Double { Double(transactions.first?.uriWireLength ?? 0) }
    /// Share of the first target's (kept) bytes that are `%XX` escapes, 0…1.
    public var uriPercentEncodedShare: Double {
        guard let n = transactions.first?.uri.utf8.count, n > 0 else { return 0 }
        return Double(3 * firstShape.percentEscapes) / Double(n)
    }
    /// Quotes (`'` `"`) in the first target, raw or as `%27` `%22`.
    public var uriQuoteCount: Double { Double(firstShape.quotes) }
    /// Angle brackets (`<` `>`) in the first target, raw or as `%3C` `%3E`.
    public var uriAngleBracketCount: Double { Double(firstShape.angleBrackets) }
    /// Semicolons in the first target, raw or as `%3B`.
    public var uriSemicolonCount: Double { Double(firstShape.semicolons) }
    /// `../` and `..\` in the first target, any part of them `%`-escaped (`%2e%2e%2f`, `..%2f`, `%2e%2e/`, …).
    public var uriTraversalCount: Double { Double(firstShape.traversals) }
    /// Non-empty `&`-separated parameters in the first target's query.
    public var uriParameterCount: Double { Double(firstShape.parameters) }
    /// Class (1–5) of the first request's response status; 0 when none was seen or it is out of range.
    public var statusClass: Double {
        guard let s = transactions.first?.status, (100...599).contains(s) else { return 0 }
        return Double(s / 100)
    }
    /// Requests seen in the client prefix.
    public var requestCountValue: Double { Double(requestCount) }
    /// Bytes of the first request's User-Agent on the wire (0 when absent).
    public var userAgentLength: Double { Double(transactions.first?.userAgentWireLength ?? 0) }
    /// `methodCode` of a POST.
    public static let postMethodCode: Double = 2
    /// First request's method: 1 GET, 2 POST, 3 HEAD, 4 PUT/PATCH/DELETE, 5 other, 0 none.
    public var methodCode: Double {
        guard let m = transactions.first?.method else { return 0 }
        switch m {
        case "GET": return 1
        case "POST": return Self.postMethodCode
        case "HEAD": return 3
        case "PUT", "PATCH", "DELETE": return 4
        default: return 5
        }
    }
}
