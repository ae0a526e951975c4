import Testing
@testable import AppLayer
import Decoding

/// Login outcomes of FTP, SMTP, POP3 and IMAP from hand-written transcripts
/// (replies as the RFCs give them).
@Suite struct PlainTextLoginTests {
    func outcome(_ client: String, _ server: String) -> LoginOutcome? {
        let c = Array(client.utf8), s = Array(server.utf8)
        return c.withUnsafeBytes { cb in s.withUnsafeBytes { sb in PlainTextLogin.outcome(client: ByteView(cb), server: ByteView(sb)) } }
    }

    @Test func ftpCountsFiveHundredsToUserAndPass() {
        let client = "USER admin\r\nPASS a\r\nUSER admin\r\nPASS b\r\nQUIT\r\n"
        let server = "220-Welcome\r\n220 ready\r\n331 Password required\r\n530 Login incorrect.\r\n"
            + "331 Password required\r\n530 Login incorrect.\r\n221 Goodbye.\r\n"
        #expect(outcome(client, server) == LoginOutcome(proto: .ftp, failures: 2, succeeded: false))
        let ok = outcome("user anonymous\r\npass x@\r\nSYST\r\n", "220 ready\r\n331 ok\r\n230 Login successful.\r\n530 later\r\n")
        #expect(ok == LoginOutcome(proto: .ftp, failures: 0, succeeded: true))
    }

    @Test func smtpAuthAnswers() {
        let client = "EHLO x\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nQUIT\r\n"
        let server = "220 mx ESMTP\r\n250-mx\r\n250 AUTH LOGIN PLAIN\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
            + "535 5.7.8 Authentication credentials invalid\r\n221 bye\r\n"
        #expect(outcome(client, server) == LoginOutcome(proto: .smtp, failures: 1, succeeded: false))
        // An SMTP session without AUTH says nothing about logins.
        #expect(outcome("EHLO x\r\nMAIL FROM:<a@b>\r\n", "220 mx\r\n250 ok\r\n250 ok\r\n") == nil)
    }

    @Test func pop3PairsAnswersPastMultiLineBodies() {
        // CAPA's body holds "-ERR"-free lines up to "."; then USER, PASS refused, USER, PASS accepted.
        let client = "CAPA\r\nUSER a\r\nPASS x\r\nUSER a\r\nPASS y\r\nLIST\r\nQUIT\r\n"
        let server = "+OK POP3 ready\r\n+OK Capability list follows\r\nUSER\r\nSASL PLAIN\r\n.\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
            + "+OK\r\n+OK Logged in.\r\n+OK 1 messages\r\n1 300\r\n.\r\n+OK bye\r\n"
        #expect(outcome(client, server) == LoginOutcome(proto: .pop3, failures: 1, succeeded: true))
        // AUTH PLAIN with a challenge: the credentials line's answer decides.
        let auth = outcome("AUTH PLAIN\r\nAGEAeA==\r\n", "+OK ready\r\n+ \r\n-ERR Authentication failed\r\n")
        #expect(auth == LoginOutcome(proto: .pop3, failures: 1, succeeded: false))
        // -ERR to another command is not a login.
        #expect(outcome("STAT\r\n", "+OK ready\r\n-ERR not logged in\r\n") == nil)
    }

    @Test func imapMatchesTagsOfLoginCommands() {
        let client = "a1 CAPABILITY\r\na2 LOGIN bob wrong\r\na3 login bob right\r\na4 SELECT INBOX\r\n"
        let server = "* OK IMAP4rev1 ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\na2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
            + "a3 OK Logged in\r\na4 NO no such mailbox\r\n"
        #expect(outcome(client, server) == LoginOutcome(proto: .imap, failures: 1, succeeded: true))
    }

    @Test func otherGreetingsAreNotLogins() {
        #expect(outcome("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n") == nil)
        #expect(outcome("", "") == nil)
        // A prefix that ends inside a line reads no further.
        #expect(outcome("USER a\r\nPASS b", "220 ready\r\n331 ok\r\n530 no") == nil)
    }
}
