"""int8 against fp32: LiteRT latency (1 and 2 threads) and the NME delta, same process.

Uses the newest demo run (outputs/demo/*/export) when there is one; otherwise exports an
untrained full-width 224 px model (latency only: an untrained model has no meaningful NME).
"""

import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> dict:
    from blazeforge.runtime import TfliteModel
    from blazeforge.runtime.interpreter import latency_ms

    demos = sorted(Path("outputs/demo").glob("*/*/export/metrics.json"))
    if demos:
        exports = json.loads(demos[-1].read_text())["exports"]
        fp32, int8 = Path(exports["fp32"]["path"]), Path(exports["int8"]["path"])
        nme_delta = exports["int8"]["nme_2d"] - exports["fp32"]["nme_2d"]
        source = str(demos[-1].parent)
        tmp = None
    else:
        from blazeforge import recipes
        from blazeforge.engine import configure
        from blazeforge.export.tflite import convert

        cfg = configure("train", ["recipe.width=full", "recipe.input_size=224"])
        model = recipes.get("hand_landmarks").build_model(cfg.recipe)
        calibration = np.random.default_rng(0).uniform(0, 1, (16, 224, 224, 3)).astype(np.float32)
        tmp = tempfile.TemporaryDirectory()
        fp32, int8 = Path(tmp.name) / "fp32.tflite", Path(tmp.name) / "int8.tflite"
        fp32.write_bytes(convert(model, "none"))
        int8.write_bytes(convert(model, "int8", calibration))
        nme_delta, source = None, "untrained full 224"
    result = {"model": source, "int8_nme_delta": nme_delta}
    for threads in (1, 2):
        a, b = (t["median"] for t in latency_ms([TfliteModel(fp32, threads), TfliteModel(int8, threads)], 300, 20))
        result[f"threads_{threads}"] = {"fp32_ms": a, "int8_ms": b, "int8_over_fp32": round(b / a, 3)}
    if tmp is not None:
        tmp.cleanup()
    return result
