#!/usr/bin/env python3
"""Slow randomised connect sweep: one TCP connection attempt every 5-30 s to a
random (host, port), the way a low-and-slow scanner hides under a network's
noise. The schedule (gap before each attempt, address, port) is drawn by
lab.py from the seed and given as a JSON list [[gap_s, ip, port], ...].

An attempt is a plain connect() with a 3 s timeout: a closed port answers
RST, an open one completes the handshake; then sometimes it waits up to 1 s
for a banner, and closes.
"""
import argparse, json, random, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("--plan", required=True)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = random.Random(a.seed)
for gap, ip, port in json.load(open(a.plan)):
    time.sleep(gap)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((ip, port))
        if rng.random() < 0.5:
            s.settimeout(1)
            try:
                s.recv(256)
            except OSError:
                pass
        print("open", ip, port, flush=True)
    except OSError as e:
        print("closed", ip, port, type(e).__name__, flush=True)
    finally:
        s.close()
