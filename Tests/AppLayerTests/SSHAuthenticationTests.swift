import Testing
@testable import AppLayer
import Decoding

/// Zeek's size heuristic for SSH logins, on hand-made size sequences whose
/// answer follows from its four rules, and the NEWKEYS offsets it starts from.
@Suite struct SSHAuthenticationTests {
    /// Both sides' encrypted data start at byte 100 of their streams.
    func info(compression: String = "none", serverCompression: String = "none,zlib@openssh.com") -> SSHInfo {
        var i = SSHInfo()
        var c = SSHEndpoint(), s = SSHEndpoint()
        c.encryptedFrom = 100; s.encryptedFrom = 100
        var ck = SSHKexInit(), sk = SSHKexInit()
        ck.compressionClientToServer = compression; sk.compressionClientToServer = serverCompression
        c.kexInit = ck; s.kexInit = sk
        i.client = c; i.server = s
        return i
    }

    func outcome(_ sizes: [Int32], _ ssh: SSHInfo? = nil, complete: Bool = true, serverBytes: Int = 1000,
                 serverPackets: Int = 10) -> LoginOutcome? {
        sizes.withUnsafeBufferPointer { b in
            SSHAuthentication.outcome(ssh ?? info(), packets: PacketSizes(sizes: b, complete: complete,
                                                                           serverPayloadBytes: serverBytes, serverPackets: serverPackets))
        }
    }

    /// Clear text up to byte 100 each way (banners, KEXINITs, NEWKEYS).
    let clear: [Int32] = [40, -40, 60, -60]

    @Test func eachAnswerOfTheFailureSizeIsARefusedAttempt() {
        // Service accept 44, then the "none" probe's failure 52 and three
        // password failures of 52: four refusals, no success.
        let o = outcome(clear + [44, -44, 68, -52, 84, -52, 84, -52, 84, -52])
        #expect(o == LoginOutcome(proto: .ssh, failures: 4, succeeded: false))
    }

    @Test func anAnswerSixteenBytesUnderTheServiceAcceptIsSuccess() {
        let o = outcome(clear + [44, -44, 68, -52, 84, -28, 100, -400])
        #expect(o == LoginOutcome(proto: .ssh, failures: 1, succeeded: true))
    }

    @Test func serverDataBeforeTheClientEncryptsIsIgnored() {
        // The server's 60-byte segment at offset 100 comes before any client
        // encrypted byte: not the service accept. Accept 44, then 28: success.
        let o = outcome([40, -40, 60, -60, -60, 44, -44, 68, -28])
        #expect(o?.succeeded == true)
    }

    @Test func aBannerLargerThanTheAcceptBy256IsSkippedOnce() {
        // Accept 44, banner 400 (> 44 + 256) skipped, failures 52, 52.
        let o = outcome(clear + [44, -44, 68, -400, -52, 84, -52])
        #expect(o == LoginOutcome(proto: .ssh, failures: 2, succeeded: false))
    }

    @Test func compressionLeavesItUndecided() {
        #expect(outcome(clear + [44, -44, 68, -52], info(compression: "zlib@openssh.com,none")) == nil)
        // The client's first choice the server does not offer: the next one ("none") is used.
        #expect(outcome(clear + [44, -44, 68, -52], info(compression: "zlib,none")) != nil)
    }

    @Test func aCutSequenceDecidesFailureOnlyWhenTheServerSaidLittle() {
        let sizes = clear + [44, -44, 68, -52, 84, -52]
        // More packets than were kept, the server's whole answer small: a failed login (Bro 2.x).
        #expect(outcome(sizes, complete: false, serverBytes: 2700, serverPackets: 19)?.succeeded == false)
        // A server that went on to send 8,799 bytes in 42 packets may have let the user in.
        let open = outcome(sizes, complete: false, serverBytes: 8799, serverPackets: 42)
        #expect(open == LoginOutcome(proto: .ssh, failures: 2, succeeded: nil))
    }

    @Test func noServiceAcceptNoOutcome() {
        #expect(outcome(clear + [44]) == nil)
        var noKeys = info(); noKeys.server?.encryptedFrom = nil
        #expect(outcome(clear + [44, -44, 68, -52], noKeys) == nil)
    }

    @Test func newKeysEndIsFoundByWalkingTheClearPackets() {
        // Three packets after the banner: lengths 12 (code 20), 28 (code 30), 12 (code 21).
        func packet(_ length: UInt32, _ code: UInt8) -> [UInt8] {
            [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), 4, code]
                + [UInt8](repeating: 0, count: Int(length) - 2)
        }
        let stream = packet(12, 20) + packet(28, 30) + packet(12, 21) + [1, 2, 3]
        let end = stream.withUnsafeBytes { SSHParser.newKeysEnd(ByteView($0), from: 0) }
        #expect(end == 16 + 32 + 16)
        // Cut before NEWKEYS, or a length out of range: not found.
        let cut = Array(stream.prefix(40))
        #expect(cut.withUnsafeBytes { SSHParser.newKeysEnd(ByteView($0), from: 0) } == nil)
        let bad = [0, 0, 0, 2, 4, 20] + stream
        #expect(bad.withUnsafeBytes { SSHParser.newKeysEnd(ByteView($0), from: 0) } == nil)
    }
}
