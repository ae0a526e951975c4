import Sensor
import Testing

/// The RESP encoder against the protocol specification's own examples
/// (redis.io/docs/reference/protocol-spec), and the reply parser against
/// them, every truncation of them, and random and mutated bytes: it must
/// answer incomplete, a reply, or invalid, and never trap.
@Suite struct RESPTests {
    @Test func encodesCommandsAsTheSpecificationShows() {
        var out: [UInt8] = []
        RESP.appendCommand(["LLEN", "mylist"], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n")
        out.removeAll()
        RESP.appendArrayHeader(3, to: &out)
        RESP.appendBulk("SET", to: &out)
        RESP.appendBulk("key", to: &out)
        RESP.appendBulk(Array("a\r\nb".utf8), to: &out)  // binary-safe: CRLF inside a value
        #expect(String(decoding: out, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\na\r\nb\r\n")
        out.removeAll()
        RESP.appendBulk([UInt8](), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "$0\r\n\r\n")
    }

    static let specReplies: [(String, RESP.Reply)] = [
        ("+OK\r\n", .simple("OK")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":1000\r\n", .integer(1000)),
        (":-5\r\n", .integer(-5)),
        ("$5\r\nhello\r\n", .bulk(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulk([])),
        ("$-1\r\n", .bulk(nil)),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", .array([.bulk(Array("hello".utf8)), .bulk(Array("world".utf8))])),
        ("*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
         .array([.array([.integer(1), .integer(2), .integer(3)]), .array([.simple("Hello"), .error("World")])])),
        ("$15\r\n1700000000000-0\r\n", .bulk(Array("1700000000000-0".utf8))),  // an XADD reply: the entry ID
    ]

    @Test func parsesTheSpecificationsRepliesAndWaitsOnEveryTruncation() {
        for (text, want) in Self.specReplies {
            let bytes = Array(text.utf8)
            #expect(RESP.parse(bytes) == .reply(want, end: bytes.count), "\(text.debugDescription)")
            for cut in 0..<bytes.count {
                #expect(RESP.parse(Array(bytes[..<cut])) == .incomplete, "\(text.debugDescription) cut at \(cut)")
            }
            // Two replies back to back: the first ends where the second starts.
            #expect(RESP.parse(bytes + Array("+OK\r\n".utf8)) == .reply(want, end: bytes.count))
        }
    }

    @Test func refusesWhatIsNotRESP() {
        for bad in ["?x\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-7\r\n", "$999999999999\r\n",
                    ":99999999999999999999999\r\n", String(repeating: "*1\r\n", count: 40) + ":1\r\n"] {
            guard case .invalid = RESP.parse(Array(bad.utf8)) else {
                Issue.record("\(bad.debugDescription) accepted: \(RESP.parse(Array(bad.utf8)))"); continue
            }
        }
        // A length line that never ends is refused once it is longer than any length could be.
        guard case .invalid = RESP.parse(Array(("$" + String(repeating: "1", count: 40)).utf8)) else {
            Issue.record("endless length line waited on"); return
        }
    }

    /// Fuzz-style: seeded random bytes, random bytes after a type byte, and
    /// valid replies with bytes flipped. A reply found must end within the
    /// input; the parser must not trap.
    @Test func randomAndMutatedBytesNeverTrap() {
        var rng = SplitMix(seed: 0x5EED_4E5)
        let typeBytes = Array("+-:$*".utf8)
        let seeds = Self.specReplies.map { Array($0.0.utf8) }
        var replies = 0, invalid = 0
        for i in 0..<60_000 {
            var b: [UInt8]
            switch i % 3 {
            case 0:
                b = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                b = [typeBytes[Int(rng.next() % 5)]]
                for _ in 0..<Int(rng.next() % 24) {
                    let r = rng.next() % 8
                    b.append(r < 3 ? UInt8(ascii: "0") + UInt8(r * 3) : r == 3 ? 13 : r == 4 ? 10 : r == 5 ? UInt8(ascii: "-")
                             : typeBytes[Int(rng.next() % 5)])
                }
            default:
                b = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0...Int(rng.next() % 3) where !b.isEmpty {
                    b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 2 == 0 { b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1)))) }
            }
            switch RESP.parse(b) {
            case .reply(_, let end):
                replies += 1
                #expect(end > 0 && end <= b.count)
            case .invalid: invalid += 1
            case .incomplete: break
            }
        }
        #expect(replies > 1000 && invalid > 1000, "the inputs reached both outcomes (\(replies) replies, \(invalid) invalid)")
    }
}

/// A small seeded generator (SplitMix64) so failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
