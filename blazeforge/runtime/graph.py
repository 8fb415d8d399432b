"""A calculator graph: calculators joined by streams of timestamped packets (MediaPipe's model).

A graph is a list of nodes, each a `Calculator` with named input and output ports bound to streams.
Written in YAML (the role of MediaPipe's .pbtxt):

    name: hands
    flow: {max_in_flight: 2, overflow: queue}   # back-pressure: queue (wait) | drop (skip frames)
    nodes:
      - calculator: VideoSource
        outputs: {IMAGE: image}
      - calculator: Detector
        inputs: {IMAGE: image}
        previous: {TRACKED: next_rois}          # next_rois as it was at this node's previous frame
        outputs: {ROIS: palm_rois}
        options: {model: palm}

Semantics (MediaPipe's defaults):
- Timestamps are integers (microseconds) and ascend on every stream. A node processes its
  timestamps in order, one at a time; different nodes run concurrently on `workers` threads.
- Input synchronization: a node fires for timestamp T when each of its inputs either has a packet
  at T or is known to have none (its bound has passed T); it is not called when no input has a
  packet at T. Inputs without a packet arrive as None.
- Bounds: after a node processes T, or learns that no input will bring T, its outputs are settled
  up to T, so nodes downstream never wait for a packet that will not come.
- `previous` inputs close loops (MediaPipe's PreviousLoopbackCalculator): the node gets the packet
  the stream carried at the node's previous timestamp (None on the first), and waits for it.
  A cycle through plain inputs is an error.
- Priority: the nodes whose outputs reach the next frame through a `previous` input (the
  tracking loop, which every frame waits for) are foreground; the others (smoothing, effects,
  drawing, sinks) are background and start only while no foreground node runs Python (`Priority`).
- Back-pressure: the source waits (`overflow: queue`) or drops frames (`overflow: drop`, for
  live cameras) while `max_in_flight` frames are in the graph.
- A calculator that raises on a frame is logged and the frame skipped on that node (its outputs
  settle past it); `GraphRun.failures` counts them.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)
DONE = math.inf  # the bound of a closed stream

CALCULATORS: dict[str, type[Calculator]] = {}


def calculator(cls: type[Calculator]) -> type[Calculator]:
    """Class decorator: register a calculator under its class name for graph files."""
    CALCULATORS[cls.__name__] = cls
    return cls


class Calculator:
    """One node's work. Subclasses declare their ports and implement `process`.

    INPUTS / OUTPUTS: {TAG: type name} (the graph checks that a stream's producer and consumers
    agree; "any" matches everything). OPTIONAL: input tags that may stay unconnected.
    Options come from the node's `options:` mapping as keyword arguments; `context` holds what
    the graph's runner provides (models, output folder, ...).
    """

    INPUTS: dict[str, str] = {}
    OUTPUTS: dict[str, str] = {}
    OPTIONAL: frozenset[str] = frozenset()

    def __init__(self, context: dict | None = None, **options):
        if options:
            raise TypeError(f"unknown options {sorted(options)}")
        self.context = context if context is not None else {}

    def process(self, timestamp: int, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """inputs: {TAG: value or None}; returns {TAG: value} for the outputs that get a packet."""
        raise NotImplementedError

    def close(self) -> None:
        """Called once after the last timestamp (sinks flush their files here)."""


class Source(Calculator):
    """A calculator without inputs that makes the graph's timestamps: `frames()` yields
    (timestamp, {TAG: value}) in ascending timestamp order."""

    def frames(self) -> Iterator[tuple[int, dict[str, Any]]]:
        raise NotImplementedError


@dataclass
class Node:
    """A node of a graph file: calculator name, stream bindings and options."""

    name: str
    calculator: str
    inputs: dict[str, str] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)


@dataclass
class GraphConfig:
    """A parsed, validated graph: nodes in file order, back-pressure settings and scheduler threads."""

    name: str
    nodes: list[Node]
    max_in_flight: int = 2
    overflow: str = "queue"
    workers: int = 2
    source: str = "<graph>"

    @classmethod
    def load(cls, path: str | Path) -> GraphConfig:
        """Read and validate a YAML graph file."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise BlazeforgeError(path, "graph file not found")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise BlazeforgeError(path, f"not valid YAML{where}: {getattr(e, 'problem', e)}") from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data, source: str = "<graph>") -> GraphConfig:
        """Validate a graph given as a mapping (what the YAML holds); one-line errors name the node."""
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not data["nodes"]:
            raise BlazeforgeError(source, "expected a mapping with a non-empty `nodes:` list")
        unknown = set(data) - {"name", "nodes", "flow", "workers", "description"}
        if unknown:
            raise BlazeforgeError(source, f"unknown keys {sorted(unknown)}; expected name, nodes, flow, workers")
        flow = data.get("flow") or {}
        overflow = flow.get("overflow", "queue")
        if overflow not in ("queue", "drop"):
            raise BlazeforgeError(f"{source}: flow.overflow", f"expected queue or drop, got {overflow!r}")
        nodes = []
        for i, raw in enumerate(data["nodes"]):
            nodes.append(_node(raw, i, source))
        config = cls(
            str(data.get("name", Path(source).stem)),
            nodes,
            int(flow.get("max_in_flight", 2)),
            overflow,
            int(data.get("workers", 2)),
            source,
        )
        config.validate()
        return config

    def without(self, name: str) -> GraphConfig:
        """The graph with node `name` taken out and its output stream replaced by its input stream
        of the same type (a stage switched off, e.g. face_mesh's iris with iris=false)."""
        node = next((n for n in self.nodes if n.name == name), None)
        if node is None:
            raise BlazeforgeError(f"{self.source}: node {name}", "no such node")
        cls = CALCULATORS[node.calculator]
        out_tag, out_stream = next(iter(node.outputs.items()), (None, None))
        same = [s for tag, s in node.inputs.items() if out_tag and cls.INPUTS[tag] == cls.OUTPUTS[out_tag]]
        if len(node.outputs) != 1 or len(same) != 1:
            raise BlazeforgeError(
                f"{self.source}: node {name}", "cannot be bypassed (needs one input of its output's type)"
            )
        rename = lambda ports: {t: same[0] if s == out_stream else s for t, s in ports.items()}  # noqa: E731
        nodes = [
            Node(n.name, n.calculator, rename(n.inputs), rename(n.previous), n.outputs, n.options)
            for n in self.nodes
            if n is not node
        ]
        config = GraphConfig(self.name, nodes, self.max_in_flight, self.overflow, self.workers, self.source)
        config.validate()
        return config

    def dropping(self, names: set[str]) -> GraphConfig:
        """The graph without nodes `names`; optional inputs that read their outputs are unbound
        (a required one is a validation error naming the node)."""
        gone = {s for n in self.nodes if n.name in names for s in n.outputs.values()}
        keep = lambda ports: {t: s for t, s in ports.items() if s not in gone}  # noqa: E731
        nodes = [
            Node(n.name, n.calculator, keep(n.inputs), keep(n.previous), n.outputs, n.options)
            for n in self.nodes
            if n.name not in names
        ]
        config = GraphConfig(self.name, nodes, self.max_in_flight, self.overflow, self.workers, self.source)
        config.validate()
        return config

    def validate(self) -> None:
        """Unknown calculators and ports, unconnected streams, type mismatches, plain-input cycles."""
        names = [n.name for n in self.nodes]
        for name in set(names):
            if names.count(name) > 1:
                raise BlazeforgeError(f"{self.source}: node {name}", "two nodes have this name")
        producers: dict[str, tuple[Node, str]] = {}
        for node in self.nodes:
            cls = CALCULATORS.get(node.calculator)
            if cls is None:
                raise BlazeforgeError(
                    f"{self.source}: node {node.name}",
                    f"unknown calculator {node.calculator!r}; expected one of {sorted(CALCULATORS)}",
                )
            for kind, ports, declared in (
                ("input", {**node.inputs, **node.previous}, cls.INPUTS),
                ("output", node.outputs, cls.OUTPUTS),
            ):
                for tag in ports:
                    if tag not in declared:
                        raise BlazeforgeError(
                            f"{self.source}: node {node.name}",
                            f"{node.calculator} has no {kind} {tag}; expected one of {sorted(declared)}",
                        )
            missing = set(cls.INPUTS) - set(node.inputs) - set(node.previous) - set(cls.OPTIONAL)
            if missing:
                raise BlazeforgeError(
                    f"{self.source}: node {node.name}",
                    f"input {sorted(missing)[0]} of {node.calculator} is not connected",
                )
            for tag, stream in node.outputs.items():
                if stream in producers:
                    raise BlazeforgeError(
                        f"{self.source}: stream {stream}",
                        f"produced twice (by {producers[stream][0].name} and {node.name})",
                    )
                producers[stream] = (node, tag)
        if not any(issubclass(CALCULATORS[n.calculator], Source) for n in self.nodes):
            raise BlazeforgeError(self.source, "no source node (a calculator without inputs that makes frames)")
        for node in self.nodes:
            cls = CALCULATORS[node.calculator]
            for tag, stream in {**node.inputs, **node.previous}.items():
                if stream not in producers:
                    raise BlazeforgeError(
                        f"{self.source}: node {node.name}",
                        f"input {tag} reads stream {stream!r}, which no node produces",
                    )
                producer, out_tag = producers[stream]
                made = CALCULATORS[producer.calculator].OUTPUTS[out_tag]
                wanted = cls.INPUTS[tag]
                if "any" not in (made, wanted) and made != wanted:
                    raise BlazeforgeError(
                        f"{self.source}: node {node.name}",
                        f"input {tag} expects {wanted}, but stream {stream!r} carries {made} "
                        f"(from {producer.name}.{out_tag})",
                    )
        self.ordered()

    def ordered(self) -> list[Node]:
        """The nodes in topological order (each after the producers of its plain inputs); a cycle
        through plain inputs is a one-line error naming it."""
        producer = {stream: n for n in self.nodes for stream in n.outputs.values()}
        state: dict[str, int] = {}
        out: list[Node] = []

        def visit(node: Node, path: list[str]):
            if state.get(node.name) == 1:
                cycle = path[path.index(node.name) :] + [node.name]
                raise BlazeforgeError(
                    f"{self.source}: node {node.name}",
                    f"cycle through plain inputs ({' -> '.join(reversed(cycle))}); "
                    f"feed the loop back through `previous:`",
                )
            if state.get(node.name) == 2:
                return
            state[node.name] = 1
            for stream in node.inputs.values():
                visit(producer[stream], path + [node.name])
            state[node.name] = 2
            out.append(node)

        for node in self.nodes:
            visit(node, [])
        return out


def _node(raw, index: int, source: str) -> Node:
    where = f"{source}: nodes[{index}]"
    if not isinstance(raw, dict) or "calculator" not in raw:
        raise BlazeforgeError(where, "expected a mapping with a `calculator:` name")
    unknown = set(raw) - {"name", "calculator", "inputs", "previous", "outputs", "options"}
    if unknown:
        raise BlazeforgeError(
            where, f"unknown keys {sorted(unknown)}; expected calculator, name, inputs, previous, outputs, options"
        )
    for key in ("inputs", "previous", "outputs", "options"):
        if not isinstance(raw.get(key) or {}, dict):
            raise BlazeforgeError(
                f"{where}.{key}",
                "expected a mapping {TAG: stream}" if key != "options" else "expected a mapping of options",
            )
    name = str(raw.get("name") or f"{raw['calculator']}_{index}")
    options = dict(raw.get("options") or {})
    return Node(
        name,
        str(raw["calculator"]),
        {str(k): str(v) for k, v in (raw.get("inputs") or {}).items()},
        {str(k): str(v) for k, v in (raw.get("previous") or {}).items()},
        {str(k): str(v) for k, v in (raw.get("outputs") or {}).items()},
        options,
    )


class _Stream:
    """Packets by timestamp and the bound below which the stream is settled."""

    def __init__(self):
        self.packets: dict[int, Any] = {}
        self.bound: float = -math.inf  # every timestamp < bound is settled

    def settle(self, bound: float) -> bool:
        if bound > self.bound:
            self.bound = bound
            return True
        return False


class Priority:
    """Foreground calculators before background ones, across the scheduler's threads.

    Python runs one thread at a time (the GIL), so a background calculator that runs while the
    tracking loop wants to go on delays every frame. A background task therefore starts only when
    no thread runs foreground Python: the loop's threads are idle, or inside a model, whose
    native code releases the GIL (`released`, which the pipeline hands its models). Inference
    then hides the background work; with one thread (workers=0) nothing changes.
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.busy = 0  # threads running foreground Python
        self.local = threading.local()

    def enter(self) -> None:
        """This thread starts foreground work."""
        with self.cond:
            self.busy += 1
        self.local.foreground = True

    def leave(self) -> None:
        """This thread's foreground work ends."""
        self.local.foreground = False
        with self.cond:
            self.busy -= 1
            if self.busy == 0:
                self.cond.notify_all()

    def wait(self) -> None:
        """Before background work: until no thread runs foreground Python."""
        with self.cond:
            self.cond.wait_for(lambda: self.busy == 0)

    @contextmanager
    def released(self):
        """Around native code that releases the GIL: a foreground thread counts as idle meanwhile."""
        if not getattr(self.local, "foreground", False):
            yield
            return
        self.leave()
        try:
            yield
        finally:
            self.enter()


@dataclass
class _Live:
    """A node while the graph runs."""

    node: Node
    calc: Calculator
    foreground: bool = False  # its outputs reach the next frame (Priority)
    last: int | None = None  # the last timestamp it was considered for (processed or skipped)
    running: bool = False
    times_ms: list = field(default_factory=list)
    failures: int = 0


class GraphRun:
    """Run a validated graph once, to the end of its source.

    run = GraphRun(config, context={"models": ...})
    run.observe("hands", lambda t, value: ...)     # called for every packet of a stream
    stats = run.run()                              # {"frames", "dropped", "seconds", "fps", "calculators"}
    """

    def __init__(self, config: GraphConfig, context: dict | None = None):
        self.config = config
        self.context = context if context is not None else {}
        self.streams: dict[str, _Stream] = defaultdict(_Stream)
        self.observers: dict[str, list[Callable]] = defaultdict(list)
        self.live: list[_Live] = []
        for node in config.nodes:
            cls = CALCULATORS[node.calculator]
            try:
                calc = cls(self.context, **node.options)
            except TypeError as e:
                raise BlazeforgeError(f"{config.source}: node {node.name}", f"bad options: {e}") from None
            self.live.append(_Live(node, calc))
        self.sources = [n for n in self.live if isinstance(n.calc, Source)]
        self._mark_foreground()
        self.priority = Priority()
        rank = {node.name: i for i, node in enumerate(config.ordered())}
        self.ordered = sorted((n for n in self.live if n.node.inputs), key=lambda n: rank[n.node.name])
        if len(self.sources) != 1:
            raise BlazeforgeError(config.source, f"expected one source node, found {len(self.sources)}")
        self.consumers: dict[str, set[int]] = defaultdict(set)
        for i, n in enumerate(self.live):
            for stream in {**n.node.inputs, **n.node.previous}.values():
                self.consumers[stream].add(i)
        self.lock = threading.Condition()
        self.backlog: deque = deque()  # ready tasks waiting for this thread (workers=0)
        self.emitted: list[int] = []
        self.dropped = 0
        self.error: BaseException | None = None

    def _mark_foreground(self) -> None:
        """Foreground: the producers of the streams read as `previous`, and upstream of them."""
        producers = {stream: n for n in self.live for stream in n.node.outputs.values()}
        stack = [stream for n in self.live for stream in n.node.previous.values()]
        while stack:
            producer = producers.get(stack.pop())
            if producer is not None and not producer.foreground:
                producer.foreground = True
                stack.extend(producer.node.inputs.values())

    def observe(self, stream: str, callback: Callable[[int, Any], None]) -> None:
        """Call callback(timestamp, value) for each packet of `stream` (on the producing thread)."""
        self.observers[stream].append(callback)

    @property
    def failures(self) -> int:
        return sum(n.failures for n in self.live)

    # -- the scheduler -------------------------------------------------------------------------

    def run(self) -> dict:
        """Run to the end of the source. workers=0 runs every calculator on this thread, right
        after the frame that readies it (no scheduler threads: the least overhead on one core)."""
        source = self.sources[0]
        start = time.perf_counter()
        with ThreadPoolExecutor(max(1, self.config.workers), thread_name_prefix="calculator") as pool:
            self.pool = pool if self.config.workers > 0 else None
            try:
                self._feed(source)
            except BaseException as e:  # the source failed or was interrupted: stop cleanly
                with self.lock:
                    self.error = self.error or e
            with self.lock:
                for stream in source.node.outputs.values():
                    self.streams[stream].settle(DONE)
                task = self._dispatch(inline=self.pool is None)
            if task is not None:
                self._process(*task)
            with self.lock:
                while not self._finished() and self.error is None:
                    self.lock.wait(0.5)
        seconds = time.perf_counter() - start
        for n in self.live:
            n.calc.close()
        if self.error is not None:
            raise self.error
        frames = len(self.emitted)
        return {
            "frames": frames,
            "dropped": self.dropped,
            "seconds": round(seconds, 3),
            "fps": round(frames / seconds, 2) if seconds > 0 else 0.0,
            "failures": self.failures,
            "calculators": {n.node.name: _summary(n.times_ms) for n in self.live if n.times_ms},
        }

    def _feed(self, source: _Live) -> None:
        """Read the source on this thread, with back-pressure, and hand packets to the graph."""
        limit = max(1, self.config.max_in_flight)
        frames = source.calc.frames()
        while True:
            t0 = time.perf_counter()
            try:
                timestamp, outputs = next(frames)
            except StopIteration:
                return
            elapsed = (time.perf_counter() - t0) * 1000
            if self.pool is not None:  # the source reads ahead of the loop: it yields to its Python
                self.priority.wait()
            with self.lock:
                if self.error is not None:
                    return
                if self._in_flight() >= limit:
                    if self.config.overflow == "drop":
                        self.dropped += 1
                        continue
                    while self._in_flight() >= limit and self.error is None:
                        self.lock.wait(0.5)
                source.times_ms.append(elapsed)
                self.emitted.append(timestamp)
                self._emit(source, timestamp, outputs)
                task = self._dispatch(set(source.node.outputs.values()), inline=self.pool is None)
            if task is not None:  # workers=0: run what this frame readied, here
                self._process(*task)

    def _in_flight(self) -> int:
        """Frames emitted by the source that some node has not yet settled."""
        settled = min((self._settled(n) for n in self.live if n.node.inputs), default=DONE)
        return len(self.emitted) - bisect.bisect_left(self.emitted, settled)

    def _finished(self) -> bool:
        return all(self._settled(n) == DONE for n in self.live if n.node.inputs)

    def _emit(self, live: _Live, timestamp: int, outputs: dict | None) -> None:
        for tag, value in (outputs or {}).items():
            stream = live.node.outputs.get(tag)
            if stream is None or value is None:
                continue
            self.streams[stream].packets[timestamp] = value
            for callback in self.observers.get(stream, ()):
                callback(timestamp, value)
        for stream in live.node.outputs.values():
            self.streams[stream].settle(timestamp + 1)

    def _next(self, live: _Live) -> int | None:
        """The next timestamp with a packet on any plain input, after the node's last."""
        best = None
        for stream in live.node.inputs.values():
            for t in self.streams[stream].packets:  # ascending: packets arrive in timestamp order
                if live.last is None or t > live.last:
                    best = t if best is None else min(best, t)
                    break
        return best

    def _ready(self, live: _Live) -> int | None:
        """The timestamp the node can process now, or None."""
        if live.running or not live.node.inputs:
            return None
        t = self._next(live)
        if t is None:
            return None
        for stream in live.node.inputs.values():
            s = self.streams[stream]
            if t not in s.packets and s.bound <= t:
                return None
        if live.last is not None:
            for stream in live.node.previous.values():
                if self.streams[stream].bound <= live.last:
                    return None
        return t

    def _settled(self, live: _Live) -> float:
        """Every timestamp below this is done at this node: processed, or known to bring no packet."""
        if live.running:
            return live.last + 1 if live.last is not None else -math.inf
        bound = min(self.streams[s].bound for s in live.node.inputs.values())
        pending = self._next(live)
        if pending is not None:
            bound = min(bound, pending)
        return max(bound, live.last + 1) if live.last is not None else bound

    def _propagate(self, changed: set[str] | None) -> set[str]:
        """Settle the outputs of the nodes downstream of the `changed` streams (all nodes when
        None) up to what each has settled, in one topological pass (bounds flow downstream through
        plain inputs only). Returns the streams that changed, `changed` included."""
        dirty = set(self.streams) if changed is None else set(changed)
        for live in self.ordered:
            if changed is not None and dirty.isdisjoint(live.node.inputs.values()):
                continue
            bound = self._settled(live)
            for stream in live.node.outputs.values():
                if self.streams[stream].settle(bound):
                    dirty.add(stream)
        return dirty

    def _dispatch(self, changed: set[str] | None = None, inline: bool = False) -> tuple | None:
        """Start the nodes that became ready after `changed` streams moved (every node when None);
        called with the lock held. With `inline`, the first ready task is returned for the calling
        worker to run itself (a chain of calculators then runs on one thread, without a hand-over
        per step); the others go to the pool."""
        dirty = self._propagate(changed)
        candidates = sorted({i for stream in dirty for i in self.consumers.get(stream, ())})
        ready = []
        for live in (self.live[i] for i in candidates):
            t = self._ready(live)
            if t is None:
                continue
            inputs = {tag: self.streams[s].packets.get(t) for tag, s in live.node.inputs.items()}
            for tag, stream in live.node.previous.items():
                inputs[tag] = self.streams[stream].packets.get(live.last) if live.last is not None else None
            live.running = True
            ready.append((live, t, inputs))
        ready.sort(key=lambda task: not task[0].foreground)  # the calling thread goes on with the loop
        mine = ready.pop(0) if inline and ready else None
        for task in ready:
            if self.pool is None:
                self.backlog.append(task)
            else:
                self.pool.submit(self._process, *task)
        self._forget()
        self.lock.notify_all()
        return mine

    def _process(self, live: _Live, timestamp: int, inputs: dict) -> None:
        task = (live, timestamp, inputs)
        foreground = False  # this thread holds foreground standing (kept along a chain of such tasks)
        try:
            while task is not None:
                live, timestamp, inputs = task
                if live.foreground != foreground:
                    foreground = live.foreground
                    if foreground:
                        self.priority.enter()
                    else:
                        self.priority.leave()
                if not foreground:
                    self.priority.wait()
                task = self._step(live, timestamp, inputs)
        finally:
            if foreground:
                self.priority.leave()

    def _step(self, live: _Live, timestamp: int, inputs: dict) -> tuple | None:
        """Run one task; returns the next task for this thread, if any."""
        start = time.perf_counter()
        outputs = None
        try:
            outputs = live.calc.process(timestamp, inputs)
        except BlazeforgeError as e:
            with self.lock:
                self.error = e
        except Exception as e:  # a frame that fails is logged and skipped on this node
            live.failures += 1
            log.warning("%s failed at timestamp %d: %s: %s", live.node.name, timestamp, type(e).__name__, e)
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            live.times_ms.append(elapsed)
            live.last = timestamp
            self._emit(live, timestamp, outputs)
            live.running = False
            changed = {*live.node.inputs.values(), *live.node.outputs.values()}  # itself, and downstream
            task = self._dispatch(changed, inline=True) if self.error is None else None
            if task is None and self.backlog:
                task = self.backlog.popleft()
        return task

    def _forget(self) -> None:
        """Drop packets every consumer has passed (and, for `previous` readers, no longer needs)."""
        for stream, consumers in self.consumers.items():
            s = self.streams[stream]
            if len(s.packets) < 8:
                continue
            floor = min((self.live[i].last if self.live[i].last is not None else -1) for i in consumers)
            for t in [t for t in s.packets if t < floor]:
                del s.packets[t]


def _summary(times_ms: list) -> dict:
    """Median and 95th percentile of a calculator's per-call time, milliseconds, and its call count."""
    return {
        "median_ms": round(float(np.median(times_ms)), 3),
        "p95_ms": round(float(np.percentile(times_ms, 95)), 3),
        "calls": len(times_ms),
    }
