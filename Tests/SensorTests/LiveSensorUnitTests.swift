import Alerts
import Capture
import Flows
import Foundation
import Sensor
import Testing

@Suite struct LiveSensorUnitTests {
    /// The expiry clock: the wall clock, held back to the packet time of a
    /// worker that had packets within 200 ms (the slowest such), never
    /// going backwards.
    @Test func sweepClockFollowsABusyWorkersPacketTime() {
        let s: Int64 = 1_000_000_000
        var last = Int64.min
        // No worker has seen a packet: the wall clock.
        #expect(LiveSensor.sweepClock(wall: 100 * s, workers: [(0, 0), (0, 0)], last: &last) == 100 * s)
        // Worker 1 busy 50 ms ago, 3 s behind in packet time; worker 0 idle for 2 s.
        let lagging = LiveSensor.sweepClock(wall: 101 * s, workers: [(99 * s, 98 * s), (101 * s - s / 20, 98 * s)],
                                            last: &last)
        #expect(lagging == 100 * s)  // never backwards: held at the last sweep's clock
        #expect(LiveSensor.sweepClock(wall: 104 * s, workers: [(99 * s, 98 * s), (104 * s - s / 10, 102 * s)],
                                      last: &last) == 102 * s)
        // Two busy workers: the slower one's packet time.
        #expect(LiveSensor.sweepClock(wall: 105 * s, workers: [(105 * s, 104 * s), (105 * s, 103 * s)],
                                      last: &last) == 103 * s)
        // Busy, but its last packet more than 200 ms ago: idle, the wall clock.
        #expect(LiveSensor.sweepClock(wall: 106 * s, workers: [(106 * s - s / 4, 103 * s)], last: &last) == 106 * s)
        // A packet time ahead of the wall clock does not move the clock forward.
        #expect(LiveSensor.sweepClock(wall: 107 * s, workers: [(107 * s, 200 * s)], last: &last) == 107 * s)
    }
}
