/// A change an attacker controls, applied to the packets of attack flows
/// before the sensor sees them (problem space: the result is a capture any
/// tool can read, not a feature vector nudged where no traffic could go).
///
/// Every kind takes a strength in 0…1; `moderate` (0.5) is the strength the
/// model card's robustness aim is stated at. What a strength means:
///
/// | kind     | what the attacker does                                         | strength s                                            |
/// |----------|----------------------------------------------------------------|-------------------------------------------------------|
/// | `pad`    | pads each payload it sends where its protocol carries padding  | each padding uniform in 0…s·512 bytes (MTU 1500 kept)  |
/// | `split`  | sends a TCP payload as two segments                            | each payload split with probability s                  |
/// | `inject` | adds benign-looking packets: pure ACKs after its TCP segments  | after each established segment with probability s      |
/// | `jitter` | varies the time between the packets it sends                   | each gap × uniform(1−s, 1+s)                           |
/// | `slow`   | sends more slowly                                              | each gap × (1 + 4s)                                    |
/// | `spread` | spreads a campaign's flows over more time (brute force, scans) | flow starts stretched × (1 + 9s) from the campaign's first |
///
/// `pad` puts the padding where the protocol carries it (`ProtocolPadding`:
/// an HTTP header, a TLS record, SSH packet padding, an EDNS option, a
/// longer last argument of a text line), so the attack still parses; it is
/// appended to payloads of no known protocol.
///
/// "The attacker's packets" are those the flow's client sends (the label
/// row's source); for c2 and tunnel flows, whose both ends the attacker
/// runs, every packet. Benign flows are never changed.
public struct Perturbation: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case pad, split, inject, jitter, slow, spread
    }

    public var kind: Kind
    public var strength: Double

    public static let moderateStrength = 0.5

    public init(kind: Kind, strength: Double) {
        self.kind = kind
        self.strength = strength
    }

    /// Parses `KIND:STRENGTH` (`pad:0.5`); `KIND` alone means the moderate strength.
    public init(parsing text: String) throws(PerturbationError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let names = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let kind = Kind(rawValue: String(parts[0])) else {
            throw PerturbationError("unknown perturbation '\(parts[0])' in '\(text)' (kinds: \(names))")
        }
        var strength = Self.moderateStrength
        if parts.count == 2 {
            guard let s = Double(parts[1]), s.isFinite, s >= 0, s <= 1 else {
                throw PerturbationError("strength '\(parts[1])' in '\(text)' is not a number in 0…1")
            }
            strength = s
        }
        self.init(kind: kind, strength: strength)
    }

    public var description: String {
        let s = (strength * 100).rounded() / 100
        return "\(kind.rawValue):\(s)"
    }

    /// The classes whose both ends the attacker runs: every packet of theirs is the attacker's.
    static let attackerOwnsBothEnds: Set<String> = ["c2", "tunnel"]
}

public struct PerturbationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
