/// The Redis serialization protocol (RESP2), the two halves FlowSentry
/// needs: commands encoded as arrays of bulk strings, and replies parsed
/// from bytes the server sent. Self-contained (no imports) so the libFuzzer
/// target in Fuzz/RESPFuzz.swift builds it alone.
package enum RESP {
    /// A reply from the server.
    package indirect enum Reply: Equatable, Sendable {
        case simple(String)          // +OK
        case error(String)           // -ERR ...
        case integer(Int64)          // :42
        case bulk([UInt8]?)          // $3 abc, or $-1 (nil)
        case array([Reply]?)         // *2 ..., or *-1 (nil)

        package var isError: Bool { if case .error = self { return true }; return false }
    }

    /// What `parse` found at the start of the bytes.
    package enum Parsed: Equatable, Sendable {
        /// Not enough bytes yet for a whole reply.
        case incomplete
        /// A whole reply, ending before byte `end`.
        case reply(Reply, end: Int)
        /// Bytes that are not RESP: the connection cannot be trusted any more.
        case invalid(String)
    }

    /// Longest bulk string accepted (Redis's own proto-max-bulk-len default).
    package static let maxBulk = 512 << 20
    /// Deepest nesting of arrays accepted.
    package static let maxDepth = 16

    // MARK: Encoding

    /// Appends `*count\r\n`: a command of `count` arguments follows.
    package static func appendArrayHeader(_ count: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        appendDecimal(count, to: &out)
    }

    /// Appends one argument as a bulk string: `$len\r\n<bytes>\r\n`.
    package static func appendBulk<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        out.append(UInt8(ascii: "$"))
        appendDecimal(bytes.count, to: &out)
        out.append(contentsOf: bytes)
        out.append(13); out.append(10)
    }

    package static func appendBulk(_ s: String, to out: inout [UInt8]) { appendBulk(Array(s.utf8), to: &out) }

    /// Appends a whole command of string arguments (AUTH, PING, ...).
    package static func appendCommand(_ args: [String], to out: inout [UInt8]) {
        appendArrayHeader(args.count, to: &out)
        for a in args { appendBulk(a, to: &out) }
    }

    /// A decimal and CRLF (a small String stays inline: no allocation).
    private static func appendDecimal(_ v: Int, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
        out.append(13); out.append(10)
    }

    // MARK: Parsing

    /// Parses one reply from the start of `bytes`. Never traps: any byte
    /// sequence is incomplete, a reply, or invalid.
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        var pos = 0
        switch reply(bytes, &pos, depth: 0) {
        case .success(let r?): return .reply(r, end: pos)
        case .success(nil): return .incomplete
        case .failure(let e): return .invalid(e.reason)
        }
    }

    package static func parse(_ bytes: [UInt8]) -> Parsed { bytes.withUnsafeBytes { parse($0) } }

    private struct Invalid: Error { let reason: String }

    /// One reply at `pos` (advanced past it); nil when the bytes end first.
    private static func reply(_ b: UnsafeRawBufferPointer, _ pos: inout Int, depth: Int) -> Result<Reply?, Invalid> {
        guard pos < b.count else { return .success(nil) }
        let type = b[pos]
        guard let line = lineEnd(b, from: pos + 1) else {
            // No CRLF yet: wait, unless the line is already longer than any valid one.
            if type == UInt8(ascii: "+") || type == UInt8(ascii: "-") { return b.count - pos > 1 << 20 ? .failure(Invalid(reason: "status line longer than 1 MiB")) : .success(nil) }
            return b.count - pos > 32 ? .failure(Invalid(reason: "length line without CRLF")) : .success(nil)
        }
        let text = UnsafeRawBufferPointer(rebasing: b[(pos + 1)..<line])
        let next = line + 2
        switch type {
        case UInt8(ascii: "+"):
            pos = next
            return .success(.simple(String(decoding: text, as: UTF8.self)))
        case UInt8(ascii: "-"):
            pos = next
            return .success(.error(String(decoding: text, as: UTF8.self)))
        case UInt8(ascii: ":"):
            guard let v = integer(text) else { return .failure(Invalid(reason: "bad integer reply")) }
            pos = next
            return .success(.integer(v))
        case UInt8(ascii: "$"):
            guard let n = integer(text), n >= -1, n <= maxBulk else { return .failure(Invalid(reason: "bad bulk length")) }
            if n == -1 { pos = next; return .success(.bulk(nil)) }
            let len = Int(n)
            guard b.count - next >= len + 2 else { return .success(nil) }
            guard b[next + len] == 13, b[next + len + 1] == 10 else { return .failure(Invalid(reason: "bulk string not ended by CRLF")) }
            pos = next + len + 2
            return .success(.bulk(Array(UnsafeRawBufferPointer(rebasing: b[next..<(next + len)]))))
        case UInt8(ascii: "*"):
            guard let n = integer(text), n >= -1 else { return .failure(Invalid(reason: "bad array length")) }
            if n == -1 { pos = next; return .success(.array(nil)) }
            guard depth < maxDepth else { return .failure(Invalid(reason: "arrays nested deeper than \(maxDepth)")) }
            // Every element takes at least 3 bytes: a count beyond what could
            // still arrive within maxBulk is not a real reply.
            guard n <= Int64(maxBulk / 3) else { return .failure(Invalid(reason: "bad array length")) }
            var p = next
            var items: [Reply] = []
            for _ in 0..<Int(n) {
                switch reply(b, &p, depth: depth + 1) {
                case .success(let r?): items.append(r)
                case .success(nil): return .success(nil)
                case .failure(let e): return .failure(e)
                }
            }
            pos = p
            return .success(.array(items))
        default:
            return .failure(Invalid(reason: "unknown reply type byte 0x" + String(type, radix: 16)))
        }
    }

    /// The index of the CR of the first CRLF at or after `from`.
    private static func lineEnd(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 1 < b.count {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// A signed decimal of at most 18 digits; nil for anything else.
    private static func integer(_ t: UnsafeRawBufferPointer) -> Int64? {
        var i = 0, negative = false
        if t.count > 0 && t[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        guard t.count > i, t.count - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < t.count {
            let d = t[i]
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int64(d - UInt8(ascii: "0"))
            i += 1
        }
        return negative ? -v : v
    }
}
