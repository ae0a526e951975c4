import Foundation
import Testing
@testable import Alerts

/// The JSON writer against Foundation's parser and formatter, on values of
/// every magnitude the features produce (counts, rates, seconds, entropies).
@Suite struct JSONBufferTests {
    @Test func numbersParseBackToTheValueAtNineDecimals() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 1, -1, 0.5, 1e-10, 4e-10, 6e-10, 0.999_999_999_6, 123_456_789,
                                4e9 - 1, 4e9, 4e9 + 0.5, 9.007e15, 1e15, -1e15, 1e300, 2.5e-7, .nan, .infinity]
        for _ in 0..<2000 {
            let mag = Double.random(in: -9...15, using: &rng)
            values.append((Bool.random(using: &rng) ? 1 : -1) * pow(10, mag))
            values.append(Double(UInt32.random(in: 0...UInt32.max, using: &rng)))
        }
        var j = JSONBuffer()
        j.beginArray()
        for v in values { j.double(v) }
        j.endArray()
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [Any])
        #expect(parsed.count == values.count)
        for (v, p) in zip(values, parsed) {
            if !v.isFinite { #expect(p is NSNull); continue }
            let x = try #require((p as? NSNumber)?.doubleValue, "\(v) → \(p)")
            // Below 1e15: rounded to 9 decimals; above: shortest round-trip form.
            let tolerance = abs(v) >= 1e15 ? 0 : 0.5e-9 + abs(v) * 1e-15
            #expect(abs(x - v) <= tolerance, "\(v) written as \(x)")
        }
    }

    /// A float is always written with a fraction or an exponent, so that
    /// consumers typing a field by its first value (Elasticsearch's dynamic
    /// mapping) never take a float field for an integer one.
    @Test func floatsAlwaysCarryAFractionOrAnExponent() {
        let cases: [(Double, String)] = [(0, "0.0"), (-0.0, "0.0"), (3, "3.0"), (-7, "-7.0"), (4e9, "4000000000.0"),
                                         (2.5, "2.5"), (1e-10, "0.0"), (-1e-12, "0.0"), (123_456_789.000_000_000_1, "123456789.0")]
        for (v, text) in cases {
            var j = JSONBuffer()
            j.double(v)
            #expect(String(decoding: j.bytes, as: UTF8.self) == text, "\(v)")
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let v = (Bool.random(using: &rng) ? 1 : -1) * pow(10, Double.random(in: -12...300, using: &rng)).rounded(.down)
            var j = JSONBuffer()
            j.double(v)
            let text = String(decoding: j.bytes, as: UTF8.self)
            #expect(text.contains(".") || text.contains("e"), "\(v) → \(text)")
        }
        var j = JSONBuffer()
        j.seconds(ns: 1_700_000_000_000_000_000)
        #expect(String(decoding: j.bytes, as: UTF8.self) == "1700000000.0")
    }

    /// Every digit count (and each side of every power of ten) against the
    /// standard library's own decimal text.
    @Test func unsignedAndSignedIntegersMatchTheirDecimalText() {
        var values: [UInt64] = [0, 9, 10, 11, 99, 100, 101, 999, 1000, UInt64.max, UInt64.max - 1]
        var p: UInt64 = 1
        for _ in 0..<19 {
            p *= 10
            values += [p - 1, p, p + 1, p / 2 * 3]
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 { values.append(UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)) }
        for v in values {
            let raw = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: RawJSONWriter.maxNumber) { buf in
                var w = RawJSONWriter(buf.baseAddress!)
                w.unsigned(v)
                return String(decoding: UnsafeBufferPointer(rebasing: buf[0..<w.count]), as: UTF8.self)
            }
            #expect(raw == v.description)
            var j = JSONBuffer()
            j.uint(v)
            #expect(String(decoding: j.bytes, as: UTF8.self) == v.description)
            if v <= UInt64(Int64.max) {
                var k = JSONBuffer()
                k.int(-Int64(v))
                #expect(String(decoding: k.bytes, as: UTF8.self) == (-Int64(v)).description)
            }
        }
        var m = JSONBuffer()
        m.int(Int64.min)
        #expect(String(decoding: m.bytes, as: UTF8.self) == Int64.min.description)
    }

    @Test func integersAndNestingAreWellFormed() throws {
        var j = JSONBuffer()
        j.beginObject()
        j.key("a"); j.int(Int64.min)
        j.key("b"); j.uint(UInt64.max)
        j.key("c"); j.beginArray(); j.beginObject(); j.endObject(); j.beginArray(); j.endArray(); j.int(0); j.endArray()
        j.key("d"); j.string("quote \" backslash \\ newline \n tab \t \u{1}")
        j.key("e"); j.seconds(ns: -1)
        j.endObject()
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        #expect((o["a"] as? NSNumber)?.int64Value == Int64.min)
        #expect((o["b"] as? NSNumber)?.uint64Value == UInt64.max)
        #expect((o["c"] as? [Any])?.count == 3)
        #expect(o["d"] as? String == "quote \" backslash \\ newline \n tab \t \u{1}")
        #expect((o["e"] as? NSNumber)?.doubleValue == -1e-9)
    }
}
