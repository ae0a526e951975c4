#!/usr/bin/env python3
"""Mutated capture files through the real reader: `flowsentry replay` on
pcap and pcapng files mutated many times (seeded), checking that each run
either succeeds (exit 0) or stops with a clear one-line error naming the
file (exit 1) -- never a signal, a hang or another exit code.

Seeds are the crafted test captures (Tests/SensorTests/Captures, with
earlier findings in its fuzz/) and the first records of every lab capture
(captures/), each lab prefix also rewritten as pcapng (with a nanosecond
if_tsresol option), so both readers are exercised. Mutators:

  python (default): seeded and structure-aware -- bit flips, interesting
      bytes, the length fields of pcap record headers and pcapng blocks and
      options, interface ids, timestamp resolution, the file header,
      truncation, and chunks deleted, duplicated or spliced;
  zzuf: `zzuf -s SEED -r RATIO` (Debian's zzuf) as a stdin->stdout mutator;
  mixed: both, alternating.

A failing input is kept in Fuzz/findings/captures/ (or --findings) with its
seed in the name; turn it into a regression test.

  scripts/fuzz_captures.py --count 200                  # what the pytest runs
  scripts/fuzz_captures.py --count 20000 --mutator mixed --seed 7
  scripts/fuzz_captures.py --minutes 30 --mutator mixed --score-every 10
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRAFTED = REPO / "Tests" / "SensorTests" / "Captures"
LAB = REPO / "captures"
INTERESTING32 = [0, 1, 2, 3, 4, 7, 8, 11, 12, 15, 16, 20, 24, 28, 31, 32, 63, 64, 127, 128, 255, 256,
                 1500, 1514, 4095, 4096, 65534, 65535, 65536, 262143, 262144, 262145,
                 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]
INTERESTING8 = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x40, 0x45, 0x60, 0x06, 0x11, 0x2F, 0x29, 0x88, 0x81]


# ---------------------------------------------------------------- seeds

def pcap_records(data: bytes):
    """(offset, caplen) of each whole record of a classic pcap, and the byte order."""
    if len(data) < 24:
        return [], "<"
    magic = struct.unpack("<I", data[:4])[0]
    bo = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        cap = struct.unpack(bo + "I", data[off + 8:off + 12])[0]
        if off + 16 + cap > len(data):
            break
        out.append((off, cap))
        off += 16 + cap
    return out, bo


def pcap_prefix(data: bytes, max_records: int, max_bytes: int) -> bytes:
    recs, _ = pcap_records(data)
    end = 24
    for i, (off, cap) in enumerate(recs):
        if i >= max_records or off + 16 + cap > max_bytes:
            break
        end = off + 16 + cap
    return data[:end]


def pcap_to_pcapng(data: bytes) -> bytes:
    """Rewrites a little-endian microsecond pcap as pcapng: SHB, IDB with
    if_tsresol 9 (nanoseconds), one EPB per record."""
    recs, bo = pcap_records(data)
    lt = struct.unpack(bo + "I", data[20:24])[0]
    snap = struct.unpack(bo + "I", data[16:20])[0]
    magic = struct.unpack(bo + "I", data[:4])[0]
    nano = magic == 0xA1B23C4D

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    out += block(1, struct.pack("<HHI", lt & 0xFFFF, 0, snap) + opts)
    for off, cap in recs:
        sec, frac, _, wire = struct.unpack(bo + "IIII", data[off:off + 16])
        ns = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        out += block(6, struct.pack("<IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, cap, wire) + data[off + 16:off + 16 + cap])
    return out


def seed_inputs(max_records: int = 60, max_bytes: int = 24_000) -> list[tuple[str, bytes]]:
    seeds: list[tuple[str, bytes]] = []
    # The crafted captures, and earlier findings (kept as regression inputs).
    for p in sorted(CRAFTED.glob("*.pcap*")) + sorted((CRAFTED / "fuzz").glob("*.pcap*")):
        seeds.append((p.name, p.read_bytes()))
    for p in sorted(LAB.glob("*.pcap")):
        head = p.read_bytes()[: max_bytes + 4096]
        pre = pcap_prefix(head, max_records, max_bytes)
        if len(pre) > 24:
            seeds.append((p.stem + "-head.pcap", pre))
            seeds.append((p.stem + "-head.pcapng", pcap_to_pcapng(pre)))
    return seeds


# ---------------------------------------------------------------- mutators

def pcapng_blocks(data: bytes):
    """(offset, type, length) of each block, assuming little endian, stopping at the first bad length."""
    out, off = [], 0
    while off + 12 <= len(data):
        btype, n = struct.unpack("<II", data[off:off + 8])
        if n < 12 or n % 4 or off + n > len(data):
            break
        out.append((off, btype, n))
        off += n
    return out


def put32(buf: bytearray, off: int, v: int, bo: str = "<"):
    if 0 <= off and off + 4 <= len(buf):
        buf[off:off + 4] = struct.pack(bo + "I", v & 0xFFFFFFFF)


def interesting(rng: random.Random, near: int | None = None) -> int:
    if near is not None and rng.random() < 0.4:
        return max(0, near + rng.choice([-4, -1, 1, 4, 8, 1 << 16]))
    return rng.choice(INTERESTING32)


def mutate_python(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(data)
    is_ng = data[:4] == b"\x0a\x0d\x0d\x0a"
    kinds = ["bitflip", "bytes", "lengths", "lengths", "header", "truncate", "chunks", "stack"]
    kind = rng.choice(kinds)
    rounds = rng.randint(2, 4) if kind == "stack" else 1
    applied = []
    for _ in range(rounds):
        k = rng.choice(kinds[:-1]) if kind == "stack" else kind
        applied.append(k)
        if not buf:
            break
        if k == "bitflip":
            for _ in range(rng.randint(1, 24)):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
        elif k == "bytes":
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(buf))
                buf[i] = rng.choice(INTERESTING8) if rng.random() < 0.7 else rng.randrange(256)
        elif k == "lengths":
            if is_ng:
                blocks = pcapng_blocks(bytes(buf))
                if not blocks:
                    continue
                off, btype, n = rng.choice(blocks)
                what = rng.randrange(7)
                if what == 0:  # leading block length
                    put32(buf, off + 4, interesting(rng, n))
                elif what == 1:  # trailing block length
                    put32(buf, off + n - 4, interesting(rng, n))
                elif what == 2 and btype in (6, 2) and n >= 32:  # captured length
                    cap = struct.unpack("<I", buf[off + 20:off + 24])[0]
                    put32(buf, off + 20, interesting(rng, cap))
                elif what == 3 and btype in (6, 2) and n >= 32:  # original length
                    put32(buf, off + 24, interesting(rng, n))
                elif what == 4 and btype == 6:  # interface id
                    put32(buf, off + 8, rng.choice([1, 2, 255, 0xFFFF, 0xFFFFFFFF]))
                elif what == 5 and btype == 1 and n >= 24:  # IDB options: code/length or tsresol
                    o = off + 16
                    if rng.random() < 0.5 and o + 8 <= off + n:
                        buf[o + 4] = rng.choice([0, 1, 6, 9, 19, 20, 63, 64, 0x80, 0x81, 0xBF, 0xC0, 0xFF])
                    else:
                        struct.pack_into("<HH", buf, o, rng.choice([0, 9, 14, 2, 0xFFFF]), rng.choice([0, 1, 8, 200, 0xFFFF]))
                elif what == 6 and btype in (6, 2):  # timestamp words
                    put32(buf, off + 12, rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000]))
                    put32(buf, off + 16, rng.choice([0, 0xFFFFFFFF, rng.getrandbits(32)]))
                else:  # block type
                    put32(buf, off, rng.choice([1, 2, 3, 5, 6, 0x0A0D0D0A, 0xBAD, 0x80000001]))
            else:
                recs, bo = pcap_records(bytes(buf))
                if not recs:
                    continue
                off, cap = rng.choice(recs)
                what = rng.randrange(4)
                if what == 0:
                    put32(buf, off + 8, interesting(rng, cap), bo)
                elif what == 1:
                    put32(buf, off + 12, interesting(rng, cap), bo)
                elif what == 2:  # timestamp seconds / fraction
                    put32(buf, off, rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFF]), bo)
                    put32(buf, off + 4, rng.choice([0, 999_999, 1_000_000, 999_999_999, 0xFFFFFFFF]), bo)
                else:  # caplen larger than len, or len zero
                    put32(buf, off + 12, rng.choice([0, max(0, cap - 1)]), bo)
        elif k == "header":
            if is_ng:
                i = rng.randrange(min(len(buf), 28))
                buf[i] = rng.choice(INTERESTING8)
            elif len(buf) >= 24:
                _, bo = pcap_records(bytes(buf))
                what = rng.randrange(4)
                if what == 0:
                    put32(buf, 20, rng.choice([0, 1, 9, 12, 14, 101, 104, 108, 113, 147, 228, 229, 276, 0xFFFF]), bo)
                elif what == 1:
                    put32(buf, 16, rng.choice([0, 1, 14, 54, 96, 65535, 262144, 0x7FFFFFFF, 0xFFFFFFFF]), bo)
                elif what == 2:
                    buf[0:4] = struct.pack("<I", rng.choice([0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1, 0xA1B2CD34]))
                else:
                    struct.pack_into(bo + "HH", buf, 4, rng.choice([1, 2, 3]), rng.choice([0, 2, 4, 0xFFFF]))
        elif k == "truncate":
            del buf[rng.randrange(len(buf)):]
        elif k == "chunks":
            a = rng.randrange(len(buf))
            n = rng.randint(1, min(256, len(buf) - a))
            op = rng.randrange(3)
            if op == 0:
                del buf[a:a + n]
            elif op == 1:
                buf[a:a] = buf[a:a + n]
            else:
                b = rng.randrange(len(buf))
                buf[b:b + n] = buf[a:a + n]
    return bytes(buf), "+".join(applied)


def mutate_zzuf(data: bytes, seed: int, ratio: float) -> tuple[bytes, str]:
    p = subprocess.run(["zzuf", "-s", str(seed), "-r", f"{ratio:g}"], input=data, capture_output=True, timeout=30)
    return p.stdout, f"zzuf-s{seed}-r{ratio:g}"


# ---------------------------------------------------------------- runner

@dataclass
class Outcome:
    ok: int = 0
    clean_errors: int = 0
    findings: list[str] = field(default_factory=list)
    slowest: float = 0.0
    scored: int = 0


def find_bin() -> str | None:
    env = os.environ.get("FLOWSENTRY_BIN")
    if env and os.access(env, os.X_OK):
        return env
    for c in (REPO / ".build" / "release" / "flowsentry", REPO / ".build" / "debug" / "flowsentry"):
        if os.access(c, os.X_OK):
            return str(c)
    return None


def judge(path: str, rc: int, stderr: str) -> str | None:
    """None when the run is acceptable, else what is wrong."""
    if rc < 0:
        return f"killed by signal {-rc}"
    if "Sanitizer" in stderr:  # an ASan/UBSan/TSan report from a sanitized build (scripts/sanitize.sh)
        return f"sanitizer report (exit {rc}): " + next(ln for ln in stderr.splitlines() if "Sanitizer" in ln)
    errors = [ln for ln in stderr.splitlines() if ln.startswith("flowsentry: error") or "fatal" in ln.lower()]
    if rc == 0:
        if errors:
            return f"exit 0 but an error was printed: {errors[0]!r}"
        return None
    if rc != 1:
        return f"exit {rc}"
    if len(errors) != 1:
        return f"exit 1 with {len(errors)} error lines (want exactly one): {errors[:3]!r}"
    line = errors[0]
    if path not in line:
        return f"exit 1 but the error does not name the file: {line!r}"
    if "flowsentry: read " not in stderr:
        return "exit 1 without the summary (flows read so far not reported)"
    return None


def run(args) -> Outcome:
    binary = args.bin or find_bin()
    if not binary:
        sys.exit("fuzz_captures: no flowsentry binary (build it, or give --bin / FLOWSENTRY_BIN)")
    mutator = args.mutator
    if mutator in ("zzuf", "mixed") and not shutil.which("zzuf"):
        if mutator == "zzuf":
            sys.exit("fuzz_captures: zzuf not installed (apt-get install zzuf), or use --mutator python")
        mutator = "python"
    seeds = seed_inputs()
    rng = random.Random(args.seed)
    findings_dir = Path(args.findings)
    work = Path(tempfile.mkdtemp(prefix="fs-fuzzcap-"))
    # A private copy, so a rebuild during a long run does not disturb it.
    shutil.copy2(binary, work / "flowsentry")
    binary = str(work / "flowsentry")
    model = REPO / "rules" / "flowsentry.fsb"
    out = Outcome()
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    i = 0
    try:
        while (deadline is None and i < args.count) or (deadline is not None and time.monotonic() < deadline):
            name, data = seeds[i % len(seeds)]
            use_zzuf = mutator == "zzuf" or (mutator == "mixed" and i % 2 == 1)
            if use_zzuf:
                zseed = rng.getrandbits(31)
                mutated, how = mutate_zzuf(data, zseed, rng.choice([0.0005, 0.001, 0.004, 0.01, 0.03]))
            else:
                mutated, how = mutate_python(data, rng)
            suffix = ".pcapng" if name.endswith(".pcapng") else ".pcap"
            path = work / f"m{args.seed}-{i:06d}-{Path(name).stem}{suffix}"
            path.write_bytes(mutated)
            cmd = [binary, "replay", str(path), "--flows", "/dev/null", "--max-flows", "2048"]
            score = args.score_every > 0 and i % args.score_every == 0
            if score:
                cmd += ["--alerts", "/dev/null", "--model", str(model)]
                out.scored += 1
            else:
                cmd += ["--no-score"]
            t0 = time.monotonic()
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=args.timeout)
                problem = judge(str(path), p.returncode, p.stderr)
                stderr = p.stderr
            except subprocess.TimeoutExpired:
                problem, stderr = f"no exit within {args.timeout} s", ""
            out.slowest = max(out.slowest, time.monotonic() - t0)
            if problem:
                findings_dir.mkdir(parents=True, exist_ok=True)
                keep = findings_dir / f"{path.stem}-{how.replace('+', '_')}{suffix}"
                shutil.copy(path, keep)
                out.findings.append(f"{keep}: {problem} (from {name}, {how})\n{stderr[-2000:]}")
                if args.stop_on_finding:
                    break
            elif p.returncode == 0:
                out.ok += 1
            else:
                out.clean_errors += 1
            path.unlink()
            i += 1
            if args.verbose and i % 500 == 0:
                print(f"fuzz_captures: {i} runs, {out.ok} ok, {out.clean_errors} clean errors, {len(out.findings)} findings",
                      file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.runs = i  # type: ignore[attr-defined]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200, help="mutated files to replay (ignored with --minutes)")
    ap.add_argument("--minutes", type=float, default=0, help="run for this long instead of --count")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutator", choices=["python", "zzuf", "mixed"], default="python")
    ap.add_argument("--score-every", type=int, default=20, help="every Nth run also scores and writes alerts (0: never)")
    ap.add_argument("--timeout", type=float, default=20, help="seconds before a run counts as a hang")
    ap.add_argument("--bin", help="flowsentry binary (default $FLOWSENTRY_BIN, then .build/release)")
    ap.add_argument("--findings", default=str(REPO / "Fuzz" / "findings" / "captures"))
    ap.add_argument("--stop-on-finding", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    o = run(args)
    dt = time.monotonic() - t0
    print(f"fuzz_captures: {o.runs} mutated captures ({args.mutator}, seed {args.seed}) in {dt:.1f} s: "
          f"{o.ok} replayed cleanly, {o.clean_errors} stopped with a one-line error, {len(o.findings)} findings; "
          f"{o.scored} scored; slowest run {o.slowest:.2f} s")
    for f in o.findings:
        print("FINDING " + f)
    return 1 if o.findings else 0


if __name__ == "__main__":
    sys.exit(main())
