#!/usr/bin/python3
"""Holds N Server-Sent-Events streams to a newsroom server and measures how
long each pushed update takes to reach every one of them.

Usage: live_client.py PORT N SECONDS SITE_DIR BIN
Connections come from several loopback source addresses (127.0.0.2 ...)
so that the per-address connection limit is not what is measured. Every
second the client posts an update with `newsroom live post`, whose headline
carries the time it was posted; each stream records when it saw it.
Prints p50/p99/max latency over all deliveries and the messages lost.
Only loopback is touched; everything stops by itself.
"""
import asyncio
import json
import re
import subprocess
import sys
import time

PORT, N, SECS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
SITE, BIN = sys.argv[4], sys.argv[5]
PER_ADDR = 900
latencies = []
received = {}          # update id -> streams that got it
connected = 0
failed = 0
TAG = re.compile(r"bench-t=(\d+\.\d+)")


async def stream(i):
    global connected, failed
    src = f"127.0.0.{2 + i // PER_ADDR}"
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", PORT, local_addr=(src, 0), limit=1 << 20)
    except OSError:
        failed += 1
        return
    writer.write(b"GET /live/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        failed += 1
        writer.close()
        return
    connected += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"data: {") and b"bench-t=" in line:
                now = time.time()
                m = TAG.search(line.decode("utf-8", "replace"))
                uid = json.loads(line[6:])["id"]
                latencies.append(now - float(m.group(1)))
                received[uid] = received.get(uid, 0) + 1
    except (OSError, asyncio.IncompleteReadError):
        pass


async def poster(ids):
    for _ in range(SECS):
        t = time.time()
        proc = await asyncio.create_subprocess_exec(
            BIN, "live", "post", SITE, "--headline", f"Bench update bench-t={t:.6f}",
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = await proc.communicate()
        if out.strip().isdigit():
            ids.append(int(out))
        await asyncio.sleep(max(0, 1 - (time.time() - t)))


async def main():
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(stream(i)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    deadline = time.time() + 60
    while connected + failed < N and time.time() < deadline:
        await asyncio.sleep(0.2)
    print(f"streams open: {connected} of {N} ({failed} refused)", flush=True)
    ids = []
    await poster(ids)
    await asyncio.sleep(2)
    for t in tasks:
        t.cancel()
    lat = sorted(latencies)
    expected = len(ids) * connected
    lost = expected - sum(received.get(i, 0) for i in ids)
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        print(f"updates posted: {len(ids)}; deliveries: {len(lat)} of {expected}")
        print(f"latency ms: p50 {p(0.50):.1f}, p99 {p(0.99):.1f}, max {lat[-1] * 1000:.1f}")
    print(f"messages lost: {lost}")


asyncio.run(main())
