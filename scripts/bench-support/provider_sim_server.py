#!/usr/bin/env python3
"""The simulated PicWish provider of provider_sim.py over HTTP, in real time, for runs of
real ocr-worker processes: per-key rate limit (more than QPS requests of one API key in
any second are answered 429 with Retry-After: 1), log-normal task durations divided by
--time-scale, linear progress, whole-second created_at / completed_at.

    provider_sim_server.py PORT_FILE [--qps 2] [--median 8] [--sigma 0.6] [--time-scale 4]

GET /stats answers {"requests": N, "throttled": N, "admitted_at": [...], "throttled_at": [...],
"creates_at": [...]} with times in seconds since the server started.
"""
import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections import defaultdict, deque

QPS, MEDIAN, SIGMA, SCALE = 2.0, 8.0, 0.6, 4.0
START = time.time()
rng = random.Random(13)
tasks = {}
recent = defaultdict(deque)
stats = {"requests": 0, "throttled": 0, "admitted_at": [], "throttled_at": [], "creates_at": []}
port = 0


def reply(status, body, extra=b""):
    head = b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra)
    return head + body


def envelope(data):
    return json.dumps({"status": 200, "message": "success", "data": data}).encode()


async def read_body(reader, headers):
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return
            await reader.readexactly(size)
            await reader.readline()
    length = int(headers.get(b"content-length", b"0"))
    if length:
        await reader.readexactly(length)


def admit(key, now):
    window = recent[key]
    while window and window[0] <= now - 1.0:
        window.popleft()
    stats["requests"] += 1
    if len(window) >= QPS:
        stats["throttled"] += 1
        stats["throttled_at"].append(now - START)
        return False
    window.append(now)
    stats["admitted_at"].append(now - START)
    return True


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            method, path, _ = line.split(b" ", 2)
            headers = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.partition(b":")
                headers[k.strip().lower()] = v.strip()
            await read_body(reader, headers)
            now = time.time()
            api = path.startswith(b"/api/tasks/document/ocr")
            if api and not admit(headers.get(b"x-api-key", b""), now):
                out = reply(429, json.dumps({"status": 429, "message": "too many requests"}).encode(), b"Retry-After: 1\r\n")
            elif method == b"POST" and api:
                task_id = uuid.uuid4().hex
                tasks[task_id] = (now, MEDIAN * math.exp(SIGMA * rng.gauss(0, 1)) / SCALE)
                stats["creates_at"].append(now - START)
                out = reply(200, envelope({"task_id": task_id}))
            elif method == b"GET" and api:
                task_id = path.rsplit(b"/", 1)[1].decode()
                created, duration = tasks.get(task_id, (None, None))
                if created is None:
                    out = reply(404, json.dumps({"status": 404, "message": "task not found"}).encode())
                elif now - created >= duration:
                    out = reply(200, envelope({
                        "task_id": task_id, "state": 1, "progress": 100,
                        "file": "http://127.0.0.1:%d/results/%s.txt" % (port, task_id),
                        "created_at": str(int(created)), "completed_at": str(int(created + duration)),
                    }))
                else:
                    out = reply(200, envelope({
                        "task_id": task_id, "state": 4, "progress": int(100 * (now - created) / duration),
                        "created_at": str(int(created)),
                    }))
            elif method == b"GET" and path == b"/stats":
                out = reply(200, json.dumps(stats).encode())
            else:
                out = reply(404, b"{}")
            writer.write(out)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def main(port_file):
    global port
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    for name in ("--qps", "--median", "--sigma", "--time-scale"):
        if name in args:
            i = args.index(name)
            value = float(args[i + 1])
            del args[i:i + 2]
            if name == "--qps": QPS = value
            elif name == "--median": MEDIAN = value
            elif name == "--sigma": SIGMA = value
            else: SCALE = value
    asyncio.run(main(args[0]))
