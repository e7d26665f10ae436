#!/usr/bin/env python3
"""A simulated PicWish task provider, in virtual time, for `scripts/bench provider`.

What it models (the parts that decide how a key's request budget is spent):
- tasks whose durations come from a configurable distribution: log-normal (median and
  sigma, optionally a median that grows with the source size), or bimodal (two
  log-normals);
- `progress` in one of three shapes: linear (floor(100 x elapsed / duration)), steps
  (25 % steps), zero (0 until done);
- `created_at` / `completed_at` as whole Unix seconds, as the API sends them;
- a per-key request rate limit: more than `qps` requests of one key within any second
  are answered 429 with `Retry-After: 1` (PicWish: 2 per second by default).

Time is a float of seconds on the simulation's own clock (`Sim.now`), so a run of
thousands of tasks over hours of provider time takes seconds. The clients that spend
the key's budget are in bench_provider.py.
"""
import heapq
import math
import random
from collections import deque

EPOCH = 1_800_000_000  # the provider's wall clock at simulated time 0


class Sim:
    """A discrete-event loop: callbacks run in time order."""

    def __init__(self):
        self.now = 0.0
        self._heap = []
        self._seq = 0

    def at(self, when, fn):
        self._seq += 1
        heapq.heappush(self._heap, (max(when, self.now), self._seq, fn))

    def after(self, delay, fn):
        self.at(self.now + max(0.0, delay), fn)

    def run(self):
        while self._heap:
            self.now, _, fn = heapq.heappop(self._heap)
            fn()


class Distribution:
    """Task durations. `kind`: lognormal | lognormal-size | bimodal."""

    def __init__(self, kind, median=8.0, sigma=0.6):
        self.kind, self.median, self.sigma = kind, median, sigma

    def sample(self, rng):
        """(duration seconds, source size bytes)."""
        size = int(math.exp(rng.uniform(math.log(50e3), math.log(20e6))))
        if self.kind == "lognormal":
            return self.median * math.exp(self.sigma * rng.gauss(0, 1)), size
        if self.kind == "lognormal-size":
            # Median grows with the square root of the size: 8 s at 1 MB; sigma 0.3 within a size.
            median = self.median * (size / 1e6) ** 0.5
            return median * math.exp(0.3 * rng.gauss(0, 1)), size
        if self.kind == "bimodal":
            # 65 % quick tasks around 5 s, 35 % slow ones around 25 s.
            median = 5.0 if rng.random() < 0.65 else 25.0
            return median * math.exp(0.25 * rng.gauss(0, 1)), size
        raise ValueError(self.kind)

    def __str__(self):
        if self.kind == "lognormal":
            return f"log-normal median {self.median:g} s sigma {self.sigma:g}"
        if self.kind == "lognormal-size":
            return f"log-normal, median {self.median:g} s x sqrt(size/1 MB), sigma 0.3"
        return "bimodal 65 % ~5 s / 35 % ~25 s (sigma 0.25 each)"


class Provider:
    """One simulated provider with one API key."""

    def __init__(self, sim, qps=2.0, window=1.0):
        self.sim = sim
        self.qps = qps
        self.window = window
        self.tasks = {}
        self.recent = deque()  # arrival times of accepted requests
        self.requests = 0
        self.throttled = 0
        self.throttle_times = []
        self._next = 0

    def admit(self):
        """A request arrives now: True if within the key's limit, else it is answered 429."""
        self.requests += 1
        now = self.sim.now
        while self.recent and self.recent[0] <= now - self.window:
            self.recent.popleft()
        if len(self.recent) >= self.qps * self.window:
            self.throttled += 1
            self.throttle_times.append(now)
            return False
        self.recent.append(now)
        return True

    def create(self, duration, shape):
        self._next += 1
        task_id = f"t{self._next}"
        self.tasks[task_id] = (self.sim.now, duration, shape)
        return task_id

    def done_at(self, task_id):
        created, duration, _ = self.tasks[task_id]
        return created + duration

    def query(self, task_id):
        """(state, progress, created_at, completed_at) as the API would answer now."""
        created, duration, shape = self.tasks[task_id]
        elapsed = self.sim.now - created
        created_at = int(EPOCH + created)
        if elapsed >= duration:
            return 1, 100, created_at, int(EPOCH + created + duration)
        fraction = elapsed / duration
        if shape == "linear":
            progress = int(100 * fraction)
        elif shape == "steps":
            progress = int(4 * fraction) * 25
        else:
            progress = 0
        return 4, progress, created_at, None
