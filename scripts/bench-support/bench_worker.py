#!/usr/bin/env python3
"""`scripts/bench worker`: the worker's cost per job against an instant provider.

For each binary given (the current build and a baseline built from another commit, in
the same run), on a fresh Tansu broker and a fresh SQLite ledger:
  - N jobs (default 5000) in pass-through mode, then N in rehost mode (directory store);
    reports CPU ms per job (user + system of the worker process, from /proc), jobs/s
    (first record produced to last result seen) and peak RSS. The worker runs with
    OCR_MAX_IN_FLIGHT=--max-in-flight (default 2048): every job waits at least the first
    poll delay (1 s), so with a small cap jobs/s only measures cap / latency (Little's
    law: 256 in flight give about 128 jobs/s whatever the worker's cost) and not what
    the worker can sustain;
  - M tasks in flight (default 10000; tasks that take 10 minutes): the worker's RSS once
    the provider has seen every create.
The worker is started as the README starts it (`ocr-worker run`, settings in OCR_*
variables), with no other environment than the variables that setting needs.

  - with --plain, the plain-worker binary (Sources/plain-worker: the same pass-through
    work on the same libraries, straight-line code without the job engine) takes its
    turn in the pass-through runs: the gap to it is what the job engine itself costs.

    bench_worker.py --bin NAME=PATH [--bin NAME=PATH ...] [--plain PATH] [--creates C] [--jobs N] [--in-flight M] [--max-in-flight K]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from confluent_kafka import Consumer, Producer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # MiB
    return 0.0


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: timed out waiting for {what}")


class Provider:
    def __init__(self, workdir, delay):
        port_file = os.path.join(workdir, f"provider-{delay}-{time.monotonic_ns()}.port")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "instant_provider.py"), port_file, "--delay", str(delay)])
        wait_for(lambda: os.path.exists(port_file), 10, "the provider")
        self.port = int(open(port_file).read())

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats") as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def broker(name, action):
    out = subprocess.run([os.path.join(ROOT, "scripts/kafka-broker"), action, name], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def produce(bootstrap, topic, n, prefix):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        job_id = f"{prefix}-{i}"
        value = json.dumps({"job_id": job_id, "source": {"url": f"https://documents.example/{job_id}.pdf"}})
        p.produce(topic, key=job_id, value=value)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(60)


def count_results(bootstrap, topic, expected, timeout):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time()}", "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000})
    c.subscribe([topic])
    seen = set()
    deadline = time.monotonic() + timeout
    last = None
    while len(seen) < expected and time.monotonic() < deadline:
        for m in c.consume(500, 0.5):
            if m.error() is None:
                seen.add(m.key())
                last = time.monotonic()
    c.close()
    return len(seen), last


def start_worker(binary, bootstrap, provider_port, workdir, name, pass_through, max_in_flight, topics, creates=1):
    ledger = os.path.join(workdir, f"ledger-{name}.db")
    env = {
        "PATH": "/usr/bin:/bin",
        "OCR_KAFKA_BOOTSTRAP": bootstrap,
        "OCR_GROUP_ID": f"bench-{name}",
        "OCR_JOBS_TOPIC": topics[0], "OCR_RESULTS_TOPIC": topics[1], "OCR_DLQ_TOPIC": topics[2],
        "OCR_CREATE_TOPICS": "true", "OCR_TOPIC_PARTITIONS": "6",
        "OCR_PROVIDER_URL": f"http://127.0.0.1:{provider_port}", "OCR_PROVIDER_API_KEY": "bench",
        "OCR_PROVIDER_RPS": "1000000",
        "OCR_SOURCE_POLICY": "pass_url",
        "OCR_LEDGER_URL": f"sqlite://{ledger}",
        "OCR_RESULT_STORE_URL": f"file://{os.path.join(workdir, 'results-' + name)}",
        "OCR_PASS_THROUGH": "true" if pass_through else "false",
        "OCR_MAX_IN_FLIGHT": str(max_in_flight),
        "OCR_MAX_CONCURRENT_CREATES": str(creates),
        "OCR_SESSION_TIMEOUT_SECONDS": "6",
        "OCR_HTTP_PORT": "-1",
        "OCR_LOG_LEVEL": "warning",
        "OCR_ALLOW_PRIVATE_SOURCES": "true",
    }
    log = open(os.path.join(workdir, f"worker-{name}.log"), "w")
    return subprocess.Popen([binary, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_jobs(binary, label, mode, jobs, workdir, provider, max_in_flight, creates=1):
    name = f"bench-{os.getpid()}-{label}-{mode}".replace("/", "_")
    bootstrap = broker(name, "start")
    try:
        topics = (f"jobs-{mode}", f"results-{mode}", f"dlq-{mode}")
        worker = start_worker(binary, bootstrap, provider.port, workdir, f"{label}-{mode}", mode == "pass-through",
                              max_in_flight, topics, creates)
        time.sleep(8)  # group join (session 6 s) and topic creation before the clock starts
        downloads0 = provider.stats()["downloads"]
        cpu0 = proc_cpu_seconds(worker.pid)
        t0 = time.monotonic()
        produce(bootstrap, topics[0], jobs, f"{label}-{mode}")
        seen, last = count_results(bootstrap, topics[1], jobs, timeout=900)
        cpu1 = proc_cpu_seconds(worker.pid)
        rss = proc_status(worker.pid, "VmHWM")
        stop(worker)
        if seen < jobs:
            raise SystemExit(f"bench: {label} {mode}: only {seen} of {jobs} results")
        # The mode is checked, not assumed: a pass-through worker never fetches a result
        # file, a rehosting one fetches each once.
        downloads = provider.stats()["downloads"] - downloads0
        if downloads != (0 if mode == "pass-through" else jobs):
            raise SystemExit(f"bench: {label} {mode}: the provider served {downloads} result downloads for {jobs} jobs")
        elapsed = last - t0
        return {"cpu_ms_per_job": (cpu1 - cpu0) * 1000 / jobs, "jobs_per_s": jobs / elapsed, "peak_rss_mib": rss}
    finally:
        broker(name, "stop")


def run_in_flight(binary, label, tasks, workdir):
    provider = Provider(workdir, delay=600)
    name = f"bench-{os.getpid()}-{label}-inflight".replace("/", "_")
    bootstrap = broker(name, "start")
    try:
        topics = ("jobs-if", "results-if", "dlq-if")
        worker = start_worker(binary, bootstrap, provider.port, workdir, f"{label}-inflight", True, tasks, topics)
        time.sleep(8)
        produce(bootstrap, topics[0], tasks, f"{label}-if")
        wait_for(lambda: provider.stats()["creates"] >= tasks, 900, f"{tasks} creates")
        time.sleep(5)  # a few poll rounds with every task in flight
        rss = proc_status(worker.pid, "VmRSS")
        stop(worker)
        return {"rss_mib": rss}
    finally:
        broker(name, "stop")
        provider.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, help="NAME=PATH of an ocr-worker binary")
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--in-flight", type=int, default=10000)
    ap.add_argument("--max-in-flight", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=2,
                    help="job runs per binary and mode, alternated between the binaries (figures are means)")
    ap.add_argument("--creates", type=int, default=1,
                    help="OCR_MAX_CONCURRENT_CREATES for every binary (default 1, the worker's default)")
    ap.add_argument("--plain", help="PATH of the plain-worker binary: pass-through runs only, taking turns with the others")
    args = ap.parse_args()
    bins = [b.split("=", 1) for b in args.bin]
    workdir = tempfile.mkdtemp(prefix="bench-worker-")
    results = {label: {} for label, _ in bins}
    runs = {(label, mode): [] for label, _ in bins for mode in ("pass-through", "rehost")}
    if args.plain:
        runs[("plain", "pass-through")] = []
    provider = Provider(workdir, delay=0)
    try:
        # The binaries take turns, in a new order every round: this VM's speed drifts
        # within minutes, and running one binary's rounds before the other's would
        # charge the drift to one of them.
        for rnd in range(args.rounds):
            for mode in ("pass-through", "rehost"):
                turns = bins + ([["plain", args.plain]] if args.plain and mode == "pass-through" else [])
                for label, path in (turns if rnd % 2 == 0 else turns[::-1]):
                    r = run_jobs(path, f"{label}{rnd}", mode, args.jobs, workdir, provider, args.max_in_flight, args.creates)
                    runs[(label, mode)].append(r)
                    print(f"bench: round {rnd + 1} {label} {mode}: {r}", file=sys.stderr, flush=True)
        for (label, mode), rs in runs.items():
            results.setdefault(label, {})
            results[label][mode] = {k: sum(r[k] for r in rs) / len(rs) for k in rs[0]}
        if args.in_flight > 0:
            for label, path in bins:
                results[label]["in-flight"] = run_in_flight(path, label, args.in_flight, workdir)
                print(f"bench: {label} in-flight: {results[label]['in-flight']}", file=sys.stderr, flush=True)
    finally:
        provider.stop()
    base = bins[-1][0]
    print(f"\n{args.jobs} jobs per mode (OCR_MAX_IN_FLIGHT={args.max_in_flight}, "
          f"OCR_MAX_CONCURRENT_CREATES={args.creates}), instant provider, SQLite ledger, "
          f"means of {args.rounds} alternated rounds; {args.in_flight} tasks in flight")
    print(f"{'binary':<10} {'mode':<13} {'CPU ms/job':>10} {'jobs/s':>8} {'peak RSS MiB':>13}")
    for label, _ in bins:
        for mode in ("pass-through", "rehost"):
            r = results[label][mode]
            print(f"{label:<10} {mode:<13} {r['cpu_ms_per_job']:>10.2f} {r['jobs_per_s']:>8.1f} {r['peak_rss_mib']:>13.1f}")
        if "in-flight" in results[label]:
            print(f"{label:<10} {'in flight':<13} {'':>10} {'':>8} {results[label]['in-flight']['rss_mib']:>13.1f}")
    if args.plain:
        r = results["plain"]["pass-through"]
        print(f"{'plain':<10} {'pass-through':<13} {r['cpu_ms_per_job']:>10.2f} {r['jobs_per_s']:>8.1f} {r['peak_rss_mib']:>13.1f}")
    if len(bins) > 1:
        print(f"\nratios against {base} (same run):")
        for label, _ in bins[:-1]:
            for mode in ("pass-through", "rehost"):
                a, b = results[label][mode], results[base][mode]
                print(f"  {label} {mode}: CPU/job x{a['cpu_ms_per_job'] / b['cpu_ms_per_job']:.2f}, jobs/s x{a['jobs_per_s'] / b['jobs_per_s']:.2f}")
            if "in-flight" in results[label]:
                print(f"  {label} in flight: RSS x{results[label]['in-flight']['rss_mib'] / results[base]['in-flight']['rss_mib']:.2f}")
    if args.plain:
        # The plain worker does the same pass-through work on the same libraries without
        # the job engine: the gap to it is the engine's own cost.
        print("\nratios against plain-worker (same run):")
        for label, _ in bins:
            a, b = results[label]["pass-through"], results["plain"]["pass-through"]
            print(f"  {label} pass-through: CPU/job x{a['cpu_ms_per_job'] / b['cpu_ms_per_job']:.2f}, jobs/s x{a['jobs_per_s'] / b['jobs_per_s']:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
