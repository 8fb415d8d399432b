"""Landmark topologies as MediaPipe ships them: the connection sets of the pinned wheel's solutions.

Read, not retyped: the `*_connections.py` modules inside the cached mediapipe wheel are parsed
(Python's `ast`, nothing imported or executed) for their module-level frozensets of index pairs.

    connections("face_mesh")["FACEMESH_TESSELATION"]   # frozenset of 2556 (i, j) pairs over 468 points
    connections("hand")["HAND_CONNECTIONS"]            # 21 pairs
    connections("pose")["POSE_CONNECTIONS"]            # 35 pairs over 33 points
"""

from __future__ import annotations

import ast
import zipfile

from blazeforge.errors import BlazeforgeError

MODULES = {"face_mesh": "face_mesh_connections", "hand": "hands_connections", "pose": "pose_connections"}


def _value(node: ast.AST, known: dict) -> frozenset:
    """frozenset([...pairs]), a tuple of pairs, frozenset().union(*[NAMES]) or NAME, as the modules write them."""
    if isinstance(node, ast.Name):
        return known[node.id]
    if isinstance(node, ast.Tuple):  # ((0, 1), (0, 5), ...)
        return frozenset(tuple(p) for p in ast.literal_eval(node))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "frozenset":
        return frozenset(tuple(p) for p in ast.literal_eval(node.args[0])) if node.args else frozenset()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "union":
        out = _value(node.func.value, known)
        for arg in node.args:
            items = arg.value.elts if isinstance(arg, ast.Starred) else [arg]
            for item in items:
                out = out | _value(item, known)
        return out
    raise ValueError(f"unexpected expression {ast.dump(node)[:80]}")


def connections(topology: str) -> dict[str, frozenset[tuple[int, int]]]:
    """{SET_NAME: frozenset of (i, j) landmark index pairs} of one topology: face_mesh, hand or pose."""
    from blazeforge.zoo import wheel_path

    if topology not in MODULES:
        raise BlazeforgeError(f"topology {topology!r}", f"expected one of {sorted(MODULES)}")
    with zipfile.ZipFile(wheel_path()) as wheel:
        source = wheel.read(f"mediapipe/python/solutions/{MODULES[topology]}.py").decode()
    known: dict[str, frozenset] = {}
    for statement in ast.parse(source).body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            try:
                known[statement.targets[0].id] = _value(statement.value, known)
            except (ValueError, KeyError, SyntaxError):
                continue  # not a connection set
    return known
