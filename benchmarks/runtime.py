"""The runtime against model inference alone and against MediaPipe's own Python package.

On clips of a hand and a face moving smoothly (tests.fixtures.moving_clip: 300 frames, the subject
gone for 10), with MediaPipe's published model files on both sides:
Each configuration runs ROUNDS (3) times, interleaved; figures are medians (`overhead_range`: the
rounds' extremes).
- `overhead`: (pipeline wall time - time inside the models) / time inside the models, per frame,
  for the hands and face_mesh graphs without the annotated video (decode, crops, NMS, ROI rules,
  smoothing, gestures, scheduling, JSONL), at 0 (all on one thread), 1 and 2 scheduler workers;
  face_mesh also with its iris stage on (the shipped default; `iris_workers_N`): at 2 workers the
  iris model, off the tracking loop, runs beside the next frame's face model, so the wall time
  per frame can fall below the summed inference time (then the figure is negative);
  `overhead_vs_serial`: the same against the models' time on one thread (workers=0, nothing
  running beside them), for runs with workers: it counts the slowdown a model suffers from work
  on the other core and gives no credit for models running side by side;
  `mediapipe_overhead` is the package's time per frame against the same inference time;
- `fps_ratio`: our fps / the mediapipe package's fps on the same clip (its solutions API: Hands
  with model_complexity=1, FaceMesh without refinement, i.e. the same .tflite files), both
  decoding the file, one LiteRT/XNNPack thread per model on our side;
- `agreement`: mean distance between our landmarks and the package's, per frame both found the
  subject, in palm sizes (wrist to middle MCP) or interocular distances.
The mediapipe package runs in a venv of its own: $MEDIAPIPE_PYTHON, else one made on first use
at ~/.cache/blazeforge/mediapipe-venv (pip install mediapipe==<the zoo's pinned version>).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CLIP_FRAMES, ABSENT = int(os.environ.get("BENCH_FRAMES", 300)), (150, 160)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
NORMALIZERS = {"hands": (0, 9), "face_mesh": (33, 263)}


def mediapipe_python() -> str:
    """A python with the pinned mediapipe package, made once (downloads from the package registry)."""
    if os.environ.get("MEDIAPIPE_PYTHON"):
        return os.environ["MEDIAPIPE_PYTHON"]
    from blazeforge import zoo

    venv = Path.home() / ".cache" / "blazeforge" / "mediapipe-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"mediapipe=={zoo.MEDIAPIPE_VERSION}"], check=True)
    return str(python)


def main() -> dict:
    from blazeforge.runtime.pipeline import load, run_pipeline
    from tests.fixtures import moving_clip

    script = Path(__file__).with_name("_mediapipe_solutions.py")
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pipeline, subject in (("hands", "hand"), ("face_mesh", "face")):
            clip, _ = moving_clip(Path(tmp) / f"{subject}.mp4", subject, CLIP_FRAMES, ABSENT)
            runs = [(f"workers_{w}", False, w) for w in (0, 1, 2)]
            if pipeline == "face_mesh":
                runs += [(f"iris_workers_{w}", True, w) for w in (0, 2)]
            measured, package = {key: [] for key, _, _ in runs}, []
            for _ in range(ROUNDS):  # all configurations in turn, so that drift in the machine falls on all
                for key, iris, workers in runs:
                    m = run_pipeline(
                        load(pipeline, iris=iris, video=False, workers=workers), clip, Path(tmp) / pipeline / key
                    )
                    measured[key].append(m)
                package.append(
                    json.loads(
                        subprocess.run(
                            [mediapipe_python(), str(script), pipeline, str(clip)],
                            check=True,
                            capture_output=True,
                            text=True,
                        ).stdout.splitlines()[-1]
                    )
                )
            figures = {}
            for key, _iris, workers in runs:
                ms = measured[key]
                wall, inference = (float(np.median([m[k] for m in ms])) for k in ("pipeline_ms", "inference_ms"))
                each = [(m["pipeline_ms"] - m["inference_ms"]) / m["inference_ms"] for m in ms]
                figures[key] = {
                    "fps": round(1000 / wall, 2),
                    "pipeline_ms": round(wall, 3),
                    "inference_ms": round(inference, 3),
                    "overhead": round((wall - inference) / inference, 4),
                    "overhead_range": [round(min(each), 4), round(max(each), 4)],
                    "detector_fraction": ms[0]["detector_fraction"],
                }
                if workers:
                    serial = figures[key.replace(f"workers_{workers}", "workers_0")]["inference_ms"]
                    figures[key]["overhead_vs_serial"] = round((wall - serial) / serial, 4)
            ours = [
                json.loads(line)
                for line in (Path(tmp) / pipeline / "workers_0" / "frames.jsonl").read_text().splitlines()
            ]
            theirs = {**package[0], "fps": float(np.median([run["fps"] for run in package]))}
            a, b = NORMALIZERS[pipeline]
            distances = []
            for frame, other in zip(ours, theirs["landmarks"]):
                if frame["instances"] and other:
                    p, q = np.array(frame["instances"][0]["landmarks"])[:, :2], np.array(other)
                    distances.append(np.linalg.norm(p - q, axis=1).mean() / np.linalg.norm(q[a] - q[b]))
            best = max((f for key, f in figures.items() if key.startswith("workers_")), key=lambda f: f["fps"])
            inference = figures["workers_0"]["inference_ms"]
            result[pipeline] = {
                **figures,
                "mediapipe_fps": round(theirs["fps"], 2),
                "mediapipe_overhead": round((1000 / theirs["fps"] - inference) / inference, 4),
                "fps_ratio": round(best["fps"] / theirs["fps"], 3),
                "agreement": round(float(np.mean(distances)), 4),
                "frames_compared": len(distances),
                "frames": CLIP_FRAMES,
                "mediapipe": theirs["mediapipe"],
            }
    return result
