#!/usr/bin/env python3
"""Faults a fleet's infrastructure causes, against real processes: N `ocr-worker run`
processes in one consumer group on one PostgreSQL ledger (shared request budget on),
the project's broker, and provider_sim_server.py (a per-key rate limit with 429 +
Retry-After, log-normal task durations). While the jobs run it SIGKILLs a worker three
times (restarting it, as an orchestrator would), freezes PostgreSQL (SIGSTOP on the
server and its backends) and then the provider.

It prints what users get: jobs with a result, jobs with more than one distinct result,
duplicate result records, provider tasks beyond one per job (the crash window allows at
most one per kill), 429s, and for each fault the longest stretch without a published
result from the moment the fault clears.

    chaos.py --bin PATH --bootstrap HOST:PORT --postgres URL --postgres-name NAME [options]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from confluent_kafka import Consumer, Producer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Results(threading.Thread):
    """Reads the results topic from the start; records when each result arrived."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-count-{time.time()}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe(["ocr.results"])
        self.records = []  # (monotonic time, job id, value)
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        while not self.stopping:
            for m in self.consumer.consume(200, 0.2):
                if m.error() is None and m.key() is not None:
                    with self.lock:
                        self.records.append((time.monotonic(), m.key().decode(), m.value()))
        self.consumer.close()

    def snapshot(self):
        with self.lock:
            return list(self.records)


class Worker:
    def __init__(self, args, index, env, workdir):
        self.args, self.index, self.env, self.workdir = args, index, env, workdir
        self.process = None
        self.start()

    def start(self):
        log = open(os.path.join(self.workdir, f"worker-{self.index}.log"), "a")
        self.process = subprocess.Popen([self.args.bin, "run"], env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(150)
            except subprocess.TimeoutExpired:
                self.process.kill()


def gap_after(times, start, end):
    """The longest stretch in [start, end] without a result, counted from `start`."""
    inside = [t for t in times if start <= t <= end]
    points = [start] + inside + [end if not inside or inside[-1] < end else inside[-1]]
    longest = 0.0
    for a, b in zip(points, points[1:]):
        longest = max(longest, b - a)
    return longest


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--postgres", required=True)
    ap.add_argument("--postgres-name", required=True, help="the scripts/postgres NAME, for freeze and thaw")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--qps", type=float, default=40, help="the provider's limit for the key, and OCR_PROVIDER_RPS")
    ap.add_argument("--time-scale", type=float, default=8, help="task durations: log-normal median 8 s divided by this")
    ap.add_argument("--postgres-freeze", type=float, default=60)
    ap.add_argument("--provider-freeze", type=float, default=30)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--log-level", default="notice", help="the workers' OCR_LOG_LEVEL (logs in the run's directory)")
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="chaos-")
    port_file = os.path.join(workdir, "provider.port")
    provider = subprocess.Popen([sys.executable, os.path.join(HERE, "provider_sim_server.py"), port_file, "--qps", str(args.qps),
                                 "--time-scale", str(args.time_scale)])
    for _ in range(100):
        if os.path.exists(port_file):
            break
        time.sleep(0.1)
    port = int(open(port_file).read())
    print(f"chaos: {args.workers} ocr-worker processes, one PostgreSQL ledger (shared budget), {args.jobs} jobs, provider "
          f"limit {args.qps:g} rps, task durations median {8 / args.time_scale:g} s; logs in {workdir}", flush=True)

    workers = []
    results = Results(args.bootstrap)
    events = []  # (label, started at, cleared at)
    try:
        for i in range(args.workers):
            # Exactly what a pod gets: no inherited environment beyond the settings.
            env = {
                "PATH": "/usr/bin:/bin",
                "OCR_KAFKA_BOOTSTRAP": args.bootstrap, "OCR_GROUP_ID": "chaos", "OCR_CREATE_TOPICS": "true",
                "OCR_TOPIC_PARTITIONS": "6", "OCR_PROVIDER_URL": f"http://127.0.0.1:{port}", "OCR_PROVIDER_API_KEY": "chaos-key",
                "OCR_PROVIDER_RPS": str(args.qps), "OCR_PROVIDER_PODS_PER_KEY": str(args.workers), "OCR_SOURCE_POLICY": "pass_url",
                "OCR_LEDGER_URL": args.postgres, "OCR_PASS_THROUGH": "true", "OCR_WORKER_ID": f"pod-{i}",
                "OCR_SESSION_TIMEOUT_SECONDS": "6", "OCR_HTTP_PORT": "-1", "OCR_LOG_LEVEL": args.log_level,
                "OCR_ALLOW_PRIVATE_SOURCES": "true", "OCR_MAX_IN_FLIGHT": "256",
            }
            workers.append(Worker(args, i, env, workdir))
            time.sleep(1)
        time.sleep(8)  # topics created, group joined
        results.start()
        producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 20})
        for i in range(args.jobs):
            job_id = f"chaos-{i}"
            producer.produce("ocr.jobs", key=job_id,
                             value=json.dumps({"job_id": job_id, "source": {"url": f"https://docs.example/{job_id}.pdf"}}))
        producer.flush(60)
        t0 = time.monotonic()

        def at(seconds):
            while time.monotonic() < t0 + seconds:
                time.sleep(0.2)

        def kill(index, when):
            at(when)
            started = time.monotonic()
            workers[index].kill()
            print(f"chaos: {time.monotonic() - t0:5.0f} s  SIGKILL worker {index}; restarted 5 s later", flush=True)
            time.sleep(5)
            workers[index].start()
            events.append((f"SIGKILL worker {index}", started, time.monotonic()))

        kill(0, 15)
        at(30)
        frozen = time.monotonic()
        subprocess.run([os.path.join(ROOT, "scripts/postgres"), "freeze", args.postgres_name], check=True)
        print(f"chaos: {time.monotonic() - t0:5.0f} s  PostgreSQL frozen (SIGSTOP) for {args.postgres_freeze:g} s", flush=True)
        time.sleep(args.postgres_freeze)
        subprocess.run([os.path.join(ROOT, "scripts/postgres"), "thaw", args.postgres_name], check=True)
        events.append(("PostgreSQL frozen", frozen, time.monotonic()))
        kill(1, 30 + args.postgres_freeze + 15)
        at(30 + args.postgres_freeze + 40)
        frozen = time.monotonic()
        provider.send_signal(signal.SIGSTOP)
        print(f"chaos: {time.monotonic() - t0:5.0f} s  provider frozen (SIGSTOP) for {args.provider_freeze:g} s", flush=True)
        time.sleep(args.provider_freeze)
        provider.send_signal(signal.SIGCONT)
        events.append(("provider frozen", frozen, time.monotonic()))
        kill(2, 30 + args.postgres_freeze + 40 + args.provider_freeze + 15)

        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            if len({k for _, k, _ in results.snapshot()}) >= args.jobs:
                break
            time.sleep(0.5)
        done = time.monotonic()
        time.sleep(5)  # late duplicates
        records = results.snapshot()
        stats = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats"))
    finally:
        results.stopping = True
        for w in workers:
            w.stop()
        provider.send_signal(signal.SIGCONT)
        provider.terminate()
        provider.wait()

    by_job = {}
    for _, key, value in records:
        by_job.setdefault(key, []).append(value)
    wanted = {f"chaos-{i}" for i in range(args.jobs)}
    with_result = len(wanted & by_job.keys())
    distinct = sum(1 for k in wanted if len(set(by_job.get(k, []))) > 1)
    duplicates = sum(len(v) - 1 for k, v in by_job.items() if k in wanted)
    creates = len(stats["creates_at"])
    times = sorted(t for t, _, _ in records)
    print(f"chaos: {with_result}/{args.jobs} jobs with a result in {done - t0:.0f} s; {distinct} with more than one distinct "
          f"result; {duplicates} duplicate result records (the same result republished after a crash)", flush=True)
    print(f"chaos: {creates} provider tasks for {args.jobs} jobs: {creates - args.jobs} beyond one per job "
          f"(3 kills allow at most 3); {stats['throttled']} 429s of {stats['requests']} requests", flush=True)
    # Each fault's window: from the moment it clears to the next fault (or the end).
    for i, (label, _, cleared) in enumerate(events):
        end = events[i + 1][1] if i + 1 < len(events) else done
        if end <= cleared:
            continue
        gap = gap_after(times, cleared, end)
        print(f"chaos: after {label:22} cleared: longest stretch without a result {gap:5.1f} s "
              f"(of the {end - cleared:.0f} s until the next fault or the end)", flush=True)
    missing = sorted(wanted - by_job.keys(), key=lambda k: int(k.split("-")[1]))
    if missing:
        rows = subprocess.run(["psql", args.postgres, "-Atc", "select job_id, state, create_attempts, task_id, updated_at from jobs "
                               "where job_id in (" + ",".join(f"'{k}'" for k in missing[:20]) + ")"],
                              capture_output=True, text=True).stdout.strip()
        print(f"chaos: no result for {len(missing)} jobs; their ledger rows (at most 20):\n{rows}", flush=True)
    ok = with_result == args.jobs and distinct == 0 and creates - args.jobs <= 3
    print("chaos: " + ("all jobs have their result" if ok else "FAILED"), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
