#!/usr/bin/env python3
"""An instant OCR task provider for benchmarks: speaks the PicWish task API (create,
query, result download) and finishes every task a set delay after its create.

Deliberately small and fast (asyncio, HTTP/1.1 keep-alive, no framework), so that a
benchmark measures the worker, not the provider. Not a test double of the API's
failure modes: see Tests/WorkerTests/EndToEnd/FaultProvider.swift for those.

    instant_provider.py PORT_FILE [--delay SECONDS]

Writes the port it listens on (127.0.0.1) to PORT_FILE. GET /stats answers
{"creates": N, "queries": N, "downloads": N}.
"""
import asyncio
import json
import sys
import time
import uuid

DELAY = 0.0
tasks = {}
stats = {"creates": 0, "queries": 0, "downloads": 0}
port = 0
RESULT = b"instant provider result text\n" * 4


def reply(status, body, content_type=b"application/json"):
    head = b"HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (status, content_type, len(body))
    return head + body


def envelope(data):
    return json.dumps({"status": 200, "message": "success", "data": data}).encode()


async def read_body(reader, headers):
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return body
            body += await reader.readexactly(size)
            await reader.readline()
    length = int(headers.get(b"content-length", b"0"))
    return await reader.readexactly(length) if length else b""


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
            if method == b"POST" and path.startswith(b"/api/tasks/document/ocr"):
                task_id = uuid.uuid4().hex
                tasks[task_id] = now
                stats["creates"] += 1
                out = reply(200, envelope({"task_id": task_id}))
            elif method == b"GET" and path.startswith(b"/api/tasks/document/ocr/"):
                task_id = path.rsplit(b"/", 1)[1].decode()
                stats["queries"] += 1
                created = tasks.get(task_id)
                if created is None:
                    out = reply(404, json.dumps({"status": 404, "message": "task not found"}).encode())
                elif now - created >= DELAY:
                    out = reply(200, envelope({
                        "task_id": task_id, "state": 1, "progress": 100,
                        "file": "http://127.0.0.1:%d/results/%s.txt" % (port, task_id),
                        "created_at": str(int(created)), "processed_at": str(int(created)), "completed_at": str(int(now)),
                    }))
                else:
                    out = reply(200, envelope({
                        "task_id": task_id, "state": 4, "progress": int(100 * (now - created) / DELAY),
                        "created_at": str(int(created)),
                    }))
            elif method == b"GET" and path.startswith(b"/results/"):
                stats["downloads"] += 1
                out = reply(200, RESULT, b"text/plain")
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
    import os
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--delay" in args:
        i = args.index("--delay")
        DELAY = float(args[i + 1])
        del args[i:i + 2]
    asyncio.run(main(args[0]))
