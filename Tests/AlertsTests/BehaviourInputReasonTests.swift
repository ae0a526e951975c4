import Alerts
import Behaviour
import Decoding
import Detection
import Testing

/// A model alert says what the behaviour inputs mean when they pushed its score up.
@Suite struct BehaviourInputReasonTests {
    static let server = IPAddress(v4: 10, 0, 0, 5)
    static func values() -> BehaviourValues {
        var v = BehaviourValues()
        v.sessions = 22; v.shortSessions = 22; v.spanSeconds = 360; v.medianGapSeconds = 16
        v.repetition = 0.9; v.beaconing = 0.2
        return v
    }

    static func contribution(_ f: String, _ c: Float) -> Verdict.Contribution {
        Verdict.Contribution(feature: f, value: 1, contribution: c)
    }

    @Test func aBehaviourInputThatRaisedTheScoreIsNamed() {
        let why = behaviourInputReason([Self.contribution("duration_s", 0.3), Self.contribution("beh_repetition", 0.2)],
                                       values: Self.values(), server: Self.server, port: 22)
        #expect(why == "22 similar short sessions to 10.0.0.5:22 in 6 min (median gap 16 s)")
    }

    @Test func refusedLoginsAreNamedWhenTheServerRefusedTwiceOrMore() {
        var v = Self.values()
        v.refusedLoginSessions = 5
        let why = behaviourInputReason([Self.contribution("beh_repetition", 0.2)], values: v, server: Self.server, port: 21)
        #expect(why == "5 refused logins to 10.0.0.5:21 in 6 min (22 sessions, median gap 16 s)")
        v.refusedLoginSessions = 1
        let one = behaviourInputReason([Self.contribution("beh_repetition", 0.2)], values: v, server: Self.server, port: 21)
        #expect(one == "22 similar short sessions to 10.0.0.5:21 in 6 min (median gap 16 s)")
    }

    @Test func theFirstBehaviourInputDecidesTheKind() {
        let why = behaviourInputReason([Self.contribution("beh_beaconing", 0.2), Self.contribution("beh_repetition", 0.1)],
                                       values: Self.values(), server: Self.server, port: 443)
        #expect(why?.hasPrefix("sessions to 10.0.0.5:443 every 16 s") == true)
    }

    @Test func noReasonWhenBehaviourInputsLoweredTheScoreOrWereAbsent() {
        #expect(behaviourInputReason([Self.contribution("beh_repetition", -0.2)], values: Self.values(),
                                     server: Self.server, port: 22) == nil)
        #expect(behaviourInputReason([Self.contribution("fwd_pkts", 0.4)], values: Self.values(),
                                     server: Self.server, port: 22) == nil)
    }
}
