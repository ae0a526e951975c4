import Testing
@testable import Alerts
@testable import Decoding

@Suite struct AggregatorTests {
    @Test func oneAlertPerDestinationAndClassPerInterval() {
        var a = AlertAggregator(intervalSeconds: 60, capacity: 4)
        let d = IPAddress("10.0.0.1")!
        var folded = 0
        #expect(a.admit(dst: d, classIndex: 2, at: 0, foldedIn: &folded) && folded == 0)
        for i in 1...1000 { #expect(!a.admit(dst: d, classIndex: 2, at: Int64(i) * 1_000_000, foldedIn: &folded)) }
        // Another class or destination is its own key.
        #expect(a.admit(dst: d, classIndex: 1, at: 5, foldedIn: &folded))
        #expect(a.admit(dst: IPAddress("10.0.0.2")!, classIndex: 2, at: 5, foldedIn: &folded))
        // After the interval, the next alert carries the count folded in.
        #expect(a.admit(dst: d, classIndex: 2, at: 61_000_000_000, foldedIn: &folded) && folded == 1000)
        #expect(a.folded == 1000)
    }

    @Test func boundedKeys() {
        var a = AlertAggregator(intervalSeconds: 60, capacity: 8)
        var f = 0
        for i in 0..<100 { _ = a.admit(dst: IPAddress(v4: 10, 0, 0, UInt8(i)), classIndex: 0, at: Int64(i), foldedIn: &f) }
        #expect(a.entries.count <= 8 && a.droppedKeys == 92)
    }
}
