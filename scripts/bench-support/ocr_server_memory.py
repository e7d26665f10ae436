"""Peak memory of ocr-server under concurrent multi-page PDFs (issue 10).

Starts ocr-server as scripts/demo does (the given binary, a key, a data directory, no
OMP_* variables), uploads --docs copies of the first --pages pages of the bash manual
(`man -Tpdf bash`) at once as txt tasks, waits until every task has ended, and samples the
server's RSS every 0.5 s. Prints the idle RSS, the peak (VmHWM) and the peak as a multiple
of the idle RSS, with the time the tasks took. Not a test.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests


def rss_mib(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the ocr-server binary")
    ap.add_argument("--docs", type=int, default=8)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--timeout", type=int, default=3600)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-server-memory-")
    manual = os.path.join(work, "bash.pdf")
    document = os.path.join(work, "document.pdf")
    with open(manual, "wb") as out:
        subprocess.run(["man", "-Tpdf", "bash"], stdout=out, stderr=subprocess.DEVNULL, check=True)
    subprocess.run(["qpdf", "--empty", "--pages", manual, f"1-{args.pages}", "--", document], check=True)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env["OCR_SERVER_API_KEYS"] = "bench-key"
    log = open(os.path.join(work, "ocr-server.log"), "w")
    server = subprocess.Popen(
        [args.bin, "--host", "127.0.0.1", "--port", str(port), "--data-dir", os.path.join(work, "data")],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-KEY": "bench-key"}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("bench: ocr-server did not start (see its log in " + work + ")")
                time.sleep(0.2)
        idle = rss_mib(server.pid, "VmRSS")
        samples = []
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                try:
                    samples.append(rss_mib(server.pid, "VmRSS"))
                except (OSError, RuntimeError):
                    return
                time.sleep(0.5)

        threading.Thread(target=sample, daemon=True).start()
        started = time.monotonic()
        ids = []
        for i in range(args.docs):
            with open(document, "rb") as f:
                reply = requests.post(base + "/api/tasks/document/ocr", headers=headers,
                                      data={"format": "txt", "language": "English"},
                                      files={"image_file": (f"doc-{i}.pdf", f, "application/pdf")})
            ids.append(reply.json()["data"]["task_id"])
        ended = {}
        while len(ended) < len(ids):
            if time.monotonic() - started > args.timeout:
                sys.exit(f"bench: only {len(ended)} of {len(ids)} tasks ended within {args.timeout} s")
            for task_id in ids:
                if task_id in ended:
                    continue
                state = requests.get(f"{base}/api/tasks/document/ocr/{task_id}", headers=headers).json()["data"]["state"]
                if state == 1 or state < 0:  # 1 success, negative failed; 0 and >1 still running
                    ended[task_id] = (state, time.monotonic() - started)
            time.sleep(1)
        sampling.set()
        peak = rss_mib(server.pid, "VmHWM")
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    succeeded = sum(1 for state, _ in ended.values() if state == 1)
    took = max(t for _, t in ended.values())
    print(f"\n{args.docs} concurrent {args.pages}-page PDFs (bash manual), ocr-server as scripts/demo starts it")
    print(f"  tasks succeeded: {succeeded} of {args.docs}, all ended after {took:.0f} s")
    print(f"  RSS idle {idle:.0f} MiB, peak (VmHWM) {peak:.0f} MiB (highest 0.5 s sample {max(samples or [0]):.0f} MiB): x{peak / idle:.1f} the idle server")


if __name__ == "__main__":
    main()
