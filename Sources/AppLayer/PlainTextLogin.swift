import Decoding

/// Login outcomes of the clear-text mail and file protocols, read from
/// each side's first bytes (the stream prefix): the server's answers to
/// the client's login commands.
///
/// - FTP (RFC 959): a 5xx reply to USER or PASS is a refused attempt (as
///   Zeek's FTP brute-force script counts them); 230 is a login.
/// - SMTP AUTH (RFC 4954): 535 (or another 5xx closing an AUTH exchange) is
///   a refusal, 235 a login.
/// - POP3 (RFC 1939, 5034): -ERR to PASS, APOP or the end of an AUTH
///   exchange is a refusal, +OK a login.
/// - IMAP (RFC 9051): a tagged NO to LOGIN or AUTHENTICATE is a refusal,
///   a tagged OK a login.
///
/// The protocol is known by the server's greeting (FTP and SMTP both greet
/// with 220: the client's commands tell them apart), never by port. Only
/// whole lines are read; a prefix that ends inside a line stops there.
public enum PlainTextLogin {
    /// Longest line looked at; longer ones end the reading.
    static let lineLimit = 1024
    /// Most command lines paired with answers.
    static let commandLimit = 256

    public static func outcome(client: ByteView, server: ByteView) -> LoginOutcome? {
        // Most flows that reach here speak none of these: two bytes decide without building text.
        guard let a = server.u8(0), let b = server.u8(1),
              (a == UInt8(ascii: "+") && b == UInt8(ascii: "O")) || (a == UInt8(ascii: "*") && b == 0x20)
                || (a == UInt8(ascii: "2") && b == UInt8(ascii: "2")) else { return nil }
        var greeting = Lines(server)
        guard let first = greeting.next() else { return nil }
        if first.starts(with: "+OK") { return pop3(client, server) }
        if first.starts(with: "* OK") || first.starts(with: "* PREAUTH") { return imap(client, server) }
        if first.starts(with: "220") {
            var lines = Lines(client)
            while let c = lines.next() {
                let verb = c.word(0).uppercased()
                if verb == "USER" || verb == "PASS" { return ftp(client, server) }
                if verb == "EHLO" || verb == "HELO" || verb == "AUTH" { return smtp(server) }
            }
        }
        return nil
    }

    /// FTP: commands and replies pair one to one after the greeting
    /// (multi-line replies end at the line whose code is followed by a space).
    static func ftp(_ client: ByteView, _ server: ByteView) -> LoginOutcome? {
        var replies = Replies(server)
        _ = replies.next()  // greeting
        var commands = Lines(client)
        var failures = 0, succeeded: Bool?
        var paired = 0
        while paired < commandLimit, let c = commands.next(), let code = replies.next() {
            paired += 1
            let verb = c.word(0).uppercased()
            guard verb == "USER" || verb == "PASS" else { continue }
            if code >= 500 && code < 600 { failures += 1; succeeded = false }
            if code == 230 { succeeded = true }
        }
        return succeeded == nil ? nil : LoginOutcome(proto: .ftp, failures: failures, succeeded: succeeded)
    }

    /// SMTP: only the AUTH answers carry 235 and 535.
    static func smtp(_ server: ByteView) -> LoginOutcome? {
        var replies = Replies(server)
        var failures = 0, succeeded: Bool?
        while let code = replies.next() {
            if code == 535 { failures += 1; succeeded = false }
            if code == 235 { succeeded = true }
        }
        return succeeded == nil ? nil : LoginOutcome(proto: .smtp, failures: failures, succeeded: succeeded)
    }

    /// POP3: each command line (an AUTH exchange's client lines included)
    /// gets one status line (`+OK`, `-ERR`, or `+ ` for a challenge); a
    /// multi-line answer's body (after +OK to CAPA, LIST, UIDL, RETR, TOP)
    /// runs to a line holding only ".".
    static func pop3(_ client: ByteView, _ server: ByteView) -> LoginOutcome? {
        var answers = Lines(server)
        _ = answers.next()  // greeting
        var commands = Lines(client)
        var failures = 0, succeeded: Bool?
        var inAuth = false
        var paired = 0
        while paired < commandLimit, let c = commands.next(), let a = answers.next() {
            paired += 1
            let verb = inAuth ? "" : c.word(0).uppercased()
            let positive = a.starts(with: "+OK")
            if a.starts(with: "+ ") || a == "+" {
                if verb == "AUTH" { inAuth = true }
                continue
            }
            if verb == "PASS" || verb == "APOP" || verb == "AUTH" || inAuth {
                inAuth = false
                if positive { succeeded = true } else if a.starts(with: "-ERR") { failures += 1; succeeded = false }
            }
            let multiLine = verb == "CAPA" || verb == "RETR" || verb == "TOP"
                || ((verb == "LIST" || verb == "UIDL") && c.word(1).isEmpty)
            if positive && multiLine {
                while let body = answers.next(), body != "." {}
            }
        }
        return succeeded == nil ? nil : LoginOutcome(proto: .pop3, failures: failures, succeeded: succeeded)
    }

    /// IMAP: the tags of LOGIN and AUTHENTICATE commands, then the server's
    /// tagged answers to them.
    static func imap(_ client: ByteView, _ server: ByteView) -> LoginOutcome? {
        var tags = Set<Substring>()
        var commands = Lines(client)
        while tags.count < commandLimit, let c = commands.next() {
            let verb = c.word(1).uppercased()
            if verb == "LOGIN" || verb == "AUTHENTICATE" { tags.insert(c.word(0)) }
        }
        guard !tags.isEmpty else { return nil }
        var failures = 0, succeeded: Bool?
        var answers = Lines(server)
        while let a = answers.next() {
            guard tags.contains(a.word(0)) else { continue }
            switch a.word(1).uppercased() {
            case "OK": succeeded = true
            case "NO": failures += 1; succeeded = false
            default: break
            }
        }
        return succeeded == nil ? nil : LoginOutcome(proto: .imap, failures: failures, succeeded: succeeded)
    }

    /// The whole lines of a stream prefix, without CR LF, as text.
    struct Lines: IteratorProtocol {
        let bytes: ByteView
        var p = 0
        init(_ b: ByteView) { bytes = b }

        mutating func next() -> Substring? {
            var i = p
            while let c = bytes.u8(i) {
                if c == 0x0A {
                    let end = i > p && bytes.u8(i - 1) == 0x0D ? i - 1 : i
                    let text = bytes.withBytes(from: p, length: end - p) { String(decoding: $0, as: UTF8.self) }
                    p = i + 1
                    return Substring(text)
                }
                i += 1
                if i - p > PlainTextLogin.lineLimit { return nil }
            }
            return nil
        }
    }

    /// The final lines' reply codes of a 3-digit-code protocol (FTP, SMTP):
    /// `ddd-` lines continue a reply, `ddd ` (or a bare `ddd`) ends it.
    struct Replies: IteratorProtocol {
        var lines: Lines
        init(_ b: ByteView) { lines = Lines(b) }

        mutating func next() -> Int? {
            while let l = lines.next() {
                let u = Array(l.utf8.prefix(4))
                guard u.count >= 3, u[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { continue }
                if u.count == 4 && u[3] == UInt8(ascii: "-") { continue }
                return Int(u[0] - 0x30) * 100 + Int(u[1] - 0x30) * 10 + Int(u[2] - 0x30)
            }
            return nil
        }
    }
}

extension Substring {
    /// The `i`th space-separated word (empty when there are fewer).
    func word(_ i: Int) -> Substring {
        var n = 0
        for w in split(separator: " ", omittingEmptySubsequences: true) {
            if n == i { return w }
            n += 1
        }
        return ""
    }
}
