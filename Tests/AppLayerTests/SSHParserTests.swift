import Testing
@testable import AppLayer
import Decoding

@Suite struct SSHParserTests {
    func ssh(_ client: [UInt8], _ server: [UInt8]) -> SSHInfo? {
        client.withUnsafeBytes { c in server.withUnsafeBytes { s in SSHParser.parse(client: ByteView(c), server: ByteView(s)) } }
    }

    func ssh(_ client: String, _ server: String = "") -> SSHInfo? { ssh(Array(client.utf8), Array(server.utf8)) }

    /// An SSH_MSG_KEXINIT in a binary packet (RFC 4253 §6, §7.1): a zero
    /// cookie, the ten name-lists, first_kex_packet_follows and the reserved
    /// word, padded to a multiple of 8 with at least 4 bytes of padding.
    func kexInitPacket(_ lists: [String], packetLength: UInt32? = nil, padding: UInt8? = nil, code: UInt8 = 20) -> [UInt8] {
        var payload: [UInt8] = [code] + [UInt8](repeating: 0, count: 16)
        for l in lists {
            payload += be32(UInt32(l.utf8.count)) + Array(l.utf8)
        }
        payload += [0, 0, 0, 0, 0]
        var pad = 8 - (5 + payload.count) % 8
        if pad < 4 { pad += 8 }
        let p = padding ?? UInt8(pad)
        let length = packetLength ?? UInt32(1 + payload.count + Int(p))
        return be32(length) + [p] + payload + [UInt8](repeating: 0, count: Int(p))
    }

    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// The client lists of salesforce/hassh's README example (OpenSSH 7.6/7.7),
    /// with different server-to-client lists so the two HASSHes differ.
    static let kex = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
        + "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
        + "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c"
    static let encC2S = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
    static let macC2S = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
        + "hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
    static let lists = [kex, "ssh-ed25519,rsa-sha2-512", encC2S, "aes256-gcm@openssh.com,aes128-ctr", macC2S, "hmac-sha2-256",
                        "none,zlib@openssh.com,zlib", "none", "", ""]

    @Test func bannersWithComments() throws {
        let i = try #require(ssh("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n", "SSH-1.99-Cisco-1.25\r\n"))
        let c = try #require(i.client), s = try #require(i.server)
        #expect(c.protoVersion == "2.0" && c.softwareVersion == "OpenSSH_8.9p1" && c.comments == "Ubuntu-3ubuntu0.1")
        #expect(c.bannerLength == 39 && !c.bannerTruncated && c.kexInit == nil)
        #expect(s.protoVersion == "1.99" && s.softwareVersion == "Cisco-1.25" && s.comments == nil)
        #expect(i.clientSoftwareKnown == 1 && i.clientBannerLength == 39 && i.malformed == nil)
        #expect(i.hassh == nil && i.hasshServer == nil)
    }

    @Test func serverLinesBeforeItsBanner() throws {
        let i = try #require(ssh("SSH-2.0-PuTTY_Release_0.78\r\n", "Welcome to the box\r\nAuthorised use only\nSSH-2.0-dropbear_2022.83\r\n"))
        #expect(i.server?.preBannerLines == 2 && i.server?.softwareVersion == "dropbear_2022.83" && i.malformed == nil)
        // Only the server may send them, and only a bounded number are looked through.
        #expect(ssh("hello\r\nSSH-2.0-x\r\n", "") == nil)
        #expect(try #require(ssh("", "220 ready\r\nSSH-2.0-x\r\n")).server?.preBannerLines == 1)  // client not heard yet
        #expect(ssh("GET / HTTP/1.1\r\n\r\n", "220 ready\r\nSSH-2.0-x\r\n") == nil)  // the client speaks something else
        let lines = String(repeating: "x\r\n", count: SSHParser.preBannerLineCapacity + 1)
        let far = try #require(ssh("SSH-2.0-OpenSSH_9.2p1\r\n", lines + "SSH-2.0-x\r\n"))
        #expect(far.server == nil && far.malformed == "ssh.banner")
    }

    @Test func handBuiltKexInitGivesTheKnownHASSH() throws {
        let client = Array("SSH-2.0-OpenSSH_7.7p1 Ubuntu-4\r\n".utf8) + kexInitPacket(Self.lists)
        let server = Array("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".utf8) + kexInitPacket(Self.lists)
        let i = try #require(ssh(client, server))
        #expect(i.malformed == nil && i.client?.kexInit?.listsRead == 10 && i.client?.kexInit?.cut == false)
        #expect(i.hasshAlgorithms == "\(Self.kex);\(Self.encC2S);\(Self.macC2S);none,zlib@openssh.com,zlib")
        #expect(i.hassh == "06046964c022c6407d15a27b12a6a4fb")  // salesforce/hassh README, FoxIO ssh.pcapng
        #expect(i.hasshServerAlgorithms == "\(Self.kex);aes256-gcm@openssh.com,aes128-ctr;hmac-sha2-256;none")
        #expect(i.hasshServer == "18866652a90f35344ec5cf32d14b980e")  // python3 hashlib.md5 of that string
        #expect(i.server?.kexInit?.serverHostKeyAlgorithms == "ssh-ed25519,rsa-sha2-512")
        #expect(SSHInfo.md5Hex("abc") == "900150983cd24fb0d6963f7d28e17f72")  // RFC 1321 test suite
    }

    /// The first bytes of each side of ben_ssh_single_session.pcap (banner and KEXINIT packet).
    static let sessionClient = """
        5353482d322e302d4f70656e5353485f332e382e3170310a0000025c07147804f8bb207281ea50847685da5167970000003d6469666669652d68656c\
        6c6d616e2d67726f75702d65786368616e67652d736861312c6469666669652d68656c6c6d616e2d67726f7570312d736861310000000f7373682d72\
        73612c7373682d647373000000876165733132382d6362632c336465732d6362632c626c6f77666973682d6362632c636173743132382d6362632c61\
        7263666f75722c6165733139322d6362632c6165733235362d6362632c72696a6e6461656c2d636263406c797361746f722e6c69752e73652c616573\
        3132382d6374722c6165733139322d6374722c6165733235362d637472000000876165733132382d6362632c336465732d6362632c626c6f77666973\
        682d6362632c636173743132382d6362632c617263666f75722c6165733139322d6362632c6165733235362d6362632c72696a6e6461656c2d636263\
        406c797361746f722e6c69752e73652c6165733132382d6374722c6165733139322d6374722c6165733235362d63747200000055686d61632d6d6435\
        2c686d61632d736861312c686d61632d726970656d643136302c686d61632d726970656d64313630406f70656e7373682e636f6d2c686d61632d7368\
        61312d39362c686d61632d6d64352d393600000055686d61632d6d64352c686d61632d736861312c686d61632d726970656d643136302c686d61632d\
        726970656d64313630406f70656e7373682e636f6d2c686d61632d736861312d39362c686d61632d6d64352d3936000000096e6f6e652c7a6c696200\
        0000096e6f6e652c7a6c69620000000000000000000000000000000000000000
        """
    static let sessionServer = """
        5353482d312e39392d4f70656e5353485f332e3970310a0000027c0b146af8fccdb4aa9006fda05bd80ba9fba3000000596469666669652d68656c6c\
        6d616e2d67726f75702d65786368616e67652d736861312c6469666669652d68656c6c6d616e2d67726f757031342d736861312c6469666669652d68\
        656c6c6d616e2d67726f7570312d736861310000000f7373682d7273612c7373682d647373000000876165733132382d6362632c336465732d636263\
        2c626c6f77666973682d6362632c636173743132382d6362632c617263666f75722c6165733139322d6362632c6165733235362d6362632c72696a6e\
        6461656c2d636263406c797361746f722e6c69752e73652c6165733132382d6374722c6165733139322d6374722c6165733235362d63747200000087\
        6165733132382d6362632c336465732d6362632c626c6f77666973682d6362632c636173743132382d6362632c617263666f75722c6165733139322d\
        6362632c6165733235362d6362632c72696a6e6461656c2d636263406c797361746f722e6c69752e73652c6165733132382d6374722c616573313932\
        2d6374722c6165733235362d63747200000055686d61632d6d64352c686d61632d736861312c686d61632d726970656d643136302c686d61632d7269\
        70656d64313630406f70656e7373682e636f6d2c686d61632d736861312d39362c686d61632d6d64352d393600000055686d61632d6d64352c686d61\
        632d736861312c686d61632d726970656d643136302c686d61632d726970656d64313630406f70656e7373682e636f6d2c686d61632d736861312d39\
        362c686d61632d6d64352d3936000000096e6f6e652c7a6c6962000000096e6f6e652c7a6c6962000000000000000000000000000000000000000000\
        000000
        """

    func hex(_ s: String) -> [UInt8] {
        let d = Array(s.utf8)
        return stride(from: 0, to: d.count - 1, by: 2).compactMap { UInt8(String(decoding: d[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    @Test func realSessionMatchesTshark() throws {
        // tshark 4.0.17: ssh.kex.hassh c4fd9343…, ssh.kex.hasshserver f430cd67….
        let i = try #require(ssh(hex(Self.sessionClient), hex(Self.sessionServer)))
        #expect(i.client?.softwareVersion == "OpenSSH_3.8.1p1" && i.server?.protoVersion == "1.99" && i.malformed == nil)
        #expect(i.hassh == "c4fd9343cba76d12f0dd523fbe7c4da1" && i.hasshServer == "f430cd6761697a6a658ee1d45ed22e49")
    }

    @Test func kexInitCutAnywhere() throws {
        let banner = Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8)
        let whole = banner + kexInitPacket(Self.lists)
        // HASSH needs the first eight lists whole.
        let end8 = banner.count + 4 + 1 + 1 + 16 + Self.lists.prefix(8).reduce(0) { $0 + 4 + $1.utf8.count }
        for n in banner.count...whole.count {
            let i = try #require(ssh(Array(whole.prefix(n)), []))
            #expect(i.malformed == nil, "prefix \(n)")
            #expect((i.hassh != nil) == (n >= end8), "prefix \(n)")
        }
        // Cut after three whole lists.
        let three = banner.count + 4 + 1 + 1 + 16 + Self.lists.prefix(3).reduce(0) { $0 + 4 + $1.utf8.count }
        let k = try #require(ssh(Array(whole.prefix(three + 2)), [])?.client?.kexInit)
        #expect(k.cut && k.listsRead == 3 && k.encryptionClientToServer == Self.encC2S && k.macClientToServer == "")
    }

    @Test func lyingLengthsAreCaught() throws {
        let banner = Array("SSH-2.0-x\r\n".utf8)
        // packet_length smaller than the lists inside it.
        #expect(try #require(ssh(banner + kexInitPacket(Self.lists, packetLength: 120), [])).malformed == "ssh.name_list")
        #expect(try #require(ssh(banner + kexInitPacket(Self.lists, packetLength: 0xFFFF_FFFF), [])).malformed == "ssh.packet_length")
        #expect(try #require(ssh(banner + kexInitPacket(Self.lists, packetLength: 3), [])).malformed == "ssh.packet_length")
        #expect(try #require(ssh(banner + kexInitPacket(Self.lists, padding: 2), [])).malformed == "ssh.padding_length")
        #expect(try #require(ssh(banner + kexInitPacket(Self.lists, code: 21), [])).malformed == "ssh.first_packet_not_kexinit")
        // A name-list length past the end of the packet.
        var huge = banner + kexInitPacket(Self.lists)
        huge[banner.count + 6 + 16] = 0x7F
        let i = try #require(ssh(huge, []))
        #expect(i.malformed == "ssh.name_list" && i.hassh == nil)
        // Non-printable bytes in a list.
        #expect(try #require(ssh(banner + kexInitPacket(["a\u{1}b"] + Array(Self.lists.dropFirst())), [])).malformed
            == "ssh.name_list_characters")
    }

    @Test func notSSHIsRefused() {
        #expect(ssh("") == nil)
        #expect(ssh("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n") == nil)
        #expect(ssh("SSH", "") == nil)
        #expect(ssh("ssh-2.0-x\r\n") == nil)
    }

    @Test func oddBanners() throws {
        // A client that does not speak SSH to an SSH server.
        let scan = try #require(ssh("\r\n\r\n", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"))
        #expect(scan.client == nil && scan.server?.comments == "Debian-2+deb12u10" && scan.malformed == "ssh.banner")
        // No dash after the version.
        #expect(try #require(ssh("SSH-2.0\r\n")).malformed == "ssh.banner")
        // Over 255 bytes: kept in part, flagged.
        let long = try #require(ssh("SSH-2.0-" + String(repeating: "v", count: 300) + "\r\n"))
        #expect(long.malformed == "ssh.banner_too_long" && long.client?.bannerTruncated == true && long.client?.bannerLength == 308)
        #expect(long.client?.softwareVersion.utf8.count == SSHEndpoint.bannerCapacity - 8)
        // Cut inside the banner: what is there is kept.
        let cut = try #require(ssh("SSH-2.0-OpenS"))
        #expect(cut.client?.softwareVersion == "OpenS" && cut.client?.bannerTruncated == true && cut.malformed == nil)
        // An SSH-1 peer frames packets differently: its banner only.
        let v1 = try #require(ssh(Array("SSH-1.5-1.2.27\n".utf8) + [0, 0, 1, 4, 0, 0, 0, 0], []))
        #expect(v1.client?.protoVersion == "1.5" && v1.client?.kexInit == nil && v1.malformed == nil)
    }

    @Test func knownClientSoftware() throws {
        func known(_ banner: String) -> Double? { ssh(banner + "\r\n")?.clientSoftwareKnown }
        #expect(known("SSH-2.0-OpenSSH_for_Windows_8.1") == 1)
        #expect(known("SSH-2.0-libssh2_1.10.0") == 1 && known("SSH-2.0-libssh_0.10.6") == 1)
        #expect(known("SSH-2.0-Go") == 1 && known("SSH-2.0-JSCH-0.1.54") == 1 && known("SSH-2.0-paramiko_3.4.0") == 1)
        #expect(known("SSH-2.0-9.31 FlowSsh: Bitvise SSH Client (Tunnelier) 9.31") == 1)
        #expect(known("SSH-2.0-Gorilla_1.0") == 0 && known("SSH-2.0-sshlib") == 0 && known("SSH-2.0-") == 0)
        #expect(try #require(ssh("", "SSH-2.0-OpenSSH_9.2p1\r\n")).clientSoftwareKnown == 0)  // no client banner
    }
}
