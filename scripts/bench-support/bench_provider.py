#!/usr/bin/env python3
"""`scripts/bench provider`: how well each poll schedule spends one API key's budget.

On the same job set (same seeds) it runs, against the simulated provider of
provider_sim.py (virtual time, per-key limit with 429 + Retry-After):
  fixed-1s   a poll every second (PicWish's sample client)
  backoff    1 s x1.5 up to 15 s (the usual waiter)
  today      the worker before the planner: that backoff, shortened by progress
  planner    the worker's poll planner: its exact decisions, from the Swift code itself
             (the poll-plan-driver executable: DurationModel, PollPlanner and
             TaskPollHistory called as JobMachine and JobRunner call them)
Every schedule goes through the same client model as the worker's OCRClient: a token
bucket at the configured rate (burst 1) with polls before creates, a 429 cutting the
rate by half (once per second) and a Retry-After pausing all requests, recovery of
0.2 rps per 5 s; 30 ms per request. Elapsed time is measured as JobMachine does (from
the create's reply, dated back to the provider's whole-second created_at).

Two loads per scenario:
  light      jobs arrive at random (Poisson) well below the key's limit: requests per
             job and detection lag (completion to the poll that sees it) as a fraction of
             the task's duration;
  saturated  all jobs queued at once, at most --in-flight running: jobs per second at
             the key's limit.
"""
import argparse
import heapq
import math
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from provider_sim import EPOCH, Distribution, Provider, Sim  # noqa: E402

LATENCY = 0.030  # seconds per request, there and back


class Bucket:
    """OCRClient's TokenBucket with its default settings."""

    def __init__(self, rate, burst=1.0, minimum=0.1, decrease=0.5, step=0.2, interval=5.0, cooldown=1.0):
        self.max_rate, self.rate, self.tokens, self.burst = rate, rate, burst, burst
        self.minimum, self.decrease, self.step, self.interval, self.cooldown = minimum, decrease, step, interval, cooldown
        self.last_refill = self.last_adjust = 0.0
        self.last_cut = None
        self.paused_until = None

    def refill(self, now):
        if now <= self.last_refill:
            return
        while self.rate < self.max_rate and self.step > 0 and now - self.last_adjust >= self.interval:
            self.last_adjust += self.interval
            self.rate = min(self.max_rate, self.rate + self.step)
        if self.rate >= self.max_rate:
            self.last_adjust = now
        self.tokens = min(self.burst, self.tokens + (now - self.last_refill) * self.rate)
        self.last_refill = now
        if self.paused_until is not None and now >= self.paused_until:
            self.paused_until = None

    def try_take(self, now):
        self.refill(now)
        if self.paused_until is not None and now < self.paused_until:
            return False
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def delay(self, now):
        self.refill(now)
        wait = 0.0
        if self.paused_until is not None and self.paused_until > now:
            wait = self.paused_until - now
        if self.tokens < 1:
            wait += max(0.0, 1 - self.tokens - wait * self.rate) / self.rate
        return max(wait, 0.001)

    def throttle(self, now, retry_after):
        self.refill(now)
        if self.last_cut is None or now - self.last_cut >= self.cooldown:
            self.rate = max(self.minimum, self.rate * self.decrease)
            self.last_cut = now
        self.last_adjust = now
        self.tokens = min(self.tokens, 0)
        if retry_after:
            self.paused_until = max(self.paused_until or 0, now + retry_after)


class Client:
    """Requests of one pod: a token each, polls (priority 0) before creates (1)."""

    def __init__(self, sim, provider, rate):
        self.sim, self.provider, self.bucket = sim, provider, Bucket(rate)
        self.queue = []  # heap of (priority, seq, send)
        self.seq = 0
        self.pump_at = None  # the one scheduled dispatch, like RequestBudget's dispatcher

    def request(self, priority, send):
        """`send()` runs when a token is granted; it returns nothing."""
        self.seq += 1
        heapq.heappush(self.queue, (priority, self.seq, send))
        self.pump()

    def pump(self, scheduled=False):
        now = self.sim.now
        if scheduled:
            self.pump_at = None
        while self.queue and self.bucket.try_take(now):
            _, _, send = heapq.heappop(self.queue)
            send()
        if self.queue and self.pump_at is None:
            self.pump_at = now + self.bucket.delay(now)
            self.sim.at(self.pump_at, lambda: self.pump(scheduled=True))

    def call(self, priority, at_provider, on_reply):
        """A request with the client's 429 handling: the provider runs `at_provider()` half a
        latency after the grant (if the key's limit admits it), the reply comes back half a
        latency later; a 429 cuts the rate, pauses for its Retry-After and is sent again."""

        def send():
            def arrive():
                if not self.provider.admit():
                    def throttled():
                        self.bucket.throttle(self.sim.now, 1.0)
                        self.request(priority, send)
                    self.sim.after(LATENCY / 2, throttled)
                    return
                answer = at_provider()
                self.sim.after(LATENCY / 2, lambda: on_reply(answer))
            self.sim.after(LATENCY / 2, arrive)

        self.request(priority, send)


# MARK: Poll schedules


class FixedSchedule:
    name = "fixed-1s"

    def first(self, job):
        return 1.0

    def pending(self, job, elapsed, polls, progress):
        return 1.0

    def done(self, job, elapsed, provider_duration):
        pass


class BackoffSchedule:
    """PollBackoff: 1 s x1.5 up to 15 s; `shrink`: shortened by progress (today's worker)."""

    def __init__(self, shrink):
        self.shrink = shrink
        self.name = "today" if shrink else "backoff"

    def first(self, job):
        return 1.0

    def pending(self, job, elapsed, polls, progress):
        backoff = min(15.0, 1.0 * 1.5 ** polls)
        if not self.shrink or not progress or progress <= 0 or progress >= 100:
            return backoff
        return max(1.0, min(backoff, elapsed * (100 - progress) / progress))

    def done(self, job, elapsed, provider_duration):
        pass


class PlannerSchedule:
    """The worker's planner, through the poll-plan-driver executable."""

    name = "planner"

    def __init__(self, binary, options):
        self.proc = subprocess.Popen([binary, *options], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.bases = {}

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if not answer or answer[0] in ("error", ""):
            raise RuntimeError(f"poll-plan-driver: {line!r} -> {answer}")
        return answer

    def decision(self, line):
        delay, basis = self.ask(line)
        self.bases[basis] = self.bases.get(basis, 0) + 1
        return float(delay)

    def first(self, job):
        size = f" {job.size_bucket}" if job.size_bucket is not None else ""
        return self.decision(f"start {job.task_key} txt{size}")

    def pending(self, job, elapsed, polls, progress):
        return self.decision(f"pending {job.task_key} {elapsed:.6f} {progress}")

    def done(self, job, elapsed, provider_duration):
        extra = f" {provider_duration}" if provider_duration is not None else ""
        self.ask(f"done {job.task_key} {elapsed:.6f}{extra}")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


# MARK: The worker side


class Job:
    def __init__(self, index, duration, size, arrival):
        self.index, self.duration, self.size, self.arrival = index, duration, size, arrival
        self.size_bucket = None
        self.task_key = f"j{index}"
        self.requests = 0
        self.lag_fraction = None
        self.done_at = None


def size_bucket(size):
    """DurationKey.sizeBucket(bytes:)."""
    bucket, limit = 0, 128 * 1024
    while size > limit and bucket < 16:
        bucket += 1
        limit *= 2
    return bucket


def run(jobs, schedule, shape, qps, rate, in_flight, sizes_known):
    """Runs the jobs (fresh copies) through one schedule; returns per-run figures."""
    sim = Sim()
    provider = Provider(sim, qps=qps)
    client = Client(sim, provider, rate)
    jobs = [Job(j.index, j.duration, j.size, j.arrival) for j in jobs]
    waiting = []
    running = [0]

    def start_next():
        while waiting and running[0] < in_flight:
            job = waiting.pop(0)
            running[0] += 1
            create(job)

    def arrive(job):
        waiting.append(job)
        start_next()

    def create(job):
        if sizes_known:
            job.size_bucket = size_bucket(job.size)
        job.requests += 1

        def at_provider():
            return provider.create(job.duration, shape)

        def created(task_id):
            job.task_id = task_id
            job.started = sim.now  # JobMachine: the task's clock starts at the create's reply
            job.polls = 0
            sim.after(schedule.first(job), lambda: poll(job))

        client.call(1, at_provider, created)

    def poll(job):
        job.requests += 1

        def replied(answer):
            state, progress, created_at, completed_at = answer
            # JobMachine.noteProviderCreation: dated back to the provider's whole-second
            # created_at when that is more than a second before the create's reply.
            if created_at - EPOCH < job.started - 1:
                job.started = created_at - EPOCH
            elapsed = sim.now - job.started
            job.polls += 1
            if state == 1:
                done = provider.done_at(job.task_id)
                job.lag_fraction = (sim.now - done) / job.duration
                job.done_at = sim.now
                schedule.done(job, elapsed, completed_at - created_at)
                running[0] -= 1
                start_next()
                return
            sim.after(schedule.pending(job, elapsed, job.polls, progress), lambda: poll(job))

        client.call(0, lambda: provider.query(job.task_id), replied)

    # Polls issued after a 429 are counted by the provider, not per job: add them here.
    for job in jobs:
        sim.at(job.arrival, lambda job=job: arrive(job))
    sim.run()
    finished = [j for j in jobs if j.done_at is not None]
    assert len(finished) == len(jobs), "jobs left unfinished"
    first = min(j.arrival for j in jobs)
    return {
        "jobs": jobs,
        "requests": provider.requests,
        "throttled": provider.throttled,
        "throttled_after_10s": None,
        "makespan": max(j.done_at for j in jobs) - first,
    }


def quantile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    position = q * (len(values) - 1)
    low = int(math.floor(position))
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def figures(result, skip=0):
    jobs = result["jobs"][skip:]
    lags = [j.lag_fraction for j in jobs]
    return {
        "req_per_job": sum(j.requests for j in jobs) / len(jobs),
        "all_req_per_job": result["requests"] / len(result["jobs"]),
        "lag_p50": quantile(lags, 0.5),
        "lag_p95": quantile(lags, 0.95),
        "throttled": result["throttled"],
        "jobs_per_s": len(result["jobs"]) / result["makespan"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driver", required=True, help="the poll-plan-driver executable")
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per scenario and load")
    parser.add_argument("--qps", type=float, default=2.0, help="the key's limit at the provider")
    parser.add_argument("--rate", type=float, default=None, help="the client's configured rate (default: --qps)")
    parser.add_argument("--arrival-rate", type=float, default=0.1, help="jobs per second in the light load")
    parser.add_argument("--in-flight", type=int, default=64, help="jobs running at once (OCR_MAX_IN_FLIGHT)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--scenario", action="append", help="distribution:shape (repeatable)")
    parser.add_argument("--planner-option", action="append", default=[], help="passed to poll-plan-driver, e.g. --done-probability=0.5")
    args = parser.parse_args()
    rate = args.rate or args.qps
    scenarios = args.scenario or ["lognormal:linear", "lognormal:steps", "lognormal:zero", "lognormal-size:zero", "bimodal:zero"]
    planner_options = [part for option in args.planner_option for part in option.split("=", 1)]
    started = time.monotonic()
    print(f"bench provider: {args.jobs} jobs per scenario and load, key limit {args.qps:g} rps, client rate {rate:g} rps, "
          f"{LATENCY * 1000:.0f} ms per request, virtual time (no scale factor: nothing waits)")
    print("figures per schedule; ratios are against fixed-1s / backoff in the same run; planner figures include its cold start "
          "(the '(warm)' line leaves out the first 40 jobs)")
    summary = []
    for scenario in scenarios:
        kind, shape = scenario.split(":")
        distribution = Distribution(kind)
        sizes_known = kind == "lognormal-size"
        rng = random.Random(args.seed)
        samples = [distribution.sample(rng) for _ in range(args.jobs)]
        arrivals, t = [], 0.0
        for _ in samples:
            t += rng.expovariate(args.arrival_rate)
            arrivals.append(t)
        light = [Job(i, d, s, arrivals[i]) for i, (d, s) in enumerate(samples)]
        heavy = [Job(i, d, s, 0.0) for i, (d, s) in enumerate(samples)]
        print()
        print(f"== {distribution}, progress {shape}" + (" (sizes known: keyed by size bucket)" if sizes_known else ""))
        rows = {}
        bases = {}
        for make in (FixedSchedule, lambda: BackoffSchedule(False), lambda: BackoffSchedule(True),
                     lambda: PlannerSchedule(args.driver, planner_options)):
            schedule = make()
            light_result = run(light, schedule, shape, args.qps, rate, args.in_flight, sizes_known)
            if isinstance(schedule, PlannerSchedule):
                bases = dict(schedule.bases)
                schedule.close()
                schedule = make()
            heavy_result = run(heavy, schedule, shape, args.qps, rate, args.in_flight, sizes_known)
            if isinstance(schedule, PlannerSchedule):
                schedule.close()
            rows[schedule.name] = (figures(light_result), figures(heavy_result))
            if schedule.name == "planner":
                rows["planner (warm)"] = (figures(light_result, skip=40), figures(heavy_result, skip=40))
        fixed, backoff = rows["fixed-1s"], rows["backoff"]
        print(f"{'schedule':16} {'req/job':>8} {'lag p50':>8} {'lag p95':>8} {'429s':>5} | {'jobs/s sat':>10} {'429s':>5} | "
              f"{'req/job vs 1s':>13} {'vs backoff':>10} | {'jobs/s vs 1s':>12} {'vs backoff':>10}")
        for name, (lf, hf) in rows.items():
            print(f"{name:16} {lf['req_per_job']:8.2f} {lf['lag_p50'] * 100:7.1f}% {lf['lag_p95'] * 100:7.1f}% {lf['throttled']:5d} | "
                  f"{hf['jobs_per_s']:10.3f} {hf['throttled']:5d} | "
                  f"{lf['req_per_job'] / fixed[0]['req_per_job']:13.2f} {lf['req_per_job'] / backoff[0]['req_per_job']:10.2f} | "
                  f"{hf['jobs_per_s'] / fixed[1]['jobs_per_s']:12.2f} {hf['jobs_per_s'] / backoff[1]['jobs_per_s']:10.2f}")
        print(f"planner decisions by rule (light load): " + ", ".join(f"{k} {v}" for k, v in sorted(bases.items())))
        summary.append((scenario, rows["planner"][0]))
    print()
    print("targets (log-normal median 8 s sigma 0.6): <= 2.5 requests/job at detection lag p50 <= 10 %")
    for scenario, f in summary:
        if scenario.startswith("lognormal:"):
            ok = f["req_per_job"] <= 2.5 and f["lag_p50"] <= 0.10
            print(f"  {scenario:22} {f['req_per_job']:.2f} req/job, lag p50 {f['lag_p50'] * 100:.1f} %: {'met' if ok else 'NOT met'}")
    print(f"(ran in {time.monotonic() - started:.1f} s of real time)")


if __name__ == "__main__":
    main()
