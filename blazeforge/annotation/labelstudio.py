"""A real Label Studio, run from its own venv, as the refinement tool for keypoint labels.

Label Studio needs numpy 2 and our environment pins numpy < 2 (bpy), so `install` makes a venv of
its own from the package registry on first use (`LABEL_STUDIO` below, under the cache folder) and
`Server` runs `label-studio start` from it, bound to 127.0.0.1 on a port checked free first (a busy
port would silently become another), offline (no analytics, version check or error reports), with
a login and an API token made once per data folder and kept there (Label Studio honours the token
only when the organization is first created):

    with Server(data_dir, images=DIR) as studio:
        project = studio.create_project("hands", topology.get("hand"))
        studio.import_samples(project, prelabels, topology.get("hand"))
        ...                                  # people refine the prelabels at studio.url
        samples = studio.pull(project, topology.get("hand"))

Images are served from `images` through Label Studio's local-files storage (its document root
is the folder above: a storage may not be the root itself); tasks keep our path relative to
`images` beside the URL (`interchange.ls_task`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from blazeforge import venvs
from blazeforge.annotation import interchange
from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError
from blazeforge.serving import LOOPBACK
from blazeforge.topology import Topology

LABEL_STUDIO = ["label-studio==1.23.2", "sentry-sdk<3"]  # sentry-sdk 3 rejects an option Label Studio passes
# Variables Label Studio reads under other meanings (they leaked in from shells and CI).
LEAKY = ("HOST", "PORT", "USERNAME", "PASSWORD", "DJANGO_SETTINGS_MODULE")


def install(cache: Path | None = None) -> Path:
    """The `label-studio` program of our Label Studio venv (`venvs.ensure`), made from the package
    registry the first time (a few minutes)."""
    venv = venvs.ensure("labelstudio-" + LABEL_STUDIO[0].split("==")[1], [["install", *LABEL_STUDIO]], cache)
    return venv / "bin" / "label-studio"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Server:
    """`label-studio start` on `host`:`port` (0: a free port) with its data in `data_dir`.

    credentials: data_dir/credentials.json (username, password, token), made on first start with
    random secrets and kept (mode 0600). A host other than loopback needs `password` set: Label
    Studio is then reachable by others, and a default login would be an open door."""

    def __init__(
        self,
        data_dir: str | Path,
        images: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str | None = None,
        program: Path | None = None,
        timeout: float = 240.0,
    ):
        self.data_dir, self.images = Path(data_dir).resolve(), Path(images).resolve()
        if host not in LOOPBACK and not password:
            raise BlazeforgeError(
                "annotate.host", f"{host} is reachable from other machines: set annotate.password to bind it"
            )
        if not self.images.is_dir():
            raise BlazeforgeError(images, "expected the folder of the images to annotate")
        self.host, self.port, self.password, self.program, self.timeout = host, int(port), password, program, timeout
        self.process: subprocess.Popen | None = None
        self.token = ""  # the API token, read from the credentials on start

    @property
    def url(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.port}"

    def credentials(self) -> dict:
        path = self.data_dir / "credentials.json"
        if path.is_file():
            return json.loads(path.read_text())
        made = {
            "username": "annotator@blazeforge.local",
            "password": self.password or secrets.token_urlsafe(12),
            "token": secrets.token_hex(20),
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(made))
        path.chmod(0o600)
        return made

    def start(self) -> Server:
        program = self.program or install()
        self.port = self.port or free_port(self.host)
        if not _port_is_free(self.host, self.port):
            raise BlazeforgeError("annotate.port", f"{self.host}:{self.port} is in use; choose another port (or 0)")
        login = self.credentials()
        env = {k: v for k, v in os.environ.items() if k not in LEAKY}
        env.update(
            LABEL_STUDIO_USERNAME=login["username"],
            LABEL_STUDIO_PASSWORD=login["password"],
            LABEL_STUDIO_USER_TOKEN=login["token"],
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir),
            LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
            LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(self.images.parent),  # the storage must lie below it
            COLLECT_ANALYTICS="false",
            LATEST_VERSION_CHECK="false",
            SENTRY_DSN="",
            FRONTEND_SENTRY_DSN="",
            ML_BLOCK_LOCAL_IP="false",  # our ML backend runs on loopback too
            SSRF_PROTECTION_ENABLED="false",
        )
        self.log = (self.data_dir / "label-studio.log").open("a")
        command = [str(program), "start", "--internal-host", self.host, "--port", str(self.port), "--no-browser"]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.data_dir)
        self.token = login["token"]
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise BlazeforgeError(self.data_dir / "label-studio.log", "Label Studio stopped while starting; see it")
            try:
                if self.call("GET", "/health").get("status") == "UP":
                    return self
            except (OSError, BlazeforgeError):
                pass
            time.sleep(1.0)
        self.stop()
        raise BlazeforgeError(
            self.data_dir / "label-studio.log", f"Label Studio did not answer in {self.timeout:.0f} s"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def call(self, method: str, path: str, body=None):
        """Label Studio's REST API with our token; its answer decoded from JSON."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Token {self.token}"}
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as e:
            raise BlazeforgeError(
                f"Label Studio {method} {path}", f"HTTP {e.code}: {e.read()[:300].decode()}"
            ) from None

    # ---- projects ------------------------------------------------------------------------------

    def create_project(self, title: str, topo: Topology) -> int:
        """A project with the topology's keypoint config and the images folder as its local files."""
        project = self.call("POST", "/api/projects", {"title": title, "label_config": interchange.label_config(topo)})
        storage = {"project": project["id"], "path": str(self.images), "title": "images", "use_blob_urls": False}
        self.call("POST", "/api/storages/localfiles", storage)
        return int(project["id"])

    def import_samples(self, project: int, samples: list[Sample], topo: Topology, model_version: str = "") -> int:
        """One task per sample, its points as a prediction of `model_version` (Label Studio shows
        the predictions of the project's model version as prelabels); returns the task count."""
        tasks = []
        for sample in samples:
            task = interchange.ls_task(sample, self.images.name)
            if sample.num_instances:
                task["predictions"] = [{"model_version": model_version, "result": interchange.ls_result(sample, topo)}]
            tasks.append(task)
        done = self.call("POST", f"/api/projects/{project}/import", tasks)
        if model_version:
            self.call("PATCH", f"/api/projects/{project}", {"model_version": model_version})
        return int(done["task_count"])

    def tasks(self, project: int) -> list[dict]:
        """The project's tasks, annotated or not, with their annotations (Label Studio's JSON export;
        its `predictions` are prediction ids: `predictions(task)` gives them whole)."""
        return self.call("GET", f"/api/projects/{project}/export?exportType=JSON&download_all_tasks=true")

    def predictions(self, task: int) -> list[dict]:
        """The predictions of a task (model_version, score, result)."""
        return self.call("GET", f"/api/predictions?task={task}")

    def pull(self, project: int, topo: Topology) -> list[Sample]:
        """The finished annotations, one sample each (meta.annotator: the annotator's email)."""
        users = {u["id"]: u.get("email") or str(u["id"]) for u in self.call("GET", "/api/users")}
        tasks = self.tasks(project)
        for task in tasks:
            for annotation in task.get("annotations", []):
                by = annotation.get("completed_by")
                annotation["completed_by"] = users.get(by.get("id") if isinstance(by, dict) else by, by)
        return interchange.samples_from_tasks(tasks, topo, f"Label Studio project {project}")

    def connect_backend(self, project: int, url: str, title: str = "blazeforge") -> int:
        """Connect an ML backend (`ml_backend.Backend`'s url) to a project; Label Studio checks its
        /health and calls /setup."""
        return int(self.call("POST", "/api/ml", {"url": url, "project": project, "title": title})["id"])

    def retrieve_predictions(self, project: int) -> None:
        """Label Studio's own "Retrieve predictions" action on all tasks: it calls the backend's /predict."""
        body = {"selectedItems": {"all": True, "excluded": []}}
        self.call("POST", f"/api/dm/actions?id=retrieve_tasks_predictions&project={project}", body)
