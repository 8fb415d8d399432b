"""A LiteRT (TFLite) model: named float32 inputs and outputs, quantization handled, timed.

    model = TfliteModel("hand_landmarks_int8.tflite", threads=2)
    out = model(batch)              # dict: output name -> float32 array
    model.latency_ms(runs=30)       # {"median": ..., "p95": ...}

Outputs are named by the model's signature when it has one (our exports: "landmarks",
"presence", "handedness"), else by the tensor names (MediaPipe's files: "Identity", ...).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError

GPU_DELEGATES = ("libtensorflowlite_gpu_delegate.so", "libLiteRtGpuAccelerator.so")


class LiteRtGpu:
    """The `delegate` that runs a model on LiteRT's own GPU accelerator: a CompiledModel with
    HardwareAccelerator.GPU (WebGPU: Vulkan on Linux, Metal on macOS, shipped in the ai-edge-litert
    wheel), ops it lacks on the CPU."""

    def __repr__(self) -> str:
        return "LiteRtGpu()"


LITERT_GPU = LiteRtGpu()


def gpu_delegate(probe: str | Path | None = None):
    """A GPU to run models on: a TFLite GPU delegate library ($BLAZEFORGE_GPU_DELEGATE, else the
    usual library names) that loads, else LITERT_GPU where LiteRT's GPU accelerator compiles the
    `probe` model (it needs a GPU adapter), else None (then models run on the CPU with XNNPack)."""
    import os

    from ai_edge_litert.interpreter import load_delegate

    for library in filter(None, (os.environ.get("BLAZEFORGE_GPU_DELEGATE"), *GPU_DELEGATES)):
        try:
            return load_delegate(library)
        except (ValueError, OSError, RuntimeError):
            continue
    if probe is not None:
        try:
            _compiled_on_gpu(Path(probe))
            return LITERT_GPU
        except (ImportError, RuntimeError, ValueError):
            return None
    return None


def _compiled_on_gpu(path: Path):
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator

    return CompiledModel.from_file(str(path), hardware_accel=HardwareAccelerator.GPU | HardwareAccelerator.CPU)


def _interpreter(path: Path, threads: int, delegate=None):
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(
            model_path=str(path),
            num_threads=threads,
            experimental_delegates=[delegate] if delegate is not None else None,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BlazeforgeError(path, f"not a valid TFLite flatbuffer ({first})") from None
    return interpreter


class TfliteModel:
    """A .tflite file run by LiteRT on the CPU (XNNPack), `threads` threads, or on a GPU
    (`delegate`, from `gpu_delegate()`: a TFLite delegate, or LITERT_GPU for LiteRT's own GPU
    accelerator, `fully_accelerated` then says whether every op runs there).

    `seconds` and `calls` add up the time spent in `__call__` (quantize, invoke, dequantize), so a
    pipeline can tell its models' time from its own. `released` is entered around each invoke, whose
    native code runs without Python's GIL: a graph scheduler sets it to run other calculators
    meanwhile (`runtime.graph.Priority.released`)."""

    released = staticmethod(contextlib.nullcontext)

    def __init__(self, path: str | Path, threads: int = 1, delegate=None):
        self.path = Path(path)
        if not self.path.is_file():
            raise BlazeforgeError(self.path, "TFLite file not found")
        self.threads = threads
        self.seconds, self.calls = 0.0, 0
        self.interpreter = _interpreter(self.path, threads, None if delegate is LITERT_GPU else delegate)
        self.compiled, self.fully_accelerated = None, None
        if delegate is LITERT_GPU:  # runs there; the interpreter above still describes the tensors
            try:
                self.compiled = _compiled_on_gpu(self.path)
            except RuntimeError as e:
                raise BlazeforgeError(
                    self.path, f"LiteRT's GPU accelerator cannot compile it ({str(e).strip().splitlines()[0]})"
                ) from None
            self.fully_accelerated = bool(self.compiled.is_fully_accelerated())
            self.buffers = self.compiled.create_input_buffers(0), self.compiled.create_output_buffers(0)
            self.compiled_outputs = self.compiled.get_signature_by_index(0)["outputs"]
        signatures = self.interpreter.get_signature_list()
        self.input = self.interpreter.get_input_details()[0]
        details = {d["index"]: d for d in self.interpreter.get_output_details()}
        if signatures:
            key = next(iter(signatures))
            outputs = self.interpreter._get_full_signature_list()[key]["outputs"]  # name -> tensor index
            self.outputs = {name: details[index] for name, index in outputs.items()}
        else:
            self.outputs = {d["name"]: d for d in details.values()}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.input["shape"])

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run on float32 `batch` [B, ...] (B may differ from the file's; it is resized) -> outputs."""
        start = time.perf_counter()
        batch = np.asarray(batch, np.float32)
        if batch.shape[1:] != self.input_shape[1:]:
            raise BlazeforgeError(
                self.path,
                f"input of shape {list(batch.shape)}, expected [B, {', '.join(map(str, self.input_shape[1:]))}]",
            )
        if self.compiled is not None:
            return self._run_compiled(batch, start)
        if batch.shape[0] != self.input_shape[0]:
            self.interpreter.resize_tensor_input(self.input["index"], batch.shape)
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            details = {d["index"]: d for d in self.interpreter.get_output_details()}
            self.outputs = {name: details[d["index"]] for name, d in self.outputs.items()}
        self.interpreter.set_tensor(self.input["index"], _quantize(batch, self.input))
        with self.released():
            self.interpreter.invoke()
        out = {name: _dequantize(self.interpreter.get_tensor(d["index"]), d) for name, d in self.outputs.items()}
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out

    def _run_compiled(self, batch: np.ndarray, start: float) -> dict[str, np.ndarray]:
        if batch.shape[0] != self.input_shape[0]:
            raise BlazeforgeError(
                self.path,
                f"a batch of {batch.shape[0]} on the GPU accelerator, which runs "
                f"the file's batch of {self.input_shape[0]}",
            )
        inputs, outputs = self.buffers
        inputs[0].write(np.ascontiguousarray(_quantize(batch, self.input)))
        self.compiled.run_by_index(0, inputs, outputs)  # holds the GIL (measured), so not `released`
        out = {}
        for name, buffer in zip(self.compiled_outputs, outputs):
            d = self.outputs[name]
            out[name] = _dequantize(buffer.read(int(np.prod(d["shape"])), d["dtype"]).reshape(d["shape"]), d)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out

    def latency_ms(self, runs: int = 30, warmup: int = 3) -> dict:
        """Median and 95th percentile of single-image inference time, milliseconds."""
        return latency_ms([self], runs, warmup)[0]


def latency_ms(models: list[TfliteModel], runs: int = 30, warmup: int = 3) -> list[dict]:
    """Single-image inference time of each model, {"median", "p95"} in milliseconds.

    The models run in turn within every round, so drift in the machine's speed (clock frequency,
    neighbours) falls on all of them alike and their ratios are fair. All take the same input
    shape as the first.
    """
    x = np.random.default_rng(0).uniform(0, 1, (1, *models[0].input_shape[1:])).astype(np.float32)
    times = [[] for _ in models]
    for i in range(warmup + runs):
        for model, out in zip(models, times):
            start = time.perf_counter()
            model(x)
            if i >= warmup:
                out.append((time.perf_counter() - start) * 1000)
    return [{"median": round(float(np.median(t)), 3), "p95": round(float(np.percentile(t, 95)), 3)} for t in times]


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(x: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return x.copy()
    scale, zero = detail["quantization"]
    return ((x.astype(np.float32) - zero) * scale).astype(np.float32)
