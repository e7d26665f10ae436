#!/usr/bin/env python3
"""Real ocr-worker pods on one API key: N `ocr-worker run` processes in one consumer
group, one PostgreSQL ledger, against provider_sim_server.py (per-key limit with 429 +
Retry-After, log-normal durations divided by --time-scale), on the project's broker.
Prints the 429s, the 429s after the first 10 s, and the share of the key's limit used
while jobs still waited to be created, for the shared budget on and off.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from confluent_kafka import Consumer, Producer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def broker(name, action):
    out = subprocess.run([os.path.join(ROOT, "scripts/kafka-broker"), action, name], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def run(args, shared, workdir):
    port_file = os.path.join(workdir, f"provider-{shared}.port")
    provider = subprocess.Popen([sys.executable, os.path.join(HERE, "provider_sim_server.py"), port_file, "--qps", str(args.qps),
                                 "--time-scale", str(args.time_scale)])
    for _ in range(100):
        if os.path.exists(port_file):
            break
        time.sleep(0.1)
    port = int(open(port_file).read())
    name = f"pods-{os.getpid()}-{shared}"
    bootstrap = broker(name, "start")
    workers = []
    try:
        schema = f"pods_{os.getpid()}_{'shared' if shared else 'local'}"
        for i in range(args.pods):
            env = {
                "PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", ""),
                "OCR_KAFKA_BOOTSTRAP": bootstrap, "OCR_GROUP_ID": "pods", "OCR_CREATE_TOPICS": "true", "OCR_TOPIC_PARTITIONS": "6",
                "OCR_PROVIDER_URL": f"http://127.0.0.1:{port}", "OCR_PROVIDER_API_KEY": "bench-key",
                "OCR_PROVIDER_RPS": str(args.qps), "OCR_SOURCE_POLICY": "pass_url",
                "OCR_LEDGER_URL": f"{args.postgres}?schema={schema}", "OCR_PASS_THROUGH": "true",
                "OCR_SHARED_BUDGET": "true" if shared else "false", "OCR_WORKER_ID": f"pod-{i}",
                "OCR_SESSION_TIMEOUT_SECONDS": "6", "OCR_HTTP_PORT": "-1", "OCR_LOG_LEVEL": "warning",
                "OCR_ALLOW_PRIVATE_SOURCES": "true", "OCR_MAX_IN_FLIGHT": "64",
            }
            log = open(os.path.join(workdir, f"worker-{shared}-{i}.log"), "w")
            workers.append(subprocess.Popen([args.bin, "run"], env=env, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(1)
        time.sleep(10)  # group join and topic creation
        t0 = time.time()
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(args.jobs):
            job_id = f"{'s' if shared else 'l'}-{i}"
            producer.produce("ocr.jobs", key=job_id, value=json.dumps({"job_id": job_id, "source": {"url": f"https://docs.example/{job_id}.pdf"}}))
        producer.flush(30)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{time.time()}", "auto.offset.reset": "earliest"})
        consumer.subscribe(["ocr.results"])
        seen = set()
        deadline = time.monotonic() + args.timeout
        while len(seen) < args.jobs and time.monotonic() < deadline:
            for m in consumer.consume(100, 0.5):
                if m.error() is None:
                    seen.add(m.key())
        consumer.close()
        elapsed = time.time() - t0
        stats = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats"))
        start = t0 - (time.time() - time.time())  # server times are relative to its own start
        server_t0 = max(0.0, min(stats["creates_at"] or [0]))  # the first create: the run's start on the server's clock
        busy_until = max(stats["creates_at"] or [0])
        window = [t for t in stats["admitted_at"] if server_t0 + 10 <= t <= busy_until]
        used = len(window) / (args.qps * max(1e-9, busy_until - server_t0 - 10))
        late = sum(1 for t in stats["throttled_at"] if t > server_t0 + 10)
        return {"results": len(seen), "elapsed": elapsed, "429s": stats["throttled"], "429s_after_10s": late, "used": used,
                "requests": stats["requests"], "jobs_per_s": len(seen) / elapsed}
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(60)
            except subprocess.TimeoutExpired:
                w.kill()
        broker(name, "stop")
        provider.terminate()
        provider.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--postgres", required=True, help="postgres://... of a throwaway server (scripts/postgres start)")
    ap.add_argument("--pods", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=120)
    ap.add_argument("--qps", type=float, default=2)
    ap.add_argument("--time-scale", type=float, default=4, help="task durations divided by this (median 8 s / 4 = 2 s)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--modes", default="shared,local")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-pods-")
    print(f"real pods: {args.pods} ocr-worker processes, one {args.qps:g} rps key, PostgreSQL ledger, {args.jobs} jobs, "
          f"durations log-normal median 8 s sigma 0.6 divided by {args.time_scale:g} (the rate limit is not scaled); logs in {workdir}")
    for mode in args.modes.split(","):
        r = run(args, mode == "shared", workdir)
        label = "shared budget" if mode == "shared" else "OCR_SHARED_BUDGET=false"
        print(f"{label:24} results {r['results']}/{args.jobs} in {r['elapsed']:.0f} s ({r['jobs_per_s']:.3f} jobs/s), "
              f"{r['requests']} requests, 429s {r['429s']} ({r['429s_after_10s']} after the first 10 s), "
              f"key used {r['used'] * 100:.1f} % while jobs waited to be created", flush=True)


if __name__ == "__main__":
    main()
