#!/usr/bin/python3
"""SMTP server of the lab's broad benign captures (benign-wide-*), on fs-wmx.

aiosmtpd (Debian python3-aiosmtpd, so run with /usr/bin/python3): port 25
(server-to-server relay: STARTTLS offered, no AUTH) and port 587 (submission:
STARTTLS required before AUTH, AUTH PLAIN/LOGIN required before MAIL).
Accepted messages are delivered into the recipient's Maildir (the Maildirs
dovecot serves over IMAP/POP3), so later IMAP/POP3 sessions fetch them.
Bounded by --deadline (seconds); stops on SIGTERM.
"""
import argparse, asyncio, mailbox, os, pwd, signal, ssl, time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--users", required=True, help="file of user:password lines")
ap.add_argument("--hostname", default="mx.corp.example")
ap.add_argument("--deadline", type=float, default=14400)
a = ap.parse_args()

USERS = dict(l.strip().split(":", 1) for l in open(a.users) if ":" in l)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(a.cert, a.key)


class Deliver:
    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            user = rcpt.split("@")[0].lower()
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                continue
            try:
                md = mailbox.Maildir(os.path.join(pw.pw_dir, "Maildir"), create=True)
                key = md.add(envelope.original_content or envelope.content)
                os.chown(os.path.join(pw.pw_dir, "Maildir", "new", key), pw.pw_uid, pw.pw_gid)
            except OSError:
                pass
        return "250 2.0.0 Ok: queued as %X" % int(time.time() * 1000)


def auth(server, session, envelope, mechanism, data):
    if isinstance(data, LoginPassword):
        u, p = data.login.decode(), data.password.decode()
        if USERS.get(u.split("@")[0]) == p:
            return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


async def main():
    loop = asyncio.get_running_loop()
    h = Deliver()
    s25 = await loop.create_server(lambda: SMTP(h, hostname=a.hostname, tls_context=ctx, require_starttls=False,
                                                 ident="ESMTP Postfix (Debian/GNU)"), "0.0.0.0", 25)
    s587 = await loop.create_server(lambda: SMTP(h, hostname=a.hostname, tls_context=ctx, require_starttls=True,
                                                  authenticator=auth, auth_required=True, auth_require_tls=True,
                                                  ident="ESMTP Postfix (Debian/GNU)"), "0.0.0.0", 587)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), a.deadline)
    except asyncio.TimeoutError:
        pass
    s25.close()
    s587.close()


asyncio.run(main())
