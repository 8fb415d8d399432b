"""Run the benchmarks: `python -m benchmarks` (all) or `python -m benchmarks render pipeline`."""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import benchmarks

RESULTS = Path(benchmarks.__file__).parent / "results"


def main(names: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_"))
    for name in names or available:
        if name not in available:
            print(f"benchmarks: error: unknown benchmark {name!r}; expected one of {available}", file=sys.stderr)
            return 2
        result = importlib.import_module(f"benchmarks.{name}").main()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {json.dumps(result, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
