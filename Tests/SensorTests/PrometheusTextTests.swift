import Sensor
import Testing

@Suite struct PrometheusTextTests {
    @Test func familiesSamplesAndEscaping() {
        var t = PrometheusText()
        t.family("x_total", .counter, "Back\\slash and\nnewline.")
        t.sample("x_total", [("a", "q\"uote"), ("b", "back\\slash\nline")], UInt64(7))
        t.single("y", .gauge, "Y.", [], 3)
        #expect(t.text == """
            # HELP x_total Back\\\\slash and\\nnewline.
            # TYPE x_total counter
            x_total{a="q\\"uote",b="back\\\\slash\\nline"} 7
            # HELP y Y.
            # TYPE y gauge
            y 3

            """)
    }

    @Test func floatsAsTheFormatSpellsThem() {
        #expect(PrometheusText.format(0) == "0")
        #expect(PrometheusText.format(2.5) == "2.5")
        #expect(PrometheusText.format(0.0001) == "0.0001")
        #expect(PrometheusText.format(1e-05) == "1e-05")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(1234567) == "1234567")
    }

    @Test func histogramBucketsAreCumulative() {
        var t = PrometheusText()
        // 1 at most 0.1, 2 at most 1, 1 above every bound.
        t.histogram("h_seconds", "H.", bounds: [0.1, 1], counts: [1, 2, 1], sum: 4.25)
        #expect(t.text == """
            # HELP h_seconds H.
            # TYPE h_seconds histogram
            h_seconds_bucket{le="0.1"} 1
            h_seconds_bucket{le="1"} 3
            h_seconds_bucket{le="+Inf"} 4
            h_seconds_sum 4.25
            h_seconds_count 4

            """)
    }
}
