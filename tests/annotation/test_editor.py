"""`blazeforge annotate serve`: the mesh editor in a real browser (headless Chromium), its store under
concurrent saves and a kill -9, its logins and its refusals."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import cv2
import numpy as np
import pytest

from blazeforge import cli, topology
from blazeforge.annotation.editor import Editor
from blazeforge.annotation.editor_store import Store
from blazeforge.annotation.labelstudio import free_port
from blazeforge.datasets.schema import Sample, read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic.face_geometry import canonical_mesh
from blazeforge.zoo.parity import photos
from tests.browser import CHROMIUM

FACE = topology.get("face_mesh")


def _project(root: Path, names=("astronaut.png", "second.png")) -> Path:
    """Package photos with MediaPipe's canonical face mesh, 110 px wide, as their prelabel."""
    root.mkdir(parents=True, exist_ok=True)
    rgb = photos()["skimage.astronaut"]
    mesh = canonical_mesh()[:, :2] * [1, -1]
    xy = (mesh - mesh.mean(0)) / np.ptp(mesh[:, 0]) * 110 + [230, 120]
    points = np.concatenate([xy, np.zeros((len(xy), 1))], 1)[None]
    with (root / "prelabels.jsonl").open("w") as f:
        for name in names:
            cv2.imwrite(str(root / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            record = {"image": name, "width": rgb.shape[1], "height": rgb.shape[0], "keypoints": points.tolist()}
            f.write(json.dumps(Sample.from_json(record, "fixture", 468).to_json()) + "\n")
    return root / "prelabels.jsonl"


def _editor(tmp_path: Path, users=("alice", "bob")) -> tuple[Editor, dict]:
    labels = _project(tmp_path / "images")
    store = Store(tmp_path / "run" / "editor.sqlite")
    store.add_images(list(read_jsonl(labels, 468)))
    logins = {user: f"{user}-secret" for user in users}
    for user, password in logins.items():
        store.set_password(user, password)
    return Editor(store, tmp_path / "images", FACE), logins


class Client:
    """An annotator's HTTP session (cookies kept)."""

    def __init__(self, url: str):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def _falloff(start: np.ndarray, grabbed: list[int], radius: float) -> np.ndarray:
    """The module docstring's w(p) = exp(-r^2 / (2 R^2)), r: distance to the nearest grabbed point."""
    r2 = ((start[:, None, :2] - start[None, grabbed, :2]) ** 2).sum(-1).min(1)
    w = np.exp(-r2 / (2 * radius**2))
    w[grabbed] = 1.0
    return w


def test_logins_are_required_and_image_paths_cannot_leave_the_project(tmp_path):
    editor, logins = _editor(tmp_path)
    with editor:
        anonymous = Client(editor.url)
        assert anonymous.call("/api/project")[0] == 401
        assert anonymous.call("/images/astronaut.png")[0] == 401
        assert anonymous.call("/api/login", {"user": "alice", "password": "wrong"})[0] == 401
        alice = Client(editor.url)
        assert alice.call("/api/login", {"user": "alice", "password": logins["alice"]})[0] == 200
        status, project = alice.call("/api/project")
        assert status == 200 and [i["name"] for i in project["images"]] == ["astronaut.png", "second.png"]
        assert {c["name"] for c in project["contours"]} >= {"lips", "face oval", "left eye", "right eyebrow"}
        with alice.opener.open(editor.url + "/images/astronaut.png") as answer:
            assert answer.read()[:4] == b"\x89PNG"
        assert alice.call("/images/..%2F..%2Fetc%2Fpasswd")[0] == 403
        assert alice.call("/images/%2Fetc%2Fpasswd")[0] == 403
        assert alice.call("/images/prelabels.jsonl")[0] == 404  # in the folder, but not a project image
        host, port = editor.server_address[:2]
        raw = http.client.HTTPConnection(host, port, timeout=10)
        raw.request("GET", "/images/../../../etc/passwd", headers={"Cookie": _cookie(alice)})
        assert raw.getresponse().status == 403
    with pytest.raises(BlazeforgeError, match="annotate.password"):
        Editor(editor.store, tmp_path / "images", FACE, host="0.0.0.0")


def _cookie(client: Client) -> str:
    jar = next(h.cookiejar for h in client.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def test_the_command_refuses_escaping_names_and_an_open_bind_without_a_password(tmp_path, capsys):
    labels = _project(tmp_path / "images")
    escaping = tmp_path / "images" / "escaping.jsonl"
    record = json.loads(labels.read_text().splitlines()[0])
    escaping.write_text(json.dumps({**record, "image": "../outside.png"}) + "\n")
    run = ["annotate", "serve", "topology=face_mesh", "wait=false"]
    assert cli.main([*run, f"labels={escaping}", f"run_dir={tmp_path / 'a'}"]) == 2
    assert "'../outside.png' must be relative to the image folder" in capsys.readouterr().err
    assert cli.main([*run, f"labels={labels}", "host=0.0.0.0", f"run_dir={tmp_path / 'b'}"]) == 2
    err = capsys.readouterr().err
    assert "0.0.0.0 is reachable from other machines: set annotate.password" in err and "Traceback" not in err


def test_concurrent_saves_of_one_image_by_two_annotators_are_all_kept(tmp_path):
    editor, logins = _editor(tmp_path)
    answers: dict[str, list] = {"alice": [], "bob": []}
    with editor:

        def annotate(user: str) -> None:
            client = Client(editor.url)
            client.call("/api/login", {"user": user, "password": logins[user]})
            image = client.call("/api/images/1")[1]
            points = np.asarray(image["sample"]["keypoints"])
            for i in range(15):
                moved = points + [1.0 + i, -0.5 if user == "bob" else 0.5, 0.0]
                body = {"parent": None, "seconds": 2.0, "keypoints": moved.tolist(), "visibility": [[1.0] * 468]}
                answers[user].append(client.call("/api/images/1/versions", body))

        threads = [threading.Thread(target=annotate, args=(user,)) for user in answers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ids = [answer["id"] for user in answers for status, answer in answers[user] if status == 201]
    assert len(ids) == 30 and len(set(ids)) == 30
    versions = editor.store.versions(1)
    assert sorted(v["id"] for v in versions) == sorted(ids)
    last = {row["user"]: row for row in editor.store.latest()}
    assert set(last) == {"alice", "bob"} and last["alice"]["seconds"] == pytest.approx(30.0)
    assert (
        np.asarray(last["bob"]["sample"]["keypoints"])[0, 0, 1]
        < np.asarray(last["alice"]["sample"]["keypoints"])[0, 0, 1]
    )
    # a save whose parent is not a version of that image is refused in one line
    client = Client(editor.url)
    with editor.__class__(editor.store, tmp_path / "images", FACE) as again:
        client = Client(again.url)
        client.call("/api/login", {"user": "alice", "password": logins["alice"]})
        body = {
            "parent": 10_000,
            "seconds": 1,
            "keypoints": np.zeros((1, 468, 3)).tolist(),
            "visibility": [[1.0] * 468],
        }
        status, answer = client.call("/api/images/1/versions", body)
        assert status == 400 and "version 10000 is not a version of image 1" in answer["error"]
        status, answer = client.call("/api/images/1/versions", {**body, "parent": None, "keypoints": [[1, 2]]})
        assert status == 400 and "'keypoints' has shape [1, 2]" in answer["error"]


def test_a_server_killed_mid_save_loses_no_answered_save(tmp_path):
    labels = _project(tmp_path / "images")
    run_dir, port = tmp_path / "run", free_port()
    command = [sys.executable, "-m", "blazeforge", "annotate", "serve", f"labels={labels}", "topology=face_mesh"]
    command += ["users=[alice]", f"port={port}", f"run_dir={run_dir}"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(f"http://127.0.0.1:{port}")
    deadline = time.time() + 60
    while not (run_dir / "credentials.json").is_file() or client.call("/api/login", _alice(run_dir))[0] != 200:
        assert time.time() < deadline and server.poll() is None, "the editor did not start"
        time.sleep(0.2)
    points = np.asarray(client.call("/api/images/1")[1]["sample"]["keypoints"])
    answered, stop = [], threading.Event()

    def save_forever():
        i = 0
        while not stop.is_set():
            body = {
                "parent": None,
                "seconds": 1,
                "keypoints": (points + [i, 0, 0]).tolist(),
                "visibility": [[1.0] * 468],
            }
            try:
                status, answer = client.call("/api/images/1/versions", body)
            except (OSError, http.client.HTTPException):
                return  # the server died under this save
            if status == 201:
                answered.append((answer["id"], i))
            i += 1

    saver = threading.Thread(target=save_forever)
    saver.start()
    while len(answered) < 25:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    stop.set()
    saver.join()
    db = sqlite3.connect(run_dir / "editor.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0]: json.loads(row[1]) for row in db.execute("SELECT id, sample FROM versions")}
    db.close()
    for version, shift in answered:
        assert np.allclose(np.asarray(stored[version]["keypoints"]), points + [shift, 0, 0], atol=1e-3)
    # restarted on the same run directory, it keeps every version and writes the last one out
    assert (
        cli.main(
            [
                "annotate",
                "serve",
                f"labels={labels}",
                "users=[alice]",
                "topology=face_mesh",
                "wait=false",
                f"run_dir={run_dir}",
            ]
        )
        == 0
    )
    out = list(read_jsonl(run_dir / "annotations.jsonl", 468))
    assert len(out) == 1 and out[0].meta["annotator"] == "alice" and int(out[0].meta["version"]) == max(stored)
    assert (run_dir / out[0].image).resolve() == (tmp_path / "images" / "astronaut.png").resolve()


def _alice(run_dir: Path) -> dict:
    return {"user": "alice", "password": json.loads((run_dir / "credentials.json").read_text())["alice"]}


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs Debian's)")
def test_in_chromium_a_dragged_contour_moves_the_mesh_by_the_falloff_and_both_annotators_versions_are_kept(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    editor, logins = _editor(tmp_path)
    lips = next(c["points"] for c in editor.layout["contours"] if c["name"] == "lips")
    chin = 152  # on the face oval, below the lips
    with editor, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for user in ("alice", "bob"):
            page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
            page.goto(editor.url)
            page.fill("#user", user)
            page.fill("#password", logins[user])
            page.click("#enter")
            page.wait_for_function("window.editor && window.editor.state.picture !== null")
            pages[user] = page
        # alice drags the lips 30 screen px right and 20 down; bob shift-drags the chin 25 px left
        for user, point, (dx, dy) in (("alice", lips[0], (30, 20)), ("bob", chin, (-25, 0))):
            page = pages[user]
            x, y = (round(v) for v in page.evaluate(f"window.editor.screenOf(0, {point})"))  # whole pixels
            page.mouse.move(x, y)
            if user == "bob":
                page.keyboard.down("Shift")  # one point (the chin), not its contour (the face oval)
            page.mouse.down()
            for step in range(1, 6):
                page.mouse.move(x + dx * step / 5, y + dy * step / 5)
            page.mouse.up()
            page.keyboard.up("Shift")
        state = {
            user: pages[user].evaluate(
                "(({scale, falloff, image}) => ({scale, falloff, units: image.units}))(window.editor.state)"
            )
            for user in pages
        }
        for user in pages:  # both save, one right after the other, each from the prelabel
            pages[user].keyboard.press("s")
        for user in pages:
            pages[user].wait_for_function("window.editor.state.lastSave !== null")
            assert "saved as version" in pages[user].inner_text("#message")
        # undo takes the drag back, redo brings it again
        where = f"window.editor.state.points[0][{lips[0]}].slice(0, 2)"
        dragged = pages["alice"].evaluate(where)
        pages["alice"].keyboard.press("z")
        undone = pages["alice"].evaluate(where)
        pages["alice"].keyboard.press("Shift+Z")
        assert pages["alice"].evaluate(where) == pytest.approx(dragged)
        # bob, on the next image, adds two instances at the cursor and deletes the prelabelled one
        bob = pages["bob"]
        bob.keyboard.press("n")
        bob.wait_for_function("window.editor.state.index === 1")
        box, cursors = bob.locator("canvas").bounding_box(), []
        for at in ((300, 500), (700, 450)):
            bob.mouse.move(box["x"] + at[0], box["y"] + at[1])
            bob.keyboard.press("a")
            cursors.append(bob.evaluate("window.editor.state.cursor"))
        bob.mouse.move(*bob.evaluate("window.editor.screenOf(0, 1)"))
        bob.keyboard.press("x")
        bob.keyboard.press("s")
        bob.wait_for_function("window.editor.state.lastSave.id > 2")
        browser.close()
    added = editor.store.version(editor.store.versions(2)[-1]["id"])["sample"]
    assert len(added["keypoints"]) == 2 and added["keypoint_mask"][0][0] == [True, True, False]  # z unlabelled
    for points, cursor in zip(added["keypoints"], cursors):
        assert np.asarray(points)[:, :2].mean(0) == pytest.approx(cursor, abs=0.01)
    start = np.asarray(editor.store.image(1)["prelabel"]["keypoints"][0])
    assert undone == pytest.approx(start[lips[0], :2].tolist(), abs=1e-3)
    versions = {v["user"]: editor.store.version(v["id"]) for v in editor.store.versions(1)}
    assert len(versions) == len(editor.store.versions(1)) == 2
    assert set(versions) == {"alice", "bob"} and all(v["parent"] is None for v in versions.values())
    for user, grabbed, (dx, dy) in (("alice", lips, (30, 20)), ("bob", [chin], (-25, 0))):
        scale, falloff, unit = state[user]["scale"], state[user]["falloff"], state[user]["units"][0]
        assert unit == pytest.approx(FACE.size(start), rel=1e-6)
        moved = np.asarray(versions[user]["sample"]["keypoints"][0])[:, :2] - start[:, :2]
        delta = np.array([dx, dy]) / scale
        w = _falloff(start, list(grabbed), falloff / 100 * unit)
        assert np.abs(moved - w[:, None] * delta).max() < 0.02  # px; the page's mouse lands on whole pixels
        assert np.abs(moved[grabbed] - delta).max() < 0.02
        assert ((w > 0.05) & (w < 0.95)).any() and np.abs(moved[w < 1e-4]).max() < 5e-3  # near follow, far stay
        assert versions[user]["seconds"] > 0
