"""Our models as Label Studio's ML backend: its four routes, and the prelabeler they call.

Label Studio calls `GET /health`, `POST /setup` (once, on connecting), `POST /predict` with
{"tasks": [...]} (answered {"results": [{"model_version", "score", "result"}, ...]}, one per task,
the result in Label Studio's keypoint regions: `interchange.ls_result`) and `POST /webhook`
(annotation and training events, recorded in `events`). The prelabeler runs the runtime's
detector and landmark model on each whole image (`runtime.still`), so prelabels are what the
runtime would give.

    with Backend(Prelabeler("face_mesh"), images=DIR, topo=topology.get("face_mesh")) as backend:
        studio.connect_backend(project, backend.url)
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import cv2
import numpy as np

from blazeforge.annotation import interchange
from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError
from blazeforge.serving import LocalServer
from blazeforge.topology import Topology

# topology -> (detector role, landmark role) of the runtime that prelabels it
PRELABEL_ROLES = {
    "hand": ("palm_detector", "hand_landmarks"),
    "face_mesh": ("face_detector", "face_mesh"),
    "pose": ("pose_detector", "pose_landmarks"),
}


class Prelabeler:
    """The runtime's detector + landmark model for a topology, on image files: a Sample of the
    instances found (x, y labelled, z not; visibility the model's where it gives one, else 1;
    handedness unknown, 0.5), meta source=prelabel and model_version, `score` its mean presence."""

    def __init__(self, topology: str, models="mediapipe", max_instances: int = 2):
        from blazeforge.runtime.still import StillImage

        if topology not in PRELABEL_ROLES:
            raise BlazeforgeError("annotate.topology", f"prelabels exist for {' | '.join(PRELABEL_ROLES)}")
        self.still = StillImage(*PRELABEL_ROLES[topology], models=models, max_instances=max_instances)
        self.model_version = "+".join(f.path.stem for f in self.still.models.values())

    def __call__(self, path: Path, name: str, k: int) -> tuple[Sample, float]:
        """The prelabel of image file `path` (named `name` in the sample) and its score."""
        image = cv2.imread(str(path))
        if image is None:
            raise BlazeforgeError(path, "not a readable image")
        return self.label(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), name, k)

    def label(self, rgb: np.ndarray, name: str, k: int) -> tuple[Sample, float]:
        """The prelabel of an RGB image [H, W, 3] uint8 (its first k landmarks) and its score."""
        instances = self.still(rgb)
        n = len(instances)
        keypoints = np.zeros((n, k, 3), np.float32)
        visibility = np.ones((n, k), np.float32)
        for i, instance in enumerate(instances):
            keypoints[i] = instance.landmarks[:k, :3]
            if "visibility" in instance.extra:
                visibility[i] = np.asarray(instance.extra["visibility"])[:k] > 0.5
        mask = np.zeros((n, k, 3), bool)
        mask[..., :2] = True
        sample = Sample(
            image=name,
            width=rgb.shape[1],
            height=rgb.shape[0],
            keypoints=keypoints,
            keypoint_mask=mask,
            visibility=visibility,
            boxes=np.asarray([i.box() for i in instances], np.float32).reshape(n, 4),
            presence=np.ones(n, np.float32),
            handedness=np.full(n, 0.5, np.float32),
            meta={"source": "prelabel", "model_version": self.model_version},
        )
        return sample, float(np.mean([i.score for i in instances])) if instances else 0.0


class Backend(LocalServer):
    """The four routes on `host`:`port` (0: a free port) in a thread; images named by the tasks
    (relative, inside `images`) are prelabelled by `prelabeler`."""

    def __init__(self, prelabeler: Prelabeler, images: str | Path, topo: Topology, host="127.0.0.1", port=0):
        self.prelabeler, self.images, self.topo = prelabeler, Path(images).resolve(), topo
        self.events: list[dict] = []
        super().__init__((host, int(port)), _Routes)

    def predict(self, tasks: list) -> list[dict]:
        results = []
        for t, task in enumerate(tasks):
            data = task.get("data", {}) if isinstance(task, dict) else {}
            name = interchange.image_name(data, f"predict: task {task.get('id', t) if isinstance(task, dict) else t}")
            sample, score = self.prelabeler(self.images / name, name, self.topo.num_keypoints)
            result = interchange.ls_result(sample, self.topo)
            results.append({"model_version": self.prelabeler.model_version, "score": score, "result": result})
        return results


class _Routes(BaseHTTPRequestHandler):
    server: Backend

    def _answer(self, status: int, body: dict) -> None:
        text = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args) -> None:  # quiet: Label Studio polls /health
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] in ("/health", "/"):
            self._answer(200, {"status": "UP", "model_class": "blazeforge"})
        else:
            self._answer(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except json.JSONDecodeError:
            return self._answer(400, {"error": "expected a JSON body"})
        route = self.path.split("?")[0]
        try:
            if route == "/setup":
                return self._answer(200, {"model_version": self.server.prelabeler.model_version})
            if route == "/predict":
                return self._answer(200, {"results": self.server.predict(body.get("tasks", []))})
            if route == "/webhook":
                self.server.events.append(body)
                return self._answer(200, {"status": "ok"})
        except BlazeforgeError as e:
            return self._answer(400, {"error": str(e)})
        self._answer(404, {"error": f"no route {route}"})
