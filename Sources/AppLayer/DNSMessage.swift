import Decoding

/// One DNS message (RFC 1035 §4.1) as text fit for a flow record: the
/// header, the questions, and the answer and authority records with their
/// data written the way Suricata's EVE `dns` (version 3) writes them.
///
/// Bounded whatever the input: at most `maxQuestions` questions,
/// `maxAnswers` answers and `maxAuthorities` authorities are kept (the rest
/// are walked and counted, not kept); a name is cut at `maxNameBytes`
/// bytes; TXT and NULL text of a message stops at `maxTextBytes` bytes.
///
/// Names are in presentation form without the trailing dot, case as sent
/// (the root is ""). Printable ASCII (0x20–0x7E) is kept as is, dots and
/// backslashes inside a label included (as tshark and Suricata print them);
/// control bytes (< 0x20, 0x7F) become `\xNN`; bytes ≥ 0x80 are kept when
/// the whole name is valid UTF-8 and become `\xNN` otherwise (Suricata's rule).
public struct DNSMessage: Sendable, Equatable {
    public static let maxQuestions = 32
    public static let maxAnswers = 64
    public static let maxAuthorities = 16
    /// Longest name kept, in wire bytes (RFC 1035 §2.3.4: 255 is also the legal limit).
    public static let maxNameBytes = 255
    /// Longest character-string kept (its length byte makes 255 the most there can be).
    public static let maxStringBytes = 255
    /// Character-strings kept per TXT record.
    public static let maxTXTStrings = 32
    /// TXT and NULL text kept per message, in bytes before escaping.
    public static let maxTextBytes = 16_384
    /// Compression pointers followed per name; each must point before itself.
    public static let maxPointerJumps = 16

    /// A question: name, type and class as sent, with the shape of the name.
    public struct Question: Sendable, Equatable {
        public var rrname: String
        public var rrnameTruncated: Bool
        public var rrtype: UInt16
        public var rrclass: UInt16
        /// Presentation length: label bytes plus the dots between them (no trailing dot).
        public var nameLength: Int
        public var labelCount: Int
        /// Shannon entropy in bits per character of the label bytes (ASCII
        /// lower-cased, dots left out), and how many of them are digits.
        public var nameEntropy: Double
        public var nameDigits: Int
    }

    /// A resource record. `rdata` holds the data as text for the types
    /// Suricata prints as `rdata`: A (dotted quad), AAAA (eight groups of
    /// four lower-case hex digits, as Suricata writes it), CNAME, NS, PTR,
    /// DNAME (the name), MX (the exchange; `preference` apart) and NULL (the
    /// bytes, escaped like names). TXT and SPF keep their character-strings
    /// in `txt` (EVE writes one answer per string, as Suricata does); SOA,
    /// SRV and SSHFP fill their own members. Other types carry no data text.
    public struct Record: Sendable, Equatable {
        public var rrname: String
        public var rrnameTruncated = false
        public var rrtype: UInt16
        public var rrclass: UInt16
        public var ttl: UInt32
        public var rdata: String?
        /// A name in the data was cut, or TXT/NULL text was cut or left out.
        public var rdataTruncated = false
        public var txt: [String] = []
        public var preference: UInt16?
        public var soa: SOA?
        public var srv: SRV?
        public var sshfp: SSHFP?

        public init(rrname: String, rrtype: UInt16, rrclass: UInt16 = 1, ttl: UInt32) {
            self.rrname = rrname
            self.rrtype = rrtype
            self.rrclass = rrclass
            self.ttl = ttl
        }

        /// `rdata` as tshark prints it: AAAA compressed (RFC 5952), the rest unchanged.
        public var rdataCompressed: String? {
            guard rrtype == 28, let rdata else { return rdata }
            return DNSMessage.compressIPv6(expanded: rdata) ?? rdata
        }
    }

    public struct SOA: Sendable, Equatable {
        public var mname: String
        public var mnameTruncated: Bool
        public var rname: String
        public var rnameTruncated: Bool
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        public var minimum: UInt32
    }

    public struct SRV: Sendable, Equatable {
        public var priority: UInt16
        public var weight: UInt16
        public var port: UInt16
        public var target: String
        public var targetTruncated: Bool
    }

    public struct SSHFP: Sendable, Equatable {
        public var algorithm: UInt8
        public var fingerprintType: UInt8
        /// Lower-case hex pairs joined by ':' (Suricata's form).
        public var fingerprint: String
    }

    public var id: UInt16 = 0
    /// The header's second 16-bit word, raw: QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE.
    public var flags: UInt16 = 0
    /// The header's section counts, as sent.
    public var questionCount: UInt16 = 0
    public var answerCount: UInt16 = 0
    public var authorityCount: UInt16 = 0
    public var additionalCount: UInt16 = 0
    public var questions: [Question] = []
    public var answers: [Record] = []
    public var authorities: [Record] = []
    /// Complete records read per section: at least the kept ones, at most the header's counts.
    public var answersParsed = 0
    public var authoritiesParsed = 0
    public var additionalsParsed = 0
    /// The smallest TTL over the answers read; nil when there were none.
    public var minimumAnswerTTL: UInt32?
    /// The message's length as declared (the datagram, or the TCP length prefix).
    public var length = 0
    /// The bytes ended before the declared length did (a cut TCP stream
    /// prefix): parsing stopped there, and that alone is not `malformed`.
    public var incomplete = false
    /// nil when well-formed, else the first problem met (`dns.…`, snake_case).
    public var malformed: String?

    public init() {}

    public var qr: Bool { flags & 0x8000 != 0 }
    public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }
    public var aa: Bool { flags & 0x0400 != 0 }
    public var tc: Bool { flags & 0x0200 != 0 }
    public var rd: Bool { flags & 0x0100 != 0 }
    public var ra: Bool { flags & 0x0080 != 0 }
    /// The reserved bit (RFC 1035's Z; Suricata's `z`).
    public var z: Bool { flags & 0x0040 != 0 }
    public var ad: Bool { flags & 0x0020 != 0 }
    public var cd: Bool { flags & 0x0010 != 0 }
    /// The header's 4-bit RCODE (an EDNS extended RCODE is not added).
    public var rcode: UInt8 { UInt8(flags & 0xF) }
}

/// Reads one DNS message with every wire read bounds-checked through
/// `ByteView`. Hostile input ends parsing with a `malformed` reason, never
/// a trap or an unbounded loop: pointers only go backwards and at most
/// `maxPointerJumps` per name, a name stops growing at `maxNameBytes`, and
/// every section walk advances through the message.
public enum DNSMessageParser {
    /// Parses the message at `start` whose declared length is `length`
    /// (bytes past the view's end are missing: the message is then
    /// `incomplete`). nil when there is no 12-byte header, or when the first
    /// question is not readable (then the bytes are not taken for DNS).
    public static func parse(_ b: ByteView, at start: Int, length: Int) -> DNSMessage? {
        guard start >= 0, length >= 12, start <= b.count else { return nil }
        let declaredEnd = start + length
        var r = DNSReader(b: b, start: start, end: min(declaredEnd, b.count), declaredEnd: declaredEnd)
        guard let id = b.u16(start), let flags = b.u16(start + 2), let qd = b.u16(start + 4),
              let an = b.u16(start + 6), let ns = b.u16(start + 8), let ar = b.u16(start + 10) else { return nil }
        var m = DNSMessage()
        m.id = id; m.flags = flags; m.length = length
        m.questionCount = qd; m.answerCount = an; m.authorityCount = ns; m.additionalCount = ar
        var p = start + 12
        do throws(DNSStop) {
            for i in 0..<Int(qd) {
                do throws(DNSStop) {
                    let keep = i < DNSMessage.maxQuestions
                    let (q, next) = try r.question(at: p, keep: keep)
                    if let q { m.questions.append(q) }
                    p = next
                } catch {
                    if i == 0 { return nil }  // the first question decides whether this is DNS at all
                    throw error
                }
            }
            for i in 0..<Int(an) {
                let (rec, ttl, next) = try r.record(at: p, keep: i < DNSMessage.maxAnswers)
                if let rec { m.answers.append(rec) }
                m.answersParsed += 1
                m.minimumAnswerTTL = min(m.minimumAnswerTTL ?? ttl, ttl)
                p = next
            }
            for i in 0..<Int(ns) {
                let (rec, _, next) = try r.record(at: p, keep: i < DNSMessage.maxAuthorities)
                if let rec { m.authorities.append(rec) }
                m.authoritiesParsed += 1
                p = next
            }
            for _ in 0..<Int(ar) {
                let (_, _, next) = try r.record(at: p, keep: false)
                m.additionalsParsed += 1
                p = next
            }
        } catch {
            switch error {
            case .incomplete: m.incomplete = true
            case .malformed(let why): r.note(why)
            }
        }
        m.malformed = r.firstProblem
        return m
    }
}

/// Why reading stopped: the captured bytes ended inside the declared
/// message, or the message itself is broken.
enum DNSStop: Error {
    case incomplete
    case malformed(String)
}

/// A name as read: its escaped text and raw bytes (empty when not
/// collected), where the record continues after it, and its shape.
struct DNSNameRead {
    var text = ""
    var truncated = false
    var next = 0
    /// Label bytes plus dots, and labels, over the part read (all of it unless cut).
    var length = 0
    var labels = 0
    var raw: [UInt8] = []
}

/// The cursor over one message: its bounds, the text budget, and the first
/// problem met in record data (which does not stop the walk: RDLENGTH says
/// where the next record starts).
struct DNSReader {
    let b: ByteView
    let start: Int
    /// End of the captured bytes of this message (≤ `declaredEnd`).
    let end: Int
    let declaredEnd: Int
    var textLeft = DNSMessage.maxTextBytes
    var firstProblem: String?

    init(b: ByteView, start: Int, end: Int, declaredEnd: Int) {
        self.b = b; self.start = start; self.end = end; self.declaredEnd = declaredEnd
    }

    mutating func note(_ why: String) { if firstProblem == nil { firstProblem = why } }

    /// Reading `count` bytes at `p` ran past the captured end: incomplete
    /// when the declared message goes on, else the message is `reason`.
    func pastEnd(_ p: Int, _ count: Int, limit: Int, _ reason: String) -> DNSStop? {
        if p + count <= min(limit, end) { return nil }
        if p + count <= limit && limit <= declaredEnd && end < declaredEnd { return .incomplete }
        return .malformed(reason)
    }

    /// Reads the name at `p0`. Its bytes in place must end by `limit` (the
    /// message, or the record data holding it); pointers may lead anywhere
    /// earlier in the message after the header. Past `maxNameBytes` the
    /// name is cut: pointers are no longer followed and the in-place labels
    /// are only skipped to find where the record goes on.
    func name(at p0: Int, limit: Int, collect: Bool) throws(DNSStop) -> DNSNameRead {
        var out = DNSNameRead()
        var p = p0, jumps = 0, next = -1
        var wire = 1  // the root's zero byte
        var tooLong = false
        var segmentLimit = limit
        walk: while true {
            if let stop = pastEnd(p, 1, limit: segmentLimit, "dns.truncated_name") { throw stop }
            guard let len = b.u8(p) else { throw .malformed("dns.truncated_name") }
            switch len & 0xC0 {
            case 0xC0:
                if let stop = pastEnd(p, 2, limit: segmentLimit, "dns.truncated_name") { throw stop }
                guard let lo = b.u8(p + 1) else { throw .malformed("dns.truncated_name") }
                if next < 0 { next = p + 2 }
                if tooLong { break walk }  // cut already; where the record continues is known now
                let target = start + (Int(len & 0x3F) << 8 | Int(lo))
                if target == p { throw .malformed("dns.name_loop") }
                guard target < p, target >= start + 12 else { throw .malformed("dns.bad_pointer") }
                jumps += 1
                guard jumps <= DNSMessage.maxPointerJumps else { throw .malformed("dns.name_loop") }
                p = target
                segmentLimit = declaredEnd
            case 0x00:
                if len == 0 {
                    if next < 0 { next = p + 1 }
                    break walk
                }
                let l = Int(len)
                if let stop = pastEnd(p + 1, l, limit: segmentLimit, "dns.truncated_name") { throw stop }
                if !tooLong && wire + l + 1 > DNSMessage.maxNameBytes {
                    tooLong = true
                    out.truncated = true
                    if next >= 0 { break walk }  // behind a pointer: the rest is not needed
                }
                if !tooLong {
                    wire += l + 1
                    if collect {
                        if out.labels > 0 { out.raw.append(UInt8(ascii: ".")) }
                        for i in 0..<l { out.raw.append(b.u8(p + 1 + i) ?? 0) }
                    }
                    out.labels += 1
                }
                p += 1 + l  // past the cut the in-place labels are only skipped, to find the end
            default:
                throw .malformed("dns.bad_label")  // 0x40 / 0x80: extended label types (RFC 6891 §5) are obsolete
            }
        }
        out.next = next
        out.length = out.labels > 0 ? wire - 2 : 0  // label bytes and the dots between them
        if collect { out.text = DNSText.presentation(out.raw) }
        return out
    }

    /// A question: name, type, class. nil when past the kept ones.
    mutating func question(at p: Int, keep: Bool) throws(DNSStop) -> (DNSMessage.Question?, Int) {
        let n = try name(at: p, limit: declaredEnd, collect: keep)
        if n.truncated { note("dns.name_too_long") }
        if let stop = pastEnd(n.next, 4, limit: declaredEnd, "dns.truncated_question") { throw stop }
        guard let t = b.u16(n.next), let c = b.u16(n.next + 2) else { throw .malformed("dns.truncated_question") }
        guard keep else { return (nil, n.next + 4) }
        let shape = DNSText.shape(n.raw)
        let q = DNSMessage.Question(rrname: n.text, rrnameTruncated: n.truncated, rrtype: t, rrclass: c,
                                    nameLength: n.length, labelCount: n.labels,
                                    nameEntropy: shape.entropy, nameDigits: shape.digits)
        return (q, n.next + 4)
    }

    /// A resource record and its TTL; the record itself only when `keep`.
    mutating func record(at p: Int, keep: Bool) throws(DNSStop) -> (DNSMessage.Record?, UInt32, Int) {
        let n = try name(at: p, limit: declaredEnd, collect: keep)
        if n.truncated { note("dns.name_too_long") }
        let q = n.next
        if let stop = pastEnd(q, 10, limit: declaredEnd, "dns.truncated_rr") { throw stop }
        guard let type = b.u16(q), let cls = b.u16(q + 2), let ttl = b.u32(q + 4), let rdlen = b.u16(q + 8)
        else { throw .malformed("dns.truncated_rr") }
        let rdStart = q + 10, rdEnd = rdStart + Int(rdlen)
        if let stop = pastEnd(rdStart, Int(rdlen), limit: declaredEnd, "dns.truncated_rr") { throw stop }
        guard keep else { return (nil, ttl, rdEnd) }
        var rec = DNSMessage.Record(rrname: n.text, rrtype: type, rrclass: cls, ttl: ttl)
        rec.rrnameTruncated = n.truncated
        rdata(into: &rec, from: rdStart, to: rdEnd)
        return (rec, ttl, rdEnd)
    }

    /// A name inside record data, or nil with the problem noted.
    mutating func dataName(at p: Int, to rdEnd: Int) -> DNSNameRead? {
        do throws(DNSStop) {
            let n = try name(at: p, limit: rdEnd, collect: true)
            if n.truncated { note("dns.name_too_long") }
            return n
        } catch {
            switch error {
            case .malformed(let why): note(why == "dns.truncated_name" ? "dns.bad_rdata" : why)
            case .incomplete: note("dns.bad_rdata")
            }
        }
        return nil
    }

    /// Fills the record's data text by type; data that does not fit its
    /// type is noted as `dns.bad_rdata` and left out.
    mutating func rdata(into rec: inout DNSMessage.Record, from p: Int, to rdEnd: Int) {
        let len = rdEnd - p
        switch rec.rrtype {
        case 1:  // A
            guard len == 4, let v = b.u32(p) else { note("dns.bad_rdata"); return }
            rec.rdata = "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case 28:  // AAAA
            guard len == 16 else { note("dns.bad_rdata"); return }
            var groups: [UInt16] = []
            for i in 0..<8 { groups.append(b.u16(p + 2 * i) ?? 0) }
            rec.rdata = DNSText.expandedIPv6(groups)
        case 2, 5, 12, 39:  // NS, CNAME, PTR, DNAME
            guard let n = dataName(at: p, to: rdEnd) else { return }
            rec.rdata = n.text
            rec.rdataTruncated = n.truncated
        case 15:  // MX: preference, exchange
            guard len >= 3, let pref = b.u16(p), let n = dataName(at: p + 2, to: rdEnd) else {
                if len < 3 { note("dns.bad_rdata") }
                return
            }
            rec.preference = pref
            rec.rdata = n.text
            rec.rdataTruncated = n.truncated
        case 33:  // SRV: priority, weight, port, target
            guard len >= 7, let pri = b.u16(p), let w = b.u16(p + 2), let port = b.u16(p + 4),
                  let n = dataName(at: p + 6, to: rdEnd) else {
                if len < 7 { note("dns.bad_rdata") }
                return
            }
            rec.srv = DNSMessage.SRV(priority: pri, weight: w, port: port, target: n.text, targetTruncated: n.truncated)
            rec.rdataTruncated = n.truncated
        case 6:  // SOA: mname, rname, five 32-bit values
            guard let mn = dataName(at: p, to: rdEnd), let rn = dataName(at: mn.next, to: rdEnd) else { return }
            guard rn.next + 20 <= rdEnd, let serial = b.u32(rn.next), let refresh = b.u32(rn.next + 4),
                  let retry = b.u32(rn.next + 8), let expire = b.u32(rn.next + 12), let minimum = b.u32(rn.next + 16)
            else { note("dns.bad_rdata"); return }
            rec.soa = DNSMessage.SOA(mname: mn.text, mnameTruncated: mn.truncated, rname: rn.text,
                                     rnameTruncated: rn.truncated, serial: serial, refresh: refresh,
                                     retry: retry, expire: expire, minimum: minimum)
            rec.rdataTruncated = mn.truncated || rn.truncated
        case 16, 99:  // TXT, SPF: character-strings, each a length byte then that many bytes
            var q = p
            while q < rdEnd {
                guard let l = b.u8(q), q + 1 + Int(l) <= rdEnd else { note("dns.bad_rdata"); return }
                if rec.txt.count < DNSMessage.maxTXTStrings, let s = text(from: q + 1, count: Int(l), into: &rec) {
                    rec.txt.append(s)
                } else {
                    rec.rdataTruncated = true
                }
                q += 1 + Int(l)
            }
        case 10:  // NULL: any bytes (iodine's downstream), escaped like names
            rec.rdata = text(from: p, count: len, into: &rec) ?? ""
        case 44:  // SSHFP: algorithm, type, fingerprint
            guard len >= 2, let algo = b.u8(p), let fpType = b.u8(p + 1) else { note("dns.bad_rdata"); return }
            var hex: [UInt8] = []
            for i in 0..<min(len - 2, 64) {
                let c = b.u8(p + 2 + i) ?? 0
                if i > 0 { hex.append(UInt8(ascii: ":")) }
                hex.append(DNSText.hex[Int(c >> 4)]); hex.append(DNSText.hex[Int(c & 0xF)])
            }
            rec.sshfp = DNSMessage.SSHFP(algorithm: algo, fingerprintType: fpType,
                                         fingerprint: String(decoding: hex, as: UTF8.self))
            if len - 2 > 64 { rec.rdataTruncated = true }
        default:
            break  // no data text (as Suricata, which prints none for these types)
        }
    }

    /// `count` data bytes as escaped text, within the message's text budget
    /// and `maxStringBytes`; marks the record when cut; nil when none is left.
    mutating func text(from p: Int, count: Int, into rec: inout DNSMessage.Record) -> String? {
        let n = min(count, DNSMessage.maxStringBytes, textLeft)
        if n < count { rec.rdataTruncated = true }
        if n == 0 && count > 0 { return nil }
        textLeft -= n
        var raw: [UInt8] = []
        raw.reserveCapacity(n)
        for i in 0..<n { raw.append(b.u8(p + i) ?? 0) }
        return DNSText.presentation(raw)
    }
}

/// Text forms shared by the parser and its callers.
enum DNSText {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Bytes as a name or string for a record: printable ASCII as is,
    /// control bytes as `\xNN`, bytes ≥ 0x80 as is when all the bytes are
    /// valid UTF-8 and as `\xNN` otherwise.
    static func presentation(_ raw: [UInt8]) -> String {
        var plain = true
        for c in raw where c < 0x20 || c >= 0x7F { plain = false; break }
        if plain { return String(decoding: raw, as: UTF8.self) }
        let utf8 = String(validating: raw, as: UTF8.self) != nil
        var out: [UInt8] = []
        out.reserveCapacity(raw.count * 2)
        for c in raw {
            if c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8) {
                out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "x"))
                out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 0xF)])
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Entropy (bits per character) and digit count of a name's label
    /// bytes, ASCII lower-cased (0x20 case randomisation must not count),
    /// dots left out.
    static func shape(_ raw: [UInt8]) -> (entropy: Double, digits: Int) {
        var counts = [Int](repeating: 0, count: 256)
        var n = 0, digits = 0
        for var c in raw where c != UInt8(ascii: ".") {
            if c >= 65 && c <= 90 { c += 32 }
            if c >= 48 && c <= 57 { digits += 1 }
            counts[Int(c)] += 1
            n += 1
        }
        guard n > 0 else { return (0, 0) }
        var e = 0.0
        for k in counts where k > 0 {
            let pr = Double(k) / Double(n)
            e -= pr * log2(pr)
        }
        return (e, digits)
    }

    /// Eight groups of four lower-case hex digits, as Suricata prints AAAA data.
    static func expandedIPv6(_ g: [UInt16]) -> String {
        var out: [UInt8] = []
        for (i, v) in g.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ":")) }
            for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int(v >> UInt16(shift) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension DNSMessage {
    /// The RFC 5952 form of an address in Suricata's expanded form (what
    /// tshark's `dns.aaaa` prints): leading zeros dropped, the longest run of
    /// two or more zero groups (the first on a tie) as `::`, and IPv4-mapped
    /// (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) addresses with a
    /// dotted tail, as tshark 4.0 writes them. nil when `expanded` is not eight hex groups.
    public static func compressIPv6(expanded: String) -> String? {
        let parts = expanded.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 8 else { return nil }
        var g: [UInt16] = []
        for p in parts {
            guard p.count >= 1 && p.count <= 4, let v = UInt16(p, radix: 16) else { return nil }
            g.append(v)
        }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        if bestLen < 2 { bestStart = -1; bestLen = 0 }
        // The embedded IPv4 forms tshark prints: ::ffff:a.b.c.d, and ::a.b.c.d when
        // exactly the first six groups are zero (so ::1 and ::2 stay as they are).
        let v4 = bestStart == 0 && (bestLen == 6 || (bestLen == 5 && g[5] == 0xFFFF))
        var out = ""
        var k = 0
        while k < 8 {
            if k == bestStart {
                out += "::"
                k += bestLen
                continue
            }
            if v4 && k == 6 {
                if k != bestStart + bestLen { out += ":" }
                out += "\(g[6] >> 8).\(g[6] & 0xFF).\(g[7] >> 8).\(g[7] & 0xFF)"
                break
            }
            if k > 0 && k != bestStart + bestLen { out += ":" }
            out += String(g[k], radix: 16)
            k += 1
        }
        return out
    }

    /// The record type's mnemonic (IANA registry), or its number as text.
    public static func typeName(_ t: UInt16) -> String {
        switch t {
        case 1: "A"
        case 2: "NS"
        case 3: "MD"
        case 4: "MF"
        case 5: "CNAME"
        case 6: "SOA"
        case 7: "MB"
        case 8: "MG"
        case 9: "MR"
        case 10: "NULL"
        case 11: "WKS"
        case 12: "PTR"
        case 13: "HINFO"
        case 14: "MINFO"
        case 15: "MX"
        case 16: "TXT"
        case 17: "RP"
        case 18: "AFSDB"
        case 19: "X25"
        case 20: "ISDN"
        case 21: "RT"
        case 22: "NSAP"
        case 23: "NSAPPTR"
        case 24: "SIG"
        case 25: "KEY"
        case 26: "PX"
        case 27: "GPOS"
        case 28: "AAAA"
        case 29: "LOC"
        case 30: "NXT"
        case 33: "SRV"
        case 34: "ATMA"
        case 35: "NAPTR"
        case 36: "KX"
        case 37: "CERT"
        case 38: "A6"
        case 39: "DNAME"
        case 41: "OPT"
        case 42: "APL"
        case 43: "DS"
        case 44: "SSHFP"
        case 45: "IPSECKEY"
        case 46: "RRSIG"
        case 47: "NSEC"
        case 48: "DNSKEY"
        case 49: "DHCID"
        case 50: "NSEC3"
        case 51: "NSEC3PARAM"
        case 52: "TLSA"
        case 53: "SMIMEA"
        case 55: "HIP"
        case 59: "CDS"
        case 60: "CDNSKEY"
        case 61: "OPENPGPKEY"
        case 62: "CSYNC"
        case 63: "ZONEMD"
        case 64: "SVCB"
        case 65: "HTTPS"
        case 99: "SPF"
        case 249: "TKEY"
        case 250: "TSIG"
        case 251: "IXFR"
        case 252: "AXFR"
        case 253: "MAILB"
        case 254: "MAILA"
        case 255: "ANY"
        case 256: "URI"
        case 257: "CAA"
        default: String(t)
        }
    }

    /// The RCODE's name as Suricata writes it (upper case), or its number as text.
    public static func rcodeName(_ r: UInt8) -> String {
        switch r {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        default: String(r)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
