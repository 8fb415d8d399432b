"""Speed and memory benchmarks: `make bench` or `python -m benchmarks [name ...]`.

Each module here has `main() -> dict` and writes `benchmarks/results/<name>.json`. Every figure is
stated next to a baseline measured in the same process, as a ratio, so results compare across
machines.
"""
