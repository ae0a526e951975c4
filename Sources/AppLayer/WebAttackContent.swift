/// Web-application attacks defined by what a request carries: SQL injection,
/// cross-site scripting, path traversal and local file inclusion, command
/// injection in a request-target or a form body, and the user agents of
/// attack tools. A web attack is defined by its content, whatever network it
/// crosses, so these are definitions, not fitted to any capture; each needs
/// the structure of an attack (a tautology, a closed quote followed by SQL,
/// a tag with a script, two `../` steps), not one odd character, so search
/// queries with quotes, `OR` or angle brackets do not match.
public struct WebAttackFamilies: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let sqlInjection = WebAttackFamilies(rawValue: 1 << 0)
    public static let crossSiteScripting = WebAttackFamilies(rawValue: 1 << 1)
    public static let pathTraversal = WebAttackFamilies(rawValue: 1 << 2)
    public static let commandInjection = WebAttackFamilies(rawValue: 1 << 3)
    public static let attackTool = WebAttackFamilies(rawValue: 1 << 4)
    public static let exploit = WebAttackFamilies(rawValue: 1 << 5)
    /// Not content: a connection whose requests mostly miss (404/403), as
    /// a tool guessing paths gets (`WebAttackContent.forcedBrowsing`).
    public static let forcedBrowsing = WebAttackFamilies(rawValue: 1 << 6)
    /// Not HTTP: a TLS heartbeat answered with far more than was asked
    /// (Heartbleed, CVE-2014-0160; `TLSInfo.heartbeatOverread`).
    public static let heartbleed = WebAttackFamilies(rawValue: 1 << 7)

    /// The families' names, comma-separated, in a fixed order (EVE and reasons).
    public var names: String {
        var parts: [String] = []
        if contains(.sqlInjection) { parts.append("sql_injection") }
        if contains(.crossSiteScripting) { parts.append("xss") }
        if contains(.pathTraversal) { parts.append("path_traversal") }
        if contains(.commandInjection) { parts.append("command_injection") }
        if contains(.attackTool) { parts.append("attack_tool") }
        if contains(.exploit) { parts.append("exploit") }
        if contains(.forcedBrowsing) { parts.append("forced_browsing") }
        if contains(.heartbleed) { parts.append("tls_heartbleed") }
        return parts.joined(separator: ",")
    }
}

public enum WebAttackContent {
    /// Longest request-target or body part inspected (longer ones: their start).
    public static let inspectedBytes = 4096

    /// The families a request-target or an `application/x-www-form-urlencoded`
    /// body shows after decoding (see `normalised`).
    public static func families<C: Collection>(in text: C) -> WebAttackFamilies where C.Element == UInt8 {
        let n = normalised(text)
        guard !n.isEmpty else { return [] }
        var f: WebAttackFamilies = []
        if sqlInjection(n) { f.insert(.sqlInjection) }
        if crossSiteScripting(n) { f.insert(.crossSiteScripting) }
        if pathTraversal(n) { f.insert(.pathTraversal) }
        if commandInjection(n) { f.insert(.commandInjection) }
        if exploit(n) { f.insert(.exploit) }
        return f
    }

    /// Misses (404 Not Found, 403 Forbidden) in one connection that make it
    /// a tool guessing paths (DirBuster, gobuster, ffuf, Nikto over
    /// keep-alive): at least `forcedBrowsingMisses` of the responses seen,
    /// and at least half of them. A browser's page with a few missing
    /// assets, or a crawler's stale link, misses far fewer in one connection.
    public static let forcedBrowsingMisses = 8

    /// (Not for an `artifactClient`'s connections.)
    public static func forcedBrowsing(misses: Int, responses: Int) -> Bool {
        misses >= forcedBrowsingMisses && 2 * misses >= responses
    }

    /// Whether a header value carries an exploit's payload (`exploit`): the
    /// Log4Shell and Shellshock payloads travel in any header.
    public static func exploitInHeader<C: Collection>(_ value: C) -> Bool where C.Element == UInt8 {
        // Log4Shell needs `${`, OGNL `%{` or `${`, Shellshock `()`: a value
        // without those pairs (nearly every User-Agent has a `(`) is not decoded.
        var previous: UInt8 = 0
        var marked = false
        for c in value {
            if (c == 0x7B && (previous == 0x24 || previous == 0x25)) || (c == 0x29 && previous == 0x28) { marked = true; break }
            previous = c
        }
        guard marked else { return false }
        return exploit(normalised(value))
    }

    /// Attack tools that announce themselves in the User-Agent: web
    /// vulnerability scanners and injection tools (lower-case substrings).
    /// Port and service scanners (the Nmap Scripting Engine, zgrab,
    /// masscan) are not listed: their probes are a scan's, which the
    /// scanning behaviour and the models name.
    static let toolAgents: [[UInt8]] = ["sqlmap", "nikto", "acunetix", "netsparker", "wpscan", "dirbuster",
                                        "gobuster", "nuclei", "havij", "w3af", "fimap", "commix", "jaeles", "wfuzz",
                                        "fuzz faster u fool", "joomscan", "xsser", "burp collaborator"].map { Array($0.utf8) }

    public static func attackTool(userAgent: String) -> Bool {
        let ua = Array(userAgent.utf8.prefix(512)).map(lower)
        return toolAgents.contains { find($0, in: ua, from: 0) != nil }
    }

    /// Build tools and package managers that ask repositories for artifacts
    /// they may not hold and take a 404 as "try the next repository" (Maven
    /// resolving a build's dependencies through several repositories misses
    /// dozens of distinct paths): their misses are no forced browsing.
    static let artifactAgents: [[UInt8]] = ["apache-maven", "gradle", "apache ivy", "sbt/", "nuget", "apt-http",
                                            "pip/", "npm/", "yarn/", "conda/", "bundler/", "rubygems/", "composer/",
                                            "cargo/", "dnf/", "libdnf", "urlgrabber", "zypp"].map { Array($0.utf8) }

    public static func artifactClient(userAgent: String) -> Bool {
        let ua = Array(userAgent.utf8.prefix(512)).map(lower)
        return artifactAgents.contains { find($0, in: ua, from: 0) != nil }
    }

    // MARK: - Normalisation

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    static func hex(_ c: UInt8) -> UInt8? { HTTPInfo.hexValue(c) }

    /// One level of `%XX` (and `%uXXXX` for ASCII) decoding, `+` as a space.
    static func percentDecoded(_ s: [UInt8]) -> (bytes: [UInt8], changed: Bool) {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var changed = false
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == 0x25, i + 2 < s.count, let h = hex(s[i + 1]), let l = hex(s[i + 2]) {
                out.append(h << 4 | l); i += 3; changed = true
            } else if c == 0x25, i + 5 < s.count, lower(s[i + 1]) == 0x75, s[i + 2] == 0x30, s[i + 3] == 0x30,
                      let h = hex(s[i + 4]), let l = hex(s[i + 5]) {
                out.append(h << 4 | l); i += 6; changed = true  // %u00XX, IIS-style
            } else if c == 0x2B {
                out.append(0x20); i += 1; changed = true
            } else {
                out.append(c); i += 1
            }
        }
        return (out, changed)
    }

    /// The text as a server would see it after decoding it once or twice (a
    /// doubly encoded `%2527` is a quote to the application that decodes
    /// again), lower-cased, SQL comments `/*…*/` as a space, backslashes as
    /// slashes, and each run of whitespace (and control bytes) as one space.
    static func normalised<C: Collection>(_ text: C) -> [UInt8] where C.Element == UInt8 {
        var s = Array(text.prefix(inspectedBytes))
        for _ in 0..<2 {
            let (d, changed) = percentDecoded(s)
            s = d
            if !changed { break }
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        var lastSpace = true
        while i < s.count {
            var c = lower(s[i])
            if c == 0x2F, i + 1 < s.count, s[i + 1] == 0x2A {
                // `/*…*/` (to its end, or the text's) is a space to SQL.
                var j = i + 2
                while j + 1 < s.count, !(s[j] == 0x2A && s[j + 1] == 0x2F) { j += 1 }
                i = min(s.count, j + 2)
                if !lastSpace { out.append(0x20); lastSpace = true }
                continue
            }
            if c == 0x5C { c = 0x2F }
            if c <= 0x20 || c == 0x7F {
                if !lastSpace { out.append(0x20); lastSpace = true }
            } else {
                out.append(c); lastSpace = false
            }
            i += 1
        }
        return out
    }

    // MARK: - Matching helpers

    static func find(_ needle: [UInt8], in s: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, s.count >= needle.count, start <= s.count - needle.count else { return nil }
        let first = needle[0]
        var i = start
        while i <= s.count - needle.count {
            if s[i] == first {
                var k = 1
                while k < needle.count && s[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    static func contains(_ needle: String, _ s: [UInt8]) -> Bool { find(Array(needle.utf8), in: s, from: 0) != nil }

    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || c == 0x5F }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isQuote(_ c: UInt8) -> Bool { c == 0x27 || c == 0x22 || c == 0x60 }

    /// Occurrences of `word` not inside a longer word (letters, digits or `_` on neither side).
    static func wordPositions(_ word: String, in s: [UInt8]) -> [Int] {
        let w = Array(word.utf8)
        var out: [Int] = []
        var from = 0
        while let p = find(w, in: s, from: from) {
            let before = p == 0 ? 0x20 : s[p - 1]
            let after = p + w.count < s.count ? s[p + w.count] : 0x20
            if !isLetter(before) && !isDigit(before) && !isLetter(after) && !isDigit(after) { out.append(p) }
            from = p + 1
        }
        return out
    }

    static func skipSpaces(_ s: [UInt8], _ i: Int) -> Int {
        var i = i
        while i < s.count && s[i] == 0x20 { i += 1 }
        return i
    }

    /// An SQL literal at `i`: a quoted string or a number (not a column
    /// name: `age>30 and city='Paris'` is a filter, `' or 'a'='a` a
    /// tautology). Returns the index after it.
    static func literal(_ s: [UInt8], _ i: Int) -> Int? {
        var i = skipSpaces(s, i)
        while i < s.count && s[i] == 0x28 { i = skipSpaces(s, i + 1) }  // opening parentheses
        guard i < s.count else { return nil }
        if isQuote(s[i]) {
            let q = s[i]
            var j = i + 1
            while j < s.count && s[j] != q { j += 1 }
            return j < s.count ? j + 1 : s.count  // an open string runs to the end (the query's own quote closes it)
        }
        var j = i
        while j < s.count && (isDigit(s[j]) || s[j] == 0x2E) { j += 1 }
        return j > i && (j == s.count || !isLetter(s[j])) ? j : nil
    }

    /// A comparison at `i`: `=`, `<`, `>`, `!=`, `<>`, `like`, `is`, `regexp`, `rlike`.
    static func comparison(_ s: [UInt8], _ i: Int) -> Int? {
        var i = skipSpaces(s, i)
        while i < s.count && s[i] == 0x29 { i = skipSpaces(s, i + 1) }  // closing parentheses
        guard i < s.count else { return nil }
        switch s[i] {
        case 0x3D, 0x3C, 0x3E:
            var j = i + 1
            while j < s.count && (s[j] == 0x3D || s[j] == 0x3E) { j += 1 }
            return j
        case 0x21 where i + 1 < s.count && s[i + 1] == 0x3D: return i + 2
        default:
            for w in ["like", "is", "regexp", "rlike"] {
                let b = Array(w.utf8)
                if i + b.count <= s.count && Array(s[i..<(i + b.count)]) == b
                    && (i + b.count == s.count || !isLetter(s[i + b.count])) { return i + b.count }
            }
            return nil
        }
    }

    // MARK: - The families

    /// SQL injection: a comparison of two literals joined by OR/AND after a
    /// closed quote or number (`' or '1'='1`, `1 or 1=1`, `" or ""="`,
    /// `') or ('a'='a`); `union
    /// select`; a quote closed and the rest commented out (`admin'--`,
    /// `1'#`); a stacked statement after `;`; the schema tables and the
    /// timing and error functions of blind injection next to SQL.
    static func sqlInjection(_ s: [UInt8]) -> Bool {
        for p in wordPositions("union", in: s) {
            var j = skipSpaces(s, p + 5)
            if j + 3 <= s.count && s[j] == 0x61 && s[j + 1] == 0x6C && s[j + 2] == 0x6C { j = skipSpaces(s, j + 3) }  // all
            while j < s.count && s[j] == 0x28 { j = skipSpaces(s, j + 1) }
            if j + 6 <= s.count && Array(s[j..<(j + 6)]) == Array("select".utf8) { return true }
        }
        // Tautologies: OR/AND (or || &&) then operand, comparison, operand;
        // the OR must follow a quote or parenthesis that closes the
        // application's value, or a number (numeric parameters).
        for op in ["or", "and", "xor"] {
            for p in wordPositions(op, in: s) {
                var b = p - 1
                while b >= 0 && s[b] == 0x20 { b -= 1 }
                guard b >= 0, isQuote(s[b]) || s[b] == 0x29 || isDigit(s[b]) else { continue }
                if let a = literal(s, p + op.utf8.count), let c = comparison(s, a), literal(s, c) != nil { return true }
            }
        }
        for op in ["||", "&&"] {
            var from = 0
            while let p = find(Array(op.utf8), in: s, from: from) {
                from = p + 2
                var b = p - 1
                while b >= 0 && s[b] == 0x20 { b -= 1 }
                guard b >= 0, isQuote(s[b]) else { continue }
                if let a = literal(s, p + 2), let c = comparison(s, a), literal(s, c) != nil { return true }
            }
        }
        // A quote (optionally a parenthesis) closed, then a comment to the end: `admin'--`, `1')#`, `' -- -`.
        for i in s.indices where isQuote(s[i]) {
            var j = skipSpaces(s, i + 1)
            while j < s.count && s[j] == 0x29 { j = skipSpaces(s, j + 1) }
            guard j < s.count else { continue }
            // The comment runs to the value's end (the text's, a space, `&`, or `-- -`).
            if s[j] == 0x23 && j == i + 1 || s[j] == 0x23 && (j + 1 == s.count || s[j + 1] == 0x26) { return true }
            if s[j] == 0x2D, j + 1 < s.count, s[j + 1] == 0x2D {
                // `--` then the end, `&`, `-`, or a space and then one of those (`'--+-`, `' -- &`),
                // not prose going on after a quoted phrase (`"hello" -- world`).
                var k = j + 2
                if k < s.count && s[k] == 0x20 { k += 1 }
                if k == s.count || s[k] == 0x26 || s[k] == 0x2D { return true }
            }
        }
        // Stacked statements: `; drop table`, `;select … from`, `; exec xp_`.
        var from = 0
        while let p = find([0x3B], in: s, from: from) {
            from = p + 1
            let j = skipSpaces(s, p + 1)
            for (verb, then) in [("drop", "table"), ("drop", "database"), ("select", "from"), ("insert", "into"),
                                 ("delete", "from"), ("update", "set"), ("exec", ""), ("execute", ""), ("shutdown", ""),
                                 ("declare", "@"), ("truncate", "table")] {
                let v = Array(verb.utf8)
                guard j + v.count <= s.count, Array(s[j..<(j + v.count)]) == v,
                      j + v.count == s.count || !isLetter(s[j + v.count]) else { continue }
                if then.isEmpty || find(Array(then.utf8), in: s, from: j + v.count) != nil { return true }
            }
        }
        // Schema and blind-injection functions, when SQL surrounds them.
        if contains("information_schema", s) || contains("@@version", s) || contains("sys.objects", s)
            || contains("pg_catalog", s) || contains("sqlite_master", s) { return true }
        let sqlAround = s.contains(where: isQuote) || !wordPositions("select", in: s).isEmpty
            || !wordPositions("and", in: s).isEmpty || !wordPositions("or", in: s).isEmpty
        if sqlAround {
            for fn in ["sleep", "benchmark", "pg_sleep", "extractvalue", "updatexml", "load_file", "dbms_pipe.receive_message"] {
                for p in wordPositions(fn, in: s) {
                    let j = skipSpaces(s, p + fn.utf8.count)
                    if j < s.count && s[j] == 0x28 { return true }
                }
            }
            if contains("waitfor delay", s) { return true }
        }
        return false
    }

    /// Cross-site scripting: a script tag, a `javascript:` URL, a tag with
    /// an event handler (`<img src=x onerror=…>`, `<svg/onload=…>`), or
    /// tags that load script (`<iframe`, `<object`, `<embed`).
    static func crossSiteScripting(_ s: [UInt8]) -> Bool {
        for t in ["<script", "</script", "javascript:", "vbscript:", "<iframe", "<object", "<embed", "<svg", "<math",
                  "document.cookie", "expression("] where contains(t, s) {
            if t == "<svg" || t == "<math" {
                // `<svg` as the start of a tag, not `<svgfile`.
                let p = find(Array(t.utf8), in: s, from: 0)! + t.utf8.count
                if p < s.count && isLetter(s[p]) { continue }
            }
            return true
        }
        // A tag with an event handler: `<` and a letter, then within it ` on…=` or `/on…=`.
        var from = 0
        while let p = find([0x3C], in: s, from: from) {
            from = p + 1
            guard p + 1 < s.count, isLetter(s[p + 1]) else { continue }
            var j = p + 1
            let end = s[p...].firstIndex(of: 0x3E) ?? s.count
            while j < end {
                if (s[j] == 0x20 || s[j] == 0x2F || isQuote(s[j])), j + 3 < end, s[j + 1] == 0x6F, s[j + 2] == 0x6E {
                    var k = j + 3
                    while k < end && isLetter(s[k]) { k += 1 }
                    if k - (j + 3) >= 3 {
                        let e = skipSpaces(s, k)
                        if e < end && s[e] == 0x3D { return true }
                    }
                }
                j += 1
            }
        }
        return false
    }

    /// Path traversal and file inclusion: two `../` steps in a row (clients
    /// remove dot segments before sending, so even one is rare; `....//`
    /// filter evasion included), or the files and wrappers an inclusion reads.
    static func pathTraversal(_ s: [UInt8]) -> Bool {
        if contains("../../", s) || contains("..//..//", s) || contains("..;/..;/", s) { return true }
        for f in ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "win.ini", "boot.ini", "/windows/system32",
                  "web-inf/web.xml", "php://filter", "php://input", "expect://", "zip://", "phar://", "file:///"] where contains(f, s) {
            return true
        }
        if let p = find(Array("../".utf8), in: s, from: 0), find(Array("/etc/".utf8), in: s, from: p) != nil { return true }
        return false
    }

    /// Exploits of well-known server flaws by their payloads: a JNDI lookup
    /// (Log4Shell, also with nested `${…}` lookups spelling `jndi`), a bash
    /// function definition (Shellshock), OGNL expressions (Struts), Spring's
    /// class-loader properties, PHP code or PHP-CGI's ini overrides, and Java
    /// runtime calls.
    static func exploit(_ s: [UInt8]) -> Bool {
        if let p = find(Array("${".utf8), in: s, from: 0) {
            if find(Array("jndi".utf8), in: s, from: p) != nil || find(Array(":-j}".utf8), in: s, from: p) != nil
                || find(Array("lower:j}".utf8), in: s, from: p) != nil { return true }
        }
        for marker in ["() {", "%{(#", "${(#", "#_memberaccess", "ognlcontext", "@java.lang.runtime@",
                       "java.lang.runtime", "getruntime().exec", "class.module.classloader", "<?php",
                       "allow_url_include", "auto_prepend_file"] where contains(marker, s) {
            if marker == "() {" && !contains(";", s) { continue }  // Shellshock: `() { :; };`
            return true
        }
        return false
    }

    /// Command injection: a shell separator (`;`, `|`, `&&`, `||`, a
    /// backtick, `$(`) followed by a command an injection runs. Short
    /// commands that are also ordinary words (`id`, `ls`, `cat`) count only
    /// with an argument that looks like one (`-…` or `/…`), inside
    /// backticks or `$( )`, or after a separator that follows an address or
    /// number (`127.0.0.1|id`), not in a list like `name;id`.
    static func commandInjection(_ s: [UInt8]) -> Bool {
        let distinctive = ["whoami", "uname", "wget", "curl", "ifconfig", "nslookup", "netcat", "ncat", "bash", "/bin/sh",
                           "/bin/bash", "chmod", "python", "perl", "powershell", "cmd.exe", "passwd"]
        let ordinary = ["id", "ls", "cat", "nc", "sh", "rm", "echo", "ping", "pwd", "dir", "type", "sleep"]
        var i = 0
        while i < s.count {
            var sepEnd = -1
            var enclosed = false
            let c = s[i]
            if c == 0x3B { sepEnd = i + 1 }
            else if c == 0x7C { sepEnd = i + 1 < s.count && s[i + 1] == 0x7C ? i + 2 : i + 1 }
            else if c == 0x26, i + 1 < s.count, s[i + 1] == 0x26 { sepEnd = i + 2 }
            else if c == 0x60 { sepEnd = i + 1; enclosed = true }
            else if c == 0x24, i + 1 < s.count, s[i + 1] == 0x28 { sepEnd = i + 2; enclosed = true }
            guard sepEnd > 0 else { i += 1; continue }
            let j = skipSpaces(s, sepEnd)
            var k = j
            while k < s.count && (isLetter(s[k]) || isDigit(s[k]) || s[k] == 0x2E || s[k] == 0x2F) { k += 1 }
            let word = Array(s[j..<k])
            let before: UInt8 = i > 0 ? s[i - 1] : 0x20
            if distinctive.contains(where: { word == Array($0.utf8) }) { return true }
            if ordinary.contains(where: { word == Array($0.utf8) }) {
                let a = skipSpaces(s, k)
                let argument = a > k && a < s.count && (s[a] == 0x2D || s[a] == 0x2F)
                let ended = k == s.count || s[k] == 0x60 || s[k] == 0x29 || s[k] == 0x3B || s[k] == 0x7C || s[k] == 0x26
                let afterValue = isDigit(before) || before == 0x20 || isQuote(before) || i == 0 || before == 0x3D
                if argument || (enclosed && ended) || (afterValue && ended) { return true }
            }
            i = sepEnd
        }
        return false
    }
}
