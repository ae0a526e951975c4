import Foundation
import Testing
@testable import Indicators

/// Reading Zeek Intel files: the header, each type, severities, what is
/// skipped, and bad lines named by file and line.
@Suite struct IndicatorFileTests {
    static let header = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.severity\n"

    @Test func readsEveryTypeWithSourceAndSeverity() throws {
        let text = Self.header + """
            # a comment line, then an empty one

            192.0.2.7\tIntel::ADDR\tfeed-a\tphishing sender\t1
            2001:db8::1\tIntel::ADDR\tfeed-a\t-\t-
            198.51.100.0/24\tIntel::SUBNET\tfeed-b\t-\t3
            Evil.Example.\tIntel::DOMAIN\tfeed-b\tC2 name\t-
            sni-only.example\tFlowSentry::TLS_SNI\tfeed-c\t-\t2
            http://Bad.Example/dl/x.exe\tIntel::URL\tfeed-c\t-\t1
            e7d705a3286e19ea42f587b344ee6865\tIntel::JA3\tabuse\t-\t-
            t13d1516h2_8daaf6152771_02713d6af862\tIntel::JA4\tabuse\t-\t-
            ec7378c1a92f5a8dde7e8b7a1ddf33d1\tIntel::HASSH\tabuse\t-\t-
            AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd\tIntel::CERT_HASH\tabuse\t-\t-
            d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tabuse\t-\t-
            """ + "\r\n"
        let set = try IndicatorSet.parse(text, file: "feed.intel")
        #expect(set.count == 10)
        for k in IndicatorKind.allCases {
            #expect(set.counts[Int(k.rawValue)] == (k == .address ? 2 : 1), "\(k)")
        }
        #expect(set.skipped == ["Intel::FILE_HASH": 1])
        #expect(set.sources == ["feed-a", "feed-b", "feed-c", "abuse"])
        #expect(set.strings.text(0) == "evil.example")  // lower case, trailing dot dropped
        #expect(set.strings.text(2) == "bad.example/dl/x.exe")  // scheme dropped
        #expect(set.strings.text(6) == "aabbccddeeff00112233445566778899aabbccdd")  // colons dropped
        #expect(set.addresses.meta.map(\.severity) == [1, defaultIndicatorSeverity, 3])
        #expect(set.summary.contains("10 ("))
        #expect(set.summary.contains("1 Intel::FILE_HASH"))
    }

    @Test func sameIndicatorFromTwoSourcesKeptTwiceDuplicatesOnce() throws {
        let text = "#fields\tindicator\tindicator_type\tmeta.source\n"
            + "evil.example\tIntel::DOMAIN\ta\nevil.example\tIntel::DOMAIN\tb\nEVIL.example\tIntel::DOMAIN\ta\n"
            + "10.0.0.0/8\tIntel::SUBNET\ta\n10.1.2.3/8\tIntel::SUBNET\ta\n"
        let set = try IndicatorSet.parse(text)
        #expect(set.duplicates == 2)
        #expect(set.count == 3)
        #expect(set.counts[Int(IndicatorKind.domain.rawValue)] == 2)
    }

    @Test func headerWithoutSeverityColumnGivesTheDefault() throws {
        let set = try IndicatorSet.parse("#fields\tindicator\tindicator_type\tmeta.source\n192.0.2.1\tIntel::ADDR\tx\n")
        #expect(set.addresses.meta[0].severity == defaultIndicatorSeverity)
    }

    /// The error for `text`, which must fail.
    func failure(_ text: String, file: String = "bad.intel") -> IndicatorLoadError? {
        do {
            _ = try IndicatorSet.parse(text, file: file)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("192.0.2.300\tIntel::ADDR\tx\t-", "not an IPv4 or IPv6 address"),
        ("192.0.2.0/33\tIntel::SUBNET\tx\t-", "is not a subnet"),
        ("2001:db8::/129\tIntel::SUBNET\tx\t-", "is not a subnet"),
        ("192.0.2.0\tIntel::SUBNET\tx\t-", "is not a subnet"),
        ("bad name.example\tIntel::DOMAIN\tx\t-", "is not a domain name"),
        ("/path/only\tIntel::URL\tx\t-", "is not a URL"),
        ("e7d705a3286e19ea42f587b344ee686\tIntel::JA3\tx\t-", "is not a JA3 hash"),
        ("zz7378c1a92f5a8dde7e8b7a1ddf33d1\tIntel::HASSH\tx\t-", "is not a HASSH hash"),
        ("t13d1516h2_8daaf6152771\tIntel::JA4\tx\t-", "is not a JA4 fingerprint"),
        ("abcd\tIntel::CERT_HASH\tx\t-", "is not a certificate SHA-1"),
        ("192.0.2.1\tIntel::ADRR\tx\t-", "unknown indicator_type 'Intel::ADRR'"),
        ("192.0.2.1\tIntel::ADDR\t-\t-", "empty meta.source"),
        ("-\tIntel::ADDR\tx\t-", "empty indicator"),
        ("192.0.2.1\tIntel::ADDR\tx\t4", "meta.severity must be 1, 2 or 3"),
        ("192.0.2.1\tIntel::ADDR\tx", "3 fields where the #fields header names 4"),
        ("192.0.2.1 Intel::ADDR x -", "1 field where the #fields header names 4"),
    ])
    func badLineNamedByFileAndLine(line: String, reason: String) throws {
        let text = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.severity\n192.0.2.9\tIntel::ADDR\tok\t1\n" + line + "\n"
        let e = try #require(failure(text))
        #expect(e.file == "bad.intel")
        #expect(e.badLines == 1)
        #expect(e.lines.first?.line == 3)
        #expect(e.lines.first?.reason.contains(reason) == true, "\(e.lines)")
        #expect(e.description.hasPrefix("bad.intel:3: "))
        #expect(e.description.contains("the file is not loaded"))
    }

    @Test func everyBadLineIsCountedTheFirstTenShown() throws {
        var text = "#fields\tindicator\tindicator_type\tmeta.source\n"
        for i in 0..<25 { text += "10.0.0.\(i)\tIntel::ADDR\tx\n" + "nonsense\tIntel::ADDR\tx\n" }
        let e = try #require(failure(text))
        #expect(e.badLines == 25)
        #expect(e.lines.count == IndicatorLoadError.shown)
        #expect(e.lines.map(\.line) == Array(stride(from: 3, through: 21, by: 2)))
        #expect(e.description.contains("… and 15 more bad lines"))
    }

    @Test func headerProblems() throws {
        #expect(try #require(failure("192.0.2.1\tIntel::ADDR\tx\n")).lines[0].reason.contains("before a good '#fields' header"))
        let noSource = try #require(failure("#fields\tindicator\tindicator_type\n192.0.2.1\tIntel::ADDR\n"))
        #expect(noSource.lines[0].line == 1 && noSource.lines[0].reason.contains("lacks meta.source"))
        #expect(try #require(failure("#fields indicator indicator_type meta.source\n")).lines[0].reason.contains("tabs"))
    }

    @Test func filesLoadInOrderAndAMissingOneIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-intel-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.intel").path, b = dir.appendingPathComponent("b.intel").path
        try "#fields\tindicator\tindicator_type\tmeta.source\n192.0.2.1\tIntel::ADDR\ta\n".write(toFile: a, atomically: true, encoding: .utf8)
        try "#fields\tmeta.source\tindicator_type\tindicator\nb\tIntel::DOMAIN\tx.example\n".write(toFile: b, atomically: true, encoding: .utf8)
        let set = try IndicatorSet.load(paths: [a, b])
        #expect(set.count == 2 && set.sources == ["a", "b"] && set.files == [a, b])
        do {
            _ = try IndicatorSet.load(paths: [a, dir.appendingPathComponent("missing.intel").path])
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.file.hasSuffix("missing.intel"))
            #expect(error.description.contains("cannot read: No such file or directory"))
        }
    }
}
