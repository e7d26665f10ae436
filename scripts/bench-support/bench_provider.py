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
NO_SIZE_KEY = "planner, no size"  # the planner with the source's size left out of its key


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

    def set_ceiling(self, rate, now):
        """TokenBucket.setCeiling: a rate at the old ceiling follows; a cut one stays."""
        self.refill(now)
        new = max(0.001, rate)
        if self.rate >= self.max_rate or self.rate > new:
            self.rate = new
        self.max_rate = new
        self.last_adjust = now

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
        self.granted = [0, 0]  # by priority
        self.throttles = 0
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
            priority, _, send = heapq.heappop(self.queue)
            self.granted[priority] += 1
            send()
        if self.queue and self.pump_at is None:
            self.pump_at = now + self.bucket.delay(now)
            self.sim.at(self.pump_at, lambda: self.pump(scheduled=True))

    def gated(self, priority, send):
        """With a slot store: every request first takes the key's next send slot."""
        if self.slots is None:
            send()
            return

        def taken(slot_at):
            if slot_at is None:  # a create while the key is busy: ask again a slot later
                self.sim.after(self.slots.spacing(), lambda: self.gated(priority, send))
                return
            self.sim.at(slot_at, send)

        self.sim.after(self.slots.latency, lambda: taken(self.slots.take(priority)))

    slots = None

    def call(self, priority, at_provider, on_reply):
        """A request with the client's 429 handling: the provider runs `at_provider()` half a
        latency after the grant (if the key's limit admits it), the reply comes back half a
        latency later; a 429 cuts the rate, pauses for its Retry-After and is sent again."""

        def send():
            def arrive():
                if not self.provider.admit():
                    def throttled():
                        self.bucket.throttle(self.sim.now, 1.0)
                        self.throttles += 1
                        self.request(priority, send)
                    self.sim.after(LATENCY / 2, throttled)
                    return
                answer = at_provider()
                self.sim.after(LATENCY / 2, lambda: on_reply(answer))
            self.sim.after(LATENCY / 2, arrive)

        self.request(priority, lambda: self.gated(priority, send))


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

    def __init__(self, binary, options, name="planner"):
        self.name = name
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


def run(jobs, schedule, shape, qps, rate, in_flight, sizes_known, sim=None, provider=None, client=None, started=None):
    """Runs the jobs (fresh copies) through one schedule; returns per-run figures. Given a
    `sim`, `provider` and `client`, only sets the pod up (several pods share one run)."""
    shared_run = sim is not None
    sim = sim or Sim()
    provider = provider or Provider(sim, qps=qps)
    client = client or Client(sim, provider, rate)
    jobs = [Job(j.index, j.duration, j.size, j.arrival) for j in jobs]
    waiting = []
    running = [0]

    creating = [False]  # JobRunner's CreateGate: one create at a time per pod

    def start_next():
        while waiting and running[0] < in_flight and not creating[0]:
            job = waiting.pop(0)
            running[0] += 1
            creating[0] = True
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
            creating[0] = False
            start_next()
            if started is not None:
                started.append(sim.now)
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
    if shared_run:
        return jobs, waiting
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


class LeaseStore:
    """The shared budget's store (PostgresRequestBudget's rules): leases with a TTL, the
    key's factor halved by a 429 (once per second) and recovering 0.1 per 5 s."""

    def __init__(self, sim):
        self.sim, self.leases, self.factor, self.cut_at = sim, {}, 1.0, None

    def recovered(self):
        if self.cut_at is None:
            return self.factor
        return min(1.0, self.factor + 0.1 * math.floor((self.sim.now - self.cut_at) / 5))

    def exchange(self, pod, polls, creates, ttl, throttled):
        now = self.sim.now
        if throttled and (self.cut_at is None or now - self.cut_at >= 1):
            self.factor = max(0.05, 0.5 * self.recovered())
            self.cut_at = now
        self.leases[pod] = (polls, creates, now + ttl)
        self.leases = {p: l for p, l in self.leases.items() if l[2] >= now}
        return dict(self.leases), self.recovered()


class SlotStore:
    """PostgresRequestBudget.takeSlot's rules: the key's send slots, 1 / (rate x factor x
    0.97) apart, handed out in order; a create gets one only while the key is booked less
    than the create horizon (2 s) ahead, so polls keep their priority across pods."""

    def __init__(self, sim, rate, store, margin=0.97, latency=0.002, create_horizon=2.0):
        self.sim, self.rate, self.store, self.margin, self.latency = sim, rate, store, margin, latency
        self.create_horizon = create_horizon
        self.next_slot = 0.0

    def spacing(self):
        return 1.0 / (self.rate * self.margin * self.store.recovered())

    def take(self, priority):
        now = self.sim.now
        if priority == 1 and self.next_slot > now + self.create_horizon:
            return None
        slot = max(self.next_slot, now)
        self.next_slot = slot + self.spacing()
        return slot


def share(limit, pod, leases):
    """SharedBudgetShare.share."""
    polls = sum(l[0] for l in leases.values())
    creates = sum(l[1] for l in leases.values())
    own = leases.get(pod, (0.0, 0.0, 0))
    n = max(1, len(leases) + (0 if pod in leases else 1))
    if limit <= 0:
        return 0.0
    if polls >= limit:
        return limit * own[0] / polls
    after = limit - polls
    if creates >= after:
        return own[0] + after * own[1] / creates
    return own[0] + own[1] + (after - creates) / n


def run_pods(jobs, shape, args, mode, pods=3, exchange_latency=0.005):
    """Several pods on one key, each with its own client and planner, jobs dealt out as a
    topic's partitions would. `mode`: shared (the shared budget), each (every pod at the
    key's full rate, the worker before step 3), split (key rate / pods, set by hand)."""
    sim = Sim()
    provider = Provider(sim, qps=args.qps)
    store = LeaseStore(sim)
    admitted = []  # times of requests the key admitted
    original_admit = provider.admit

    def admit():
        ok = original_admit()
        if ok:
            admitted.append(sim.now)
        return ok

    provider.admit = admit
    slots = SlotStore(sim, args.qps, store) if mode == "slots" else None
    schedules, clients, all_jobs, queues = [], [], [], []
    creates_started = []
    for p in range(pods):
        rate = args.qps / pods if mode == "split" else args.qps
        client = Client(sim, provider, rate)
        client.slots = slots
        schedule = PlannerSchedule(args.driver, [part for option in args.planner_option for part in option.split("=", 1)])
        mine = [j for j in jobs if j.index % pods == p]
        pod_jobs, waiting = run(mine, schedule, shape, args.qps, rate, args.in_flight, False, sim=sim, provider=provider,
                                client=client, started=creates_started)
        schedules.append(schedule)
        clients.append(client)
        all_jobs.extend(pod_jobs)
        queues.append(waiting)
        if mode in ("shared", "slots"):
            counters = {"g": [0, 0], "t": 0}

            def tick(p=p, client=client, counters=counters):
                g = list(client.granted)
                waiting_polls = sum(1 for w in client.queue if w[0] == 0)
                waiting_creates = len(client.queue) - waiting_polls
                polls = g[0] - counters["g"][0] + waiting_polls
                creates = g[1] - counters["g"][1] + waiting_creates
                throttled = client.throttles > counters["t"]
                counters["g"], counters["t"] = g, client.throttles

                def answer():
                    leases, factor = store.exchange(p, polls, creates, 3.0, throttled)
                    mine_share = share(args.qps * factor, p, leases)
                    floor = args.qps / max(1, len(leases)) / 10
                    # With send slots the key's slots pace every pod; the pod's own bucket
                    # only keeps the key's rate (SharedRequestBudget.round).
                    ceiling = args.qps * factor if mode == "slots" else max(mine_share, floor)
                    client.bucket.set_ceiling(ceiling, sim.now)
                    client.pump()

                sim.after(exchange_latency, answer)
                if any(j.done_at is None for j in all_jobs if j.index % pods == p):
                    sim.after(1.0, tick)

            sim.at(0.1 + p * 0.33, tick)
    sim.run()
    for schedule in schedules:
        schedule.close()
    # "While there is work": until the last create started (the key had more work than rate).
    busy_until = max(creates_started)
    window = [t for t in admitted if 10 <= t <= busy_until]
    used = len(window) / (args.qps * max(1e-9, busy_until - 10))
    throttles_after = sum(1 for t in provider_throttle_times(provider) if t > 10)
    makespan = max(j.done_at for j in all_jobs)
    return {"429s": provider.throttled, "429s_after_10s": throttles_after, "used": used, "jobs_per_s": len(all_jobs) / makespan,
            "busy_until": busy_until}


def provider_throttle_times(provider):
    return getattr(provider, "throttle_times", [])


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
    parser.add_argument("--pods", type=int, default=3, help="pods sharing the key in the shared-budget run (1: skip it)")
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
        makers = [FixedSchedule, lambda: BackoffSchedule(False), lambda: BackoffSchedule(True),
                  lambda: PlannerSchedule(args.driver, planner_options)]
        if sizes_known:
            # The same jobs with the size left out of the key: what the size key buys.
            makers.append(lambda: PlannerSchedule(args.driver, planner_options, name=NO_SIZE_KEY))
        for make in makers:
            schedule = make()
            keyed = sizes_known and schedule.name != NO_SIZE_KEY
            light_result = run(light, schedule, shape, args.qps, rate, args.in_flight, keyed)
            if isinstance(schedule, PlannerSchedule):
                if schedule.name == "planner":
                    bases = dict(schedule.bases)
                schedule.close()
                schedule = make()
            heavy_result = run(heavy, schedule, shape, args.qps, rate, args.in_flight, keyed)
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
        if NO_SIZE_KEY in rows:
            (sized, sized_heavy), (plain, plain_heavy) = rows["planner"], rows[NO_SIZE_KEY]
            print(f"size key vs none (same jobs, same run): req/job x{sized['req_per_job'] / plain['req_per_job']:.2f}, "
                  f"lag p50 x{sized['lag_p50'] / plain['lag_p50']:.2f}, lag p95 x{sized['lag_p95'] / plain['lag_p95']:.2f}, "
                  f"jobs/s at the key's limit x{sized_heavy['jobs_per_s'] / plain_heavy['jobs_per_s']:.2f}")
        summary.append((scenario, rows["planner"][0], rows["planner (warm)"][0]))
    if args.pods > 1:
        rng = random.Random(args.seed)
        distribution = Distribution("lognormal")
        jobs = [Job(i, *distribution.sample(rng), 0.0) for i in range(args.jobs)]
        print()
        print(f"== {args.pods} pods on one key ({args.qps:g} rps), {distribution}, progress linear, all {args.jobs} jobs queued, "
              f"each pod its own planner; the shared budget's rules replayed in this simulation (lease every 1 s, 3 s TTL)")
        print(f"{'budget':34} {'429s':>5} {'429s after 10 s':>15} {'key used':>9} {'jobs/s':>7}")
        results = {}
        for mode, label in (("each", f"each pod {args.qps:g} rps (before step 3)"),
                            ("split", f"each pod {args.qps / args.pods:.2f} rps (set by hand)"),
                            ("shared", "shared rate shares (step 3, first try)"),
                            ("slots", "shared send slots (step 3)")):
            r = run_pods(jobs, "linear", args, mode, pods=args.pods)
            results[mode] = r
            print(f"{label:34} {r['429s']:5d} {r['429s_after_10s']:15d} {r['used'] * 100:8.1f}% {r['jobs_per_s']:7.3f}")
        shared = results["slots"]
        print(f"shared vs each-pod-full-rate: jobs/s x{shared['jobs_per_s'] / results['each']['jobs_per_s']:.2f}; "
              f"vs hand split: x{shared['jobs_per_s'] / results['split']['jobs_per_s']:.2f}")
        ok = shared["429s_after_10s"] == 0 and shared["used"] >= 0.9
        print(f"target (no 429 after 10 s, >= 90 % of the key used while there is work): {'met' if ok else 'NOT met'}")
    print()
    print("targets (log-normal median 8 s sigma 0.6): <= 2.5 requests/job at detection lag p50 <= 10 %")
    for scenario, f, warm in summary:
        if scenario.startswith("lognormal:"):
            ok = f["req_per_job"] <= 2.5 and f["lag_p50"] <= 0.10
            warm_ok = warm["req_per_job"] <= 2.5 and warm["lag_p50"] <= 0.10
            print(f"  {scenario:22} all jobs {f['req_per_job']:.2f} req/job, lag p50 {f['lag_p50'] * 100:.1f} %: {'met' if ok else 'NOT met'}; "
                  f"after the cold start {warm['req_per_job']:.2f} req/job, lag p50 {warm['lag_p50'] * 100:.1f} %: {'met' if warm_ok else 'NOT met'}")
    print(f"(ran in {time.monotonic() - started:.1f} s of real time)")


if __name__ == "__main__":
    main()
