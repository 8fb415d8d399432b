"""The calculator graph: validation, input synchronization, loops, concurrency, back-pressure, failures."""

import threading
import time

import pytest

from blazeforge.errors import BlazeforgeError
from blazeforge.runtime.graph import Calculator, GraphConfig, GraphRun, Source, calculator


@calculator
class ToyTicks(Source):
    """Frames 0..n-1 (timestamps in ms as microseconds): A on every frame, B on even frames."""

    OUTPUTS = {"A": "int", "B": "int"}

    def __init__(self, context=None, n: int = 10, delay: float = 0.0):
        super().__init__(context)
        self.n, self.delay = n, delay

    def frames(self):
        for i in range(self.n):
            time.sleep(self.delay)
            yield i * 1000, ({"A": i, "B": i} if i % 2 == 0 else {"A": i})


@calculator
class ToyJoin(Calculator):
    """Records what it sees; OUT = A + (B or 0)."""

    INPUTS = {"A": "int", "B": "int"}
    OPTIONAL = frozenset({"B"})
    OUTPUTS = {"OUT": "int"}

    def __init__(self, context=None, sleep: float = 0.0, fail_at: int = -1):
        super().__init__(context)
        self.sleep, self.fail_at = sleep, fail_at
        self.seen = []
        self.context.setdefault("joins", []).append(self)

    def process(self, timestamp, inputs):
        if inputs["A"] == self.fail_at:
            raise ValueError("bad frame")
        self.seen.append((timestamp, inputs["A"], inputs.get("B")))
        time.sleep(self.sleep)
        return {"OUT": inputs["A"] + (inputs.get("B") or 0)}


@calculator
class ToySum(Calculator):
    """TOTAL = X + TOTAL at the previous frame: a loop through `previous`."""

    INPUTS = {"X": "int", "PREV": "int"}
    OUTPUTS = {"TOTAL": "int"}

    def process(self, timestamp, inputs):
        return {"TOTAL": inputs["X"] + (inputs["PREV"] or 0)}


@calculator
class ToyBusy(Calculator):
    """Sleeps and records how many ToyBusy calls overlap."""

    INPUTS = {"X": "int"}
    OUTPUTS = {"Y": "int"}
    lock = threading.Lock()
    running = 0
    most = 0

    def process(self, timestamp, inputs):
        with ToyBusy.lock:
            ToyBusy.running += 1
            ToyBusy.most = max(ToyBusy.most, ToyBusy.running)
        time.sleep(0.02)
        with ToyBusy.lock:
            ToyBusy.running -= 1
        return {"Y": inputs["X"]}


@calculator
class ToyTrack(Calculator):
    """A tracking loop's step: 10 ms of "Python" (a sleep standing in), then 10 ms inside a
    "model" (released, as TfliteModel's invoke is); records both windows."""

    INPUTS = {"X": "int", "PREV": "int"}
    OUTPUTS = {"STATE": "int"}

    def __init__(self, context=None):
        super().__init__(context)
        self.busy, self.released = [], []
        self.context["track"] = self

    def process(self, timestamp, inputs):
        start = time.perf_counter()
        time.sleep(0.01)
        self.busy.append((start, time.perf_counter()))
        with self.context["priority"].released():
            start = time.perf_counter()
            time.sleep(0.01)
            self.released.append((start, time.perf_counter()))
        return {"STATE": inputs["X"]}


@calculator
class ToyStamp(Calculator):
    """A background sink: records when each call starts."""

    INPUTS = {"X": "int"}

    def __init__(self, context=None):
        super().__init__(context)
        self.starts = []
        self.context["stamp"] = self

    def process(self, timestamp, inputs):
        self.starts.append(time.perf_counter())
        time.sleep(0.002)


def _graph(nodes, **top):
    return GraphConfig.parse({"name": "test", "nodes": nodes, **top})


SOURCE = {"name": "src", "calculator": "ToyTicks", "outputs": {"A": "a", "B": "b"}}


def _collect(run, stream):
    got = []
    run.observe(stream, lambda t, v: got.append((t, v)))
    return got


def test_a_node_fires_once_per_timestamp_with_absent_inputs_as_none():
    config = _graph(
        [
            SOURCE,
            {"name": "join", "calculator": "ToyJoin", "inputs": {"A": "a", "B": "b"}, "outputs": {"OUT": "out"}},
            {"name": "only_b", "calculator": "ToyJoin", "inputs": {"A": "b"}, "outputs": {"OUT": "out_b"}},
        ]
    )
    context = {}
    run = GraphRun(config, context)
    out = _collect(run, "out")
    stats = run.run()
    join, only_b = context["joins"]
    assert [s[0] for s in join.seen] == [i * 1000 for i in range(10)]  # every frame, in order
    assert [s[2] for s in join.seen] == [0, None, 2, None, 4, None, 6, None, 8, None]
    assert [s[1] for s in only_b.seen] == [0, 2, 4, 6, 8]  # never called without a packet
    assert [v for _, v in out] == [0, 1, 4, 3, 8, 5, 12, 7, 16, 9]
    assert stats["frames"] == 10 and stats["calculators"]["join"]["calls"] == 10


def test_previous_inputs_close_a_loop_one_frame_late():
    config = _graph(
        [
            SOURCE,
            {
                "name": "sum",
                "calculator": "ToySum",
                "inputs": {"X": "a"},
                "previous": {"PREV": "total"},
                "outputs": {"TOTAL": "total"},
            },
        ]
    )
    run = GraphRun(config)
    totals = _collect(run, "total")
    run.run()
    assert [v for _, v in totals] == [sum(range(i + 1)) for i in range(10)]


def test_independent_calculators_run_concurrently():
    ToyBusy.most = 0
    config = _graph(
        [
            SOURCE,
            *(
                {"name": f"busy{i}", "calculator": "ToyBusy", "inputs": {"X": "a"}, "outputs": {"Y": f"y{i}"}}
                for i in range(2)
            ),
        ],
        workers=2,
    )
    GraphRun(config).run()
    assert ToyBusy.most == 2


def test_background_calculators_wait_while_the_loop_runs_python():
    config = _graph(
        [
            SOURCE,
            {
                "name": "track",
                "calculator": "ToyTrack",
                "inputs": {"X": "a"},
                "previous": {"PREV": "state"},
                "outputs": {"STATE": "state"},
            },
            {"name": "sink", "calculator": "ToyStamp", "inputs": {"X": "state"}},
        ],
        workers=2,
    )
    context = {}
    run = GraphRun(config, context)
    context["priority"] = run.priority
    assert {n.node.name: n.foreground for n in run.live} == {"src": True, "track": True, "sink": False}
    run.run()
    track, starts = context["track"], context["stamp"].starts
    assert len(starts) == 10
    inside = lambda windows: sum(any(a <= t < b for a, b in windows) for t in starts)  # noqa: E731
    assert inside(track.busy) == 0  # never while the loop runs Python
    assert inside(track.released) >= 5  # but while it is inside its model


def test_back_pressure_queues_or_drops_frames():
    slow = {
        "name": "join",
        "calculator": "ToyJoin",
        "inputs": {"A": "a"},
        "outputs": {"OUT": "out"},
        "options": {"sleep": 0.03},
    }
    queued = GraphRun(_graph([SOURCE, slow], flow={"max_in_flight": 1, "overflow": "queue"})).run()
    assert queued["frames"] == 10 and queued["dropped"] == 0
    dropped = GraphRun(_graph([SOURCE, slow], flow={"max_in_flight": 1, "overflow": "drop"})).run()
    assert dropped["dropped"] > 0 and dropped["frames"] + dropped["dropped"] == 10


def test_a_frame_that_fails_is_skipped_not_fatal():
    config = _graph(
        [
            SOURCE,
            {
                "name": "join",
                "calculator": "ToyJoin",
                "inputs": {"A": "a"},
                "outputs": {"OUT": "out"},
                "options": {"fail_at": 3},
            },
            {"name": "after", "calculator": "ToyJoin", "inputs": {"A": "out"}, "outputs": {"OUT": "z"}},
        ]
    )
    run = GraphRun(config)
    out = _collect(run, "z")
    stats = run.run()
    assert stats["failures"] == 1
    assert [t // 1000 for t, _ in out] == [0, 1, 2, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    "nodes, message",
    [
        ([SOURCE, {"name": "x", "calculator": "Nope"}], "node x: unknown calculator 'Nope'"),
        (
            [SOURCE, {"name": "x", "calculator": "ToyJoin", "inputs": {"A": "missing"}}],
            "node x: input A reads stream 'missing', which no node produces",
        ),
        (
            [SOURCE, {"name": "x", "calculator": "ToyJoin", "inputs": {"B": "b"}}],
            "node x: input A of ToyJoin is not connected",
        ),
        (
            [SOURCE, {"name": "x", "calculator": "ToyJoin", "inputs": {"A": "a", "C": "b"}}],
            "node x: ToyJoin has no input C",
        ),
        (
            [SOURCE, {"name": "x", "calculator": "Annotate", "inputs": {"IMAGE": "a"}}],
            "node x: input IMAGE expects image, but stream 'a' carries int (from src.A)",
        ),
        (
            [
                SOURCE,
                {"name": "x", "calculator": "ToySum", "inputs": {"X": "a", "PREV": "t"}, "outputs": {"TOTAL": "t"}},
            ],
            "cycle through plain inputs",
        ),
        ([{"name": "x", "calculator": "ToyJoin", "inputs": {"A": "a"}}], "no source node"),
    ],
)
def test_malformed_graphs_are_one_line_errors(nodes, message):
    import blazeforge.runtime.calculators  # noqa: F401  (Annotate)

    with pytest.raises(BlazeforgeError) as error:
        _graph(nodes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_graph_file_that_is_not_yaml_names_its_line(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("name: x\nnodes: [\n  - {calculator: ToyTicks\n")
    with pytest.raises(BlazeforgeError, match=r"g.yaml: not valid YAML at line \d"):
        GraphConfig.load(path)
