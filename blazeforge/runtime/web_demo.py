"""`blazeforge serve-demo export=RUN_DIR`: a landmark export running in the browser on LiteRT.js.

The page (`runtime/web/demo.html`, `demo.js`) runs the export with LiteRT.js, which is npm's
`@litertjs/core` (`LITERTJS`). `vendor` installs it from the npm registry into the cache once, and
the page loads it from this server, never from a CDN. The page works on the video file given on
the command line (every frame, in order), on a file the user picks, or on the webcam, and draws
the landmarks and the frames per second.

The page has no detector. It tracks as MediaPipe's landmark graphs track between detections:
- The first ROI is the whole frame, as a square letterbox (`geometry.roi.letterbox_roi`).
- Each next ROI comes from the landmarks by the topology's rule (`RoisFromLandmarks`: hand_roi,
  face_roi, pose_roi from BlazePose's two auxiliary points) while the presence score holds.
- BlazePose's points are refined from its heatmaps (`geometry.heatmaps`) as the runtime does.
- Otherwise the next frame starts again from the whole frame.

`track` runs the same loop on our runtime's calculators. The browser test holds the page to it.

    with DemoServer(demo_spec("outputs/export/...", video="clip.webm")) as server:
        print(server.url)
"""

from __future__ import annotations

import json
import mimetypes
import shutil
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import cv2
import flatbuffers
import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.serving import LOOPBACK, LocalServer, until_interrupted
from blazeforge.venvs import cache_dir, installed

LITERTJS = "@litertjs/core@2.5.3"
WEB = Path(__file__).parent / "web"
# The landmark roles the page tracks: their `RoisFromLandmarks` rule, topology and the landmarks
# kept as the instance's (BlazePose: 33, then the 2 auxiliary points its next ROI comes from).
TRACKED = {
    "hand_landmarks": ("hand", "hand", None),
    "face_mesh": ("face", "face_mesh", None),
    "pose_landmarks": ("pose", "pose", 33),
}
VIDEO_TYPES = {".webm": "video/webm", ".mp4": "video/mp4", ".ogv": "video/ogg"}


def vendor(cache: Path | None = None) -> Path:
    """The folder holding `node_modules/@litertjs/core` (and what it needs), installed from the
    npm registry the first time and reused after (`venvs.installed`); one line when npm cannot."""
    npm = shutil.which("npm")
    if npm is None:
        raise BlazeforgeError("serve-demo", f"needs npm (Node.js) to install {LITERTJS} from the npm registry")
    folder = (cache or cache_dir()) / f"npm-{LITERTJS.lstrip('@').replace('/', '-').replace('@', '-')}"
    step = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--ignore-scripts", LITERTJS]
    return installed(folder, LITERTJS, [step], LITERTJS, "npm registry")


@dataclass(frozen=True)
class DemoModel:
    """The landmark export a demo runs: its role, file and how its outputs read (`models.Found`)."""

    role: str
    found: object  # runtime.models.Found


def demo_model(export: str, precision: str = "fp32") -> DemoModel:
    """The landmark model of `export`: an export run directory or .tflite of ours, or
    mediapipe:NAME (a published landmark file); one line when it holds none the page tracks."""
    from blazeforge.runtime.models import ROLES, Found, exports_of

    export = str(export)
    if export.startswith("mediapipe:"):
        from blazeforge import zoo

        name = export.split(":", 1)[1]
        roles = [r for r in TRACKED if ROLES[r].zoo == name]
        if not roles:
            offered = ", ".join(f"mediapipe:{ROLES[r].zoo}" for r in TRACKED)
            raise BlazeforgeError(f"serve-demo.export={export}", f"expected one of {offered}")
        return DemoModel(roles[0], Found(zoo.tflite_path(name), ROLES[roles[0]]))
    if not Path(export).exists():
        offered = " | ".join(f"mediapipe:{ROLES[r].zoo}" for r in TRACKED)
        raise BlazeforgeError(
            f"serve-demo.export={export}", f"not found; expected an export run directory or .tflite, or {offered}"
        )
    filled = exports_of(Path(export), precision, f"serve-demo.export={export}")
    roles = [r for r in TRACKED if r in filled]
    if not roles:
        raise BlazeforgeError(
            f"serve-demo.export={export}",
            f"it fills {', '.join(sorted(filled)) or 'nothing'}; the page runs {' | '.join(TRACKED)} exports",
        )
    return DemoModel(roles[0], filled[roles[0]])


def _output_names(model) -> dict[str, str]:
    """{role output name: the name LiteRT.js gives it}: the signature's names for our exports, the
    tensor names for published files (whose role names are the zoo's)."""
    from blazeforge import zoo
    from blazeforge.runtime.models import is_published

    path = model.found.path
    if is_published(path):
        return {o.name: o.tensor for o in zoo.get(Path(path).stem).outputs}
    return {}


def video_facts(video: Path) -> dict:
    """{frames, fps, width, height} of a video file; one line when OpenCV cannot read it."""
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while capture.isOpened() and capture.grab():
        frames += 1
    facts = {
        "frames": frames,
        "fps": float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
        "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    }
    capture.release()
    if frames == 0 or facts["fps"] <= 0:
        raise BlazeforgeError(video, "expected a video file with frames and a frame rate (e.g. .webm, .mp4)")
    return facts


def demo_spec(model: DemoModel, video: str | Path | None = None, min_presence: float = 0.5) -> dict:
    """What the page reads from /demo.json: the model's input and outputs, the topology to draw,
    the tracking rule and the served video's facts (None: the page offers a file and the webcam)."""
    from blazeforge import topology
    from blazeforge.runtime.interpreter import TfliteModel

    role = model.found.role
    names = _output_names(model)
    tflite = TfliteModel(model.found.path)
    rule, topology_name, keep = TRACKED[model.role]
    topo = topology.get(topology_name)
    spec = {
        "model": model.found.path.name,
        "role": model.role,
        "input_size": int(tflite.input_shape[1]),
        "value_range": [0.0, 1.0],
        "landmarks": names.get(role.landmarks, role.landmarks),
        "values": role.values,
        "heatmap": names.get(role.heatmap, role.heatmap) if role.heatmap else None,
        "score": names.get(role.score, role.score) if role.score else None,
        "score_is_logit": role.score_is_logit,
        "keep": keep or topo.num_keypoints,
        "edges": [list(e) for e in topo.edges],
        "rule": rule,
        "min_presence": float(min_presence),
        "video": None,
    }
    if video is not None:
        video = Path(video)
        if video.suffix.lower() not in VIDEO_TYPES:
            raise BlazeforgeError(f"serve-demo.video={video}", f"expected one of {', '.join(VIDEO_TYPES)}")
        if not video.is_file():
            raise BlazeforgeError(f"serve-demo.video={video}", "file not found")
        spec["video"] = {"name": video.name, **video_facts(video)}
    return spec


def single_batch(flatbuffer: bytes) -> bytes:
    """The .tflite with an open batch dimension (our exports keep it open for batched evaluation)
    fixed at 1, as LiteRT.js compiles static shapes only; the bytes as they are where none is open."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    opened = [
        t
        for graph in model.subgraphs
        for t in graph.tensors
        if t.shapeSignature is not None and -1 in t.shapeSignature[:1]
    ]
    if not opened:
        return flatbuffer
    for tensor in opened:
        tensor.shapeSignature = [1, *tensor.shapeSignature[1:]]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def track(frames, model: DemoModel, min_presence: float = 0.5, rois: list | None = None) -> list[dict]:
    """The page's loop on our runtime: for each RGB frame [H, W, 3] uint8, {score, landmarks
    [K, 2] image pixels or None where the presence fell below `min_presence`, roi, next: the ROI
    the landmarks give the next frame or None}. rois: the ROI of each frame (`Roi`, or the page's
    {cx, cy, width, height, rotation}) instead of the loop's own, to compare step by step."""
    from blazeforge.geometry.roi import Roi, letterbox_roi
    from blazeforge.runtime.calculators.tracking import Landmarks, RoisFromLandmarks
    from blazeforge.runtime.pipeline import load_models

    context = {"models": load_models({model.role: model.found})[0]}
    landmarks = Landmarks(context, model=model.role, min_presence=0.0, keep=TRACKED[model.role][2])
    rois_from = RoisFromLandmarks(rule=TRACKED[model.role][0])
    out, roi = [], None
    for i, frame in enumerate(frames):
        used = roi or letterbox_roi(frame.shape[1], frame.shape[0])
        if rois is not None:
            used = rois[i] if isinstance(rois[i], Roi) else Roi(**rois[i])
        instance = landmarks.process(0, {"IMAGE": frame, "ROIS": [used]})["INSTANCES"][0]
        found = instance.score >= min_presence
        roi = rois_from.process(0, {"INSTANCES": [instance]})["ROIS"][0] if found else None
        out.append(
            {
                "score": float(instance.score),
                "landmarks": instance.landmarks[:, :2].copy() if found else None,
                "roi": used,
                "next": roi,
            }
        )
    return out


class DemoServer(LocalServer):
    """The page, its script, /demo.json, the model, the video and the vendored LiteRT.js on
    `host`:`port` (0: a free one); any host but loopback needs remote_ok."""

    def __init__(self, model: DemoModel, spec: dict, video: Path | None, vendored: Path, host="127.0.0.1", port=0):
        if host not in LOOPBACK:
            raise BlazeforgeError(
                f"serve-demo.host={host}", "the demo serves only loopback (127.0.0.1); tunnel to reach it elsewhere"
            )
        self.files = {
            "/": (WEB / "demo.html", "text/html"),
            "/demo.js": (WEB / "demo.js", "text/javascript"),
            f"/{spec['model']}": (single_batch(model.found.path.read_bytes()), "application/octet-stream"),
        }
        if video is not None:
            self.files[f"/{Path(video).name}"] = (Path(video), VIDEO_TYPES[Path(video).suffix.lower()])
        self.spec, self.modules = spec, vendored / "node_modules"
        try:
            super().__init__((host, int(port)), _Handler)
        except OSError as e:
            raise BlazeforgeError(f"serve-demo.port={port}", f"cannot listen there ({e.strerror})") from None

    def resolve(self, path: str) -> tuple[Path | bytes, str] | None:
        """The file (or bytes) and content type served at `path`, None when none is."""
        if path in self.files:
            return self.files[path]
        if path.startswith("/vendor/"):
            file = (self.modules / path[len("/vendor/") :]).resolve()
            if self.modules.resolve() in file.parents and file.is_file():
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                return file, "text/javascript" if file.suffix == ".js" else kind
        return None


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer

    def log_message(self, *args) -> None:  # the page fetches dozens of files; keep the terminal quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/demo.json":
            body, kind = json.dumps(self.server.spec).encode(), "application/json"
        else:
            found = self.server.resolve(path)
            if found is None:
                self.send_error(404)
                return
            body, kind = found
        size = len(body) if isinstance(body, bytes) else body.stat().st_size
        part = _byte_range(self.headers.get("Range"), size)  # the video element seeks by ranges
        whole = part or slice(0, size)
        if isinstance(body, bytes):
            body = body[whole]
        else:  # only the bytes asked for: a seek in a long video reads a little of it
            with open(body, "rb") as file:
                file.seek(whole.start)
                body = file.read(whole.stop - whole.start)
        self.send_response(200 if part is None else 206)
        if part is not None:
            self.send_header("Content-Range", f"bytes {part.start}-{part.stop - 1}/{size}")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _byte_range(header: str | None, size: int) -> slice | None:
    """The slice an HTTP `Range: bytes=A-B` header asks for (one range; B or A may be left out),
    None for the whole body."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].partition("-")
    if not first:  # the last N bytes
        return slice(max(0, size - int(last)), size) if last.isdigit() else None
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start, stop = int(first), min(size, int(last) + 1 if last else size)
    return slice(start, stop) if start < stop else None


def serve(section, run_dir: Path) -> dict:
    """The serve-demo verb on its config section (`serve_demo:` in config.yaml): vendor LiteRT.js,
    serve the page on loopback until Ctrl-C (or at once with wait=false)."""
    from blazeforge import console

    if not section.export:
        raise BlazeforgeError(
            "serve-demo.export", "expected an export run directory or .tflite, or mediapipe:hand_landmark_full"
        )
    model = demo_model(str(section.export), str(section.precision))
    video = Path(str(section.video)) if section.video else None
    spec = demo_spec(model, video, float(section.min_presence))
    vendored = vendor()
    with DemoServer(model, spec, video, vendored, str(section.host), int(section.port)) as server:
        console.say(f"demo: {server.url}  ({model.role}: {model.found.path})")
        if bool(section.wait):
            console.say("serving; Ctrl-C stops it")
            until_interrupted()
        url = server.url
    return {"url": url, "model": str(model.found.path), "role": model.role, "litertjs": LITERTJS}


def landmark_gap(page: list[dict], reference: list[dict]) -> dict:
    """How far the page's frames land from `track`'s: {frames, both_found, mean_px, max_px} (the
    frames where only one found the instance counted in `disagree`)."""
    gaps, disagree = [], 0
    for ours, theirs in zip(page, reference, strict=True):
        if (ours["landmarks"] is None) != (theirs["landmarks"] is None):
            disagree += 1
        elif ours["landmarks"] is not None:
            gaps.append(np.linalg.norm(np.asarray(ours["landmarks"]) - theirs["landmarks"], axis=1))
    every = np.concatenate(gaps) if gaps else np.zeros(0)
    return {
        "frames": len(reference),
        "both_found": len(gaps),
        "disagree": disagree,
        "mean_px": float(every.mean()) if every.size else None,
        "max_px": float(every.max()) if every.size else None,
    }
