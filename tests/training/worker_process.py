"""One worker of a two-worker training on loopback (`python -m tests.training.worker_process INDEX PORTS
RUN_DIR`): trains the test's tiny data with trainer.strategy=multi_worker and prints its metrics."""

import json
import os
import sys

if __name__ == "__main__":
    index, ports, run_dir = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    from blazeforge.config import compose
    from blazeforge.training.trainer import strategy, train
    from tests.training.test_trainer import CFG, HANDS, tiny_data

    strategy("multi_worker")  # before TensorFlow runs an op: the collectives are configured at startup
    cfg = compose("train", CFG + ["trainer.epochs=3", "trainer.strategy=multi_worker"])
    metrics = train(HANDS, cfg, run_dir, datasets=tiny_data())
    print("METRICS " + json.dumps(metrics))
