"""Re-exported published models against the originals: LiteRT latency (XNNPack, 1 thread) and parity.

Each model with a Keras architecture is imported from MediaPipe's .tflite, exported again through
`model.export` and the TFLite converter, and timed in turn with the original in the same process
(`runtime.interpreter.latency_ms`, 200 rounds): `ours_over_original` is the latency ratio.
Parity is measured on the package photos as `blazeforge zoo parity` measures it.
"""

import tempfile
from pathlib import Path


def main() -> dict:
    from blazeforge import zoo
    from blazeforge.runtime import TfliteModel
    from blazeforge.runtime.interpreter import latency_ms
    from blazeforge.zoo import parity

    images = list(parity.photos().values())
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in zoo.MODELS.items():
            if spec.builder is None:
                continue
            path = parity.reexport(name, Path(tmp) / f"{name}.tflite")
            figures = parity.compare_reexport(name, path, parity.model_inputs(name, images))
            original, ours = latency_ms([TfliteModel(zoo.tflite_path(name), 1), TfliteModel(path, 1)], 200, 20)
            result[name] = {
                "original_ms": original["median"],
                "ours_ms": ours["median"],
                "ours_over_original": round(ours["median"] / original["median"], 3),
                "max_abs_diff": max(f["max_abs_diff"] for f in figures.values()),
                "bytes": path.stat().st_size,
                "original_bytes": zoo.tflite_path(name).stat().st_size,
            }
    return result
