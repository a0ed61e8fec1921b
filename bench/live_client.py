#!/usr/bin/python3
"""Holds N Server-Sent-Events streams to a newsroom server and measures how
long each pushed update takes to reach every one of them.

Usage: live_client.py PORT N SECONDS SITE_DIR BIN [PROCESSES]
The streams are spread over PROCESSES reader processes (default 4) so that
the client, not the server, is not what limits the figures; each reader
uses several loopback source addresses (127.0.0.2 ...) so that the
per-address connection limit is not what is measured. Once every stream is
open, one update per second is posted with `newsroom live post`; its
headline carries the time it was posted, and each stream records when it
saw it. Prints p50/p99/max latency over all deliveries and the messages
lost. Only loopback is touched; everything stops by itself.
"""
import asyncio
import json
import multiprocessing as mp
import re
import subprocess
import sys
import time

TAG = re.compile(rb"bench-t=(\d+\.\d+)")
PER_ADDR = 900


async def stream(port, i, lat, received, state):
    src = f"127.0.0.{2 + i // PER_ADDR}"
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(src, 0), limit=1 << 20)
        writer.write(b"GET /live/events HTTP/1.1\r\nHost: bench\r\n"
                     b"Accept: text/event-stream\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    except (OSError, asyncio.IncompleteReadError):
        state["failed"] += 1
        return
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        state["failed"] += 1
        return
    state["open"] += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"data: {") and b"bench-t=" in line:
                now = time.time()
                sent = float(TAG.search(line).group(1))
                uid = json.loads(line[6:])["id"]
                lat.append(now - sent)
                received[uid] = received.get(uid, 0) + 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        pass


def reader_proc(port, first, count, ready, go_home, out):
    async def main():
        lat, received = [], {}
        state = {"open": 0, "failed": 0}
        tasks = []
        for i in range(first, first + count):
            tasks.append(asyncio.create_task(stream(port, i, lat, received, state)))
            if len(tasks) % 250 == 0:
                await asyncio.sleep(0.02)
        while state["open"] + state["failed"] < count:
            await asyncio.sleep(0.1)
        ready.put((state["open"], state["failed"]))
        while go_home.is_set() is False:
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()
        out.put((lat, received))
    asyncio.run(main())


def main():
    port, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    site, binary = sys.argv[4], sys.argv[5]
    nproc = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    ready, out, go_home = mp.Queue(), mp.Queue(), mp.Event()
    per = (n + nproc - 1) // nproc
    procs = []
    for k in range(nproc):
        first, count = k * per, min(per, n - k * per)
        p = mp.Process(target=reader_proc, args=(port, first, count, ready, go_home, out))
        p.start()
        procs.append(p)
    opened = failed = 0
    for _ in procs:
        o, f = ready.get(timeout=120)
        opened += o
        failed += f
    print(f"streams open: {opened} of {n} ({failed} refused)", flush=True)
    ids = []
    for _ in range(secs):
        t = time.time()
        r = subprocess.run([binary, "live", "post", site, "--headline",
                            f"Bench update bench-t={t:.6f}"],
                           capture_output=True, text=True)
        if r.stdout.strip().isdigit():
            ids.append(int(r.stdout))
        time.sleep(max(0, 1 - (time.time() - t)))
    time.sleep(2)
    go_home.set()
    lat, received = [], {}
    for _ in procs:
        l, rcv = out.get(timeout=120)
        lat.extend(l)
        for k, v in rcv.items():
            received[k] = received.get(k, 0) + v
    for p in procs:
        p.join(10)
    lat.sort()
    expected = len(ids) * opened
    got = sum(received.get(i, 0) for i in ids)
    if lat:
        def pct(q):
            return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        print(f"updates posted: {len(ids)}; deliveries: {got} of {expected}")
        print(f"latency ms: p50 {pct(0.50):.1f}, p99 {pct(0.99):.1f}, max {lat[-1] * 1000:.1f}")
    print(f"messages lost: {expected - got}")


if __name__ == "__main__":
    main()
