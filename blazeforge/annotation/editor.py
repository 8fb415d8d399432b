"""`blazeforge annotate serve`: our refinement tool for dense meshes and landmarks, a small web app.

    with Editor(Store(run_dir / "editor.sqlite"), images=DIR, topo=topology.get("face_mesh")) as editor:
        print(editor.url)     # http://127.0.0.1:PORT: log in, refine, save

The page (editor.html) draws the image, the topology's mesh and its contours (MediaPipe's
connection sets, read from the pinned wheel: lips, eyes, brows, face oval, nose, irises; a hand's
fingers and palm). Dragging a point of a contour moves the whole contour by the drag (d, in image
pixels) and every other point p of that instance by w(p) d with the falloff

    w(p) = exp(-r(p)^2 / (2 R^2)),  r(p) = distance (image px, when the drag began) to the nearest dragged point

R the falloff radius (in % of the instance's unit: IOD, palm size, torso size; [ and ] change it,
0 moves the dragged points only). Shift-drag moves one point with the same falloff. a adds an
instance at the cursor (the project's first prelabelled instance, moved there), x deletes the one
under the cursor, v toggles a point's visibility, z / Ctrl+Z undoes, Shift+Z / Ctrl+Y redoes,
s / Ctrl+S saves, n / p (or the arrow keys) go to the next / previous image. The time an
annotator spends on an image (while the page is visible, idle gaps capped at IDLE_S) is sent with
each save.

Routes (JSON unless said; every route but /, /api/login and /api/me needs the session cookie):
    GET  /                          the page
    POST /api/login {user, password}  sets the session cookie; POST /api/logout drops it
    GET  /api/me                    {user} or 401
    GET  /api/project               {topology, names, mesh, contours, template, images: [{id, name, versions, users}]}
    GET  /api/images/ID             {id, name, width, height, units, sample, base, versions}: the
                                    annotator's own last version of it (base: its id), else the prelabel
    GET  /api/versions/ID           a version, its sample and units included
    POST /api/images/ID/versions {parent, seconds, keypoints [N, K, 3], visibility [N, K]}
                                    -> 201 {id, others}: a new version (never an overwrite); others:
                                    the versions others saved of the image since `parent`
    GET  /images/NAME               the image file; NAME relative to the project folder, without '..'

Logins are the store's (`Store.set_password`); sessions live as long as the server.
"""

from __future__ import annotations

import json
import mimetypes
import re
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from blazeforge.annotation import interchange
from blazeforge.annotation.editor_store import Store
from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError
from blazeforge.serving import LOOPBACK, LocalServer
from blazeforge.topology import Topology

IDLE_S = 30  # the page counts at most this many seconds between two of an annotator's actions
MAX_BODY = 20 * 2**20  # bytes of a request body at most

# topology -> (the connection set drawn as its mesh, the sets edited as contours), MediaPipe's names
SETS = {
    "face_mesh": (
        "FACEMESH_TESSELATION",
        (
            "FACEMESH_FACE_OVAL",
            "FACEMESH_LIPS",
            "FACEMESH_LEFT_EYE",
            "FACEMESH_RIGHT_EYE",
            "FACEMESH_LEFT_EYEBROW",
            "FACEMESH_RIGHT_EYEBROW",
            "FACEMESH_NOSE",
            "FACEMESH_LEFT_IRIS",
            "FACEMESH_RIGHT_IRIS",
        ),
    ),
    "hand": (
        "HAND_CONNECTIONS",
        (
            "HAND_PALM_CONNECTIONS",
            "HAND_THUMB_CONNECTIONS",
            "HAND_INDEX_FINGER_CONNECTIONS",
            "HAND_MIDDLE_FINGER_CONNECTIONS",
            "HAND_RING_FINGER_CONNECTIONS",
            "HAND_PINKY_FINGER_CONNECTIONS",
        ),
    ),
    "pose": ("POSE_CONNECTIONS", ()),
}


def layout(topo: Topology) -> dict:
    """{mesh: [[i, j]], contours: [{name, points, edges}]} of a topology, from the wheel's sets
    (edges and points of indices the topology has)."""
    from blazeforge.zoo.connections import connections

    if topo.name not in SETS:
        raise BlazeforgeError("annotate.topology", f"the editor edits {' | '.join(SETS)}, got {topo.name!r}")
    mesh_set, contour_sets = SETS[topo.name]
    known = connections(topo.name)
    k = topo.num_keypoints

    def edges(name):
        return sorted([int(i), int(j)] for i, j in known[name] if i < k and j < k)

    contours = []
    for name in contour_sets:
        pairs = edges(name)
        if pairs:
            label = name.split("_", 1)[1].lower().replace("_connections", "").replace("_", " ")
            contours.append({"name": label, "points": sorted({i for pair in pairs for i in pair}), "edges": pairs})
    return {"mesh": edges(mesh_set), "contours": contours}


class Editor(LocalServer):
    """The routes of the module docstring on `host`:`port` (0: a free port), served from a thread
    inside `with`. A host other than loopback is refused unless `remote_ok` (the caller checked
    that the logins have passwords people chose)."""

    def __init__(self, store: Store, images: str | Path, topo: Topology, host="127.0.0.1", port=0, remote_ok=False):
        if host not in LOOPBACK and not remote_ok:
            raise BlazeforgeError("annotate.host", f"{host} is reachable from other machines: set annotate.password")
        self.store, self.images, self.topo = store, Path(images).resolve(), topo
        self.layout = layout(topo)
        self.sessions: dict[str, str] = {}
        self.lock = threading.Lock()
        try:
            super().__init__((host, int(port)), _Routes)
        except OSError as e:
            raise BlazeforgeError("annotate.port", f"cannot listen on {host}:{port} ({e.strerror})") from None

    def login(self, user: str, password: str) -> str | None:
        """A new session token for a right user and password, else None."""
        if not self.store.check_password(user, password):
            return None
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[token] = user
        return token

    def template(self) -> dict | None:
        """{points [K, 2] about their centre, unit (px)}: the project's first prelabelled instance,
        what a new instance starts as; None where no image has one."""
        for info in self.store.images():
            instances = self.store.image(info["id"])["prelabel"]["keypoints"]
            if instances:
                points = np.asarray(instances[0], np.float64)
                return {"points": (points[:, :2] - points[:, :2].mean(0)).tolist(), "unit": self.topo.size(points)}
        return None

    def project(self) -> dict:
        return {
            "topology": self.topo.name,
            "unit": self.topo.unit,
            "names": list(self.topo.names),
            **self.layout,
            "template": self.template(),
            "images": self.store.images(),
        }

    def image(self, image_id: int, user: str) -> dict | None:
        record = self.store.image(image_id)
        if record is None:
            return None
        versions = self.store.versions(image_id)
        own = [v for v in versions if v["user"] == user]
        base = own[-1]["id"] if own else None
        sample = self.store.version(base)["sample"] if base else record["prelabel"]
        units = self._units(sample)
        return {
            "id": image_id,
            "name": record["name"],
            "width": sample["width"],
            "height": sample["height"],
            "units": units,
            "sample": sample,
            "base": base,
            "versions": versions,
        }

    def _units(self, sample: dict) -> list[float]:
        """The unit's length (px) of each instance of a Sample JSON."""
        return [self.topo.size(np.asarray(points)) for points in sample["keypoints"]]

    def version(self, version_id: int) -> dict | None:
        found = self.store.version(version_id)
        return None if found is None else {**found, "units": self._units(found["sample"])}

    def save(self, image_id: int, user: str, body: dict) -> tuple[int, dict]:
        """(HTTP status, answer) of a save: the edited points over the image's prelabel record."""
        record = self.store.image(image_id)
        if record is None:
            return 404, {"error": f"no image {image_id}"}
        base = record["prelabel"]
        edited = {key: base[key] for key in ("image", "width", "height", "meta")}
        keypoints = body.get("keypoints")
        if isinstance(keypoints, list) and len(keypoints) == len(base["keypoints"]):
            edited.update(keypoint_mask=base["keypoint_mask"], handedness=base["handedness"])  # the same instances
        elif isinstance(keypoints, list):  # instances added or deleted: people label x and y
            edited["keypoint_mask"] = [[[True, True, False]] * self.topo.num_keypoints] * len(keypoints)
        try:
            sample = Sample.from_json(
                {**edited, "keypoints": keypoints, "visibility": body.get("visibility")},
                "save",
                self.topo.num_keypoints,
            )
            if not ((sample.visibility >= 0) & (sample.visibility <= 1)).all():
                raise BlazeforgeError("save", "visibility must lie in [0, 1]")
            parent = body.get("parent")
            parent = None if parent is None else int(parent)
            seconds = float(body.get("seconds") or 0.0)
            sample.meta.update({"annotator": user, "source": "editor"})
            version = self.store.save(image_id, user, sample, parent, max(seconds, 0.0))
        except (BlazeforgeError, TypeError, ValueError) as e:
            return 400, {"error": str(e)}
        others = [
            v for v in self.store.versions(image_id) if v["user"] != user and (parent is None or v["id"] > parent)
        ]
        return 201, {"id": version, "others": others}

    def image_file(self, raw: str) -> tuple[int, Path | str]:
        """(200, path) of a project image named by a URL path; (403 | 404, reason) otherwise."""
        name = unquote(raw)
        try:
            name = interchange.safe_name(name, "image")
        except BlazeforgeError as e:
            return 403, str(e)
        path = (self.images / name).resolve()
        if not path.is_relative_to(self.images) or name not in {i["name"] for i in self.store.images()}:
            return 404, f"no project image {name!r}"
        return (200, path) if path.is_file() else (404, f"{name} is not on disk")


class _Routes(BaseHTTPRequestHandler):
    server: Editor

    def log_message(self, *args) -> None:  # the page polls nothing, but saves should not spam the terminal
        pass

    def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _user(self) -> str | None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        token = cookie["session"].value if "session" in cookie else ""
        with self.server.lock:
            return self.server.sessions.get(token)

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY or not self.headers.get("Content-Type", "").startswith("application/json"):
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    def do_GET(self) -> None:
        route = self.path.split("?")[0]
        if route == "/":
            page = resources.files("blazeforge.annotation").joinpath("editor.html").read_bytes()
            return self._send(200, page, "text/html; charset=utf-8")
        user = self._user()
        if route == "/api/me":
            return self._json(200, {"user": user}) if user else self._json(401, {"error": "log in"})
        if user is None:
            return self._json(401, {"error": "log in"})
        if route == "/api/project":
            return self._json(200, self.server.project())
        if found := re.fullmatch(r"/api/images/(\d+)", route):
            answer = self.server.image(int(found[1]), user)
            return self._json(200, answer) if answer else self._json(404, {"error": f"no image {found[1]}"})
        if found := re.fullmatch(r"/api/versions/(\d+)", route):
            answer = self.server.version(int(found[1]))
            return self._json(200, answer) if answer else self._json(404, {"error": f"no version {found[1]}"})
        if route.startswith("/images/"):
            status, found = self.server.image_file(route[len("/images/") :])
            if status != 200:
                return self._json(status, {"error": found})
            kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
            return self._send(200, found.read_bytes(), kind)
        self._json(404, {"error": f"no route {route}"})

    def do_POST(self) -> None:
        route = self.path.split("?")[0]
        body = self._body()
        if body is None:
            return self._json(400, {"error": "expected a JSON object body (Content-Type: application/json)"})
        if route == "/api/login":
            token = self.server.login(str(body.get("user", "")), str(body.get("password", "")))
            if token is None:
                return self._json(401, {"error": "wrong user or password"})
            cookie = f"session={token}; HttpOnly; SameSite=Strict; Path=/"
            return self._json(200, {"user": body["user"]}, {"Set-Cookie": cookie})
        user = self._user()
        if user is None:
            return self._json(401, {"error": "log in"})
        if route == "/api/logout":
            with self.server.lock:
                self.server.sessions.pop(SimpleCookie(self.headers.get("Cookie", ""))["session"].value, None)
            return self._json(200, {"user": None})
        if found := re.fullmatch(r"/api/images/(\d+)/versions", route):
            return self._json(*self.server.save(int(found[1]), user, body))
        self._json(404, {"error": f"no route {route}"})
