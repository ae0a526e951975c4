import Testing
@testable import Alerts

/// Expected strings are Python's
/// `(datetime(1970,1,1,tzinfo=utc) + timedelta(microseconds=ns // 1000)).strftime('%Y-%m-%dT%H:%M:%S.%f+0000')`.
@Suite struct EveTimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000+0000"),
        (1_709_251_199_999_999_999, "2024-02-29T23:59:59.999999+0000"),   // leap day, last microsecond
        (951_868_800_000_000_000, "2000-03-01T00:00:00.000000+0000"),     // 2000 was a leap year (÷400)
        (4_107_542_399_000_000_000, "2100-02-28T23:59:59.000000+0000"),   // 2100 is not (÷100)
        (4_107_585_600_000_000_000, "2100-03-01T12:00:00.000000+0000"),
        (2_147_483_648_000_000_000, "2038-01-19T03:14:08.000000+0000"),   // 2^31 seconds
        (1_795_315_115_123_456_789, "2026-11-22T02:38:35.123456+0000"),   // sub-microseconds truncated
        (Int64.max, "2262-04-11T23:47:16.854775+0000"),
    ])
    func formatsUTCWithMicroseconds(ns: Int64, text: String) {
        #expect(EveTime.string(ns: ns) == text)
        #expect(EveTime.string(ns: ns).utf8.count == EveTime.length)
    }

    @Test func microsecondsAreTruncatedNotRounded() {
        #expect(EveTime.string(ns: 1_999) == "1970-01-01T00:00:00.000001+0000")
        #expect(EveTime.string(ns: 999) == "1970-01-01T00:00:00.000000+0000")
        #expect(EveTime.string(ns: 59_999_999_999) == "1970-01-01T00:00:59.999999+0000")
    }

    @Test func beforeTheEpochCountsBackwards() {
        // -1 ns is the last nanosecond of 1969, not 1970-01-01T00:00:00 with a negative fraction.
        #expect(EveTime.string(ns: -1) == "1969-12-31T23:59:59.999999+0000")
        #expect(EveTime.string(ns: -86_400_000_000_000) == "1969-12-31T00:00:00.000000+0000")
    }

    @Test func offsetIsAlwaysUTCWithoutAColon() {
        // Filebeat's Suricata module parses `+0000`; the sensor writes UTC whatever TZ says.
        for ns: Int64 in [0, 1_700_000_000_000_000_000, 1_709_251_199_999_999_999] {
            #expect(EveTime.string(ns: ns).hasSuffix("+0000"))
        }
    }

    @Test func appendAddsToWhatIsThere() {
        var b: [UInt8] = Array("t=".utf8)
        EveTime.append(ns: 0, to: &b)
        EveTime.append(ns: 1_000_000_000, to: &b)
        #expect(String(decoding: b, as: UTF8.self) == "t=1970-01-01T00:00:00.000000+00001970-01-01T00:00:01.000000+0000")
    }

    @Test func everyDayOfFourHundredYearsMatchesADayCount() {
        // Walk 1970-01-01 … 2369-12-31 a day at a time, keeping the civil date by the Gregorian rules.
        var (y, m, d) = (1970, 1, 1)
        func leap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        let monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for day in Int64(0)..<146_097 {
            let (cy, cm, cd) = EveTime.civil(fromDays: day)
            if (cy, cm, cd) != (y, m, d) { Issue.record("day \(day): \(cy)-\(cm)-\(cd), expected \(y)-\(m)-\(d)"); return }
            d += 1
            if d > monthDays[m - 1] + (m == 2 && leap(y) ? 1 : 0) { d = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
        }
        #expect((y, m, d) == (2370, 1, 1))
    }
}
