"""Load a published .tflite's weights into the Keras model that has its architecture.

The mapping, between the .tflite's weighted operators (CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, PRELU, TRANSPOSE_CONV; read by `tflite_graph.read_ops`, float16 storage
dequantized) and the model's leaf layers that hold weights (Conv2D, DepthwiseConv2D, Dense, PReLU,
Conv2DTranspose; those inside BlazeBlock and InvertedResidual in the order they are called):

1. Both sides are split into groups by the set of model outputs each operator or layer reaches:
   the shared trunk reaches all of them, a head only its own. Output i of the .tflite is output i
   of the Keras model (our models list their outputs in the published file's order), or the
   output made by the layer named `output_names[i]` (`zoo.Output.name`, for dict outputs).
2. Within a group, each operator in execution order takes, among the layers left of its kind
   whose weights have its shapes after the layout change, the one nearest in depth (weighted
   operators, or leaf layers, on the longest path from the input), the first in Keras'
   topological order among equals. A group is mostly a chain (a trunk, a branch), where both
   orders are the order of computation; a side branch (an FPN lateral 1x1) is told from the trunk
   layer of the same shape by its depth, and heads that run side by side differ in shape.
3. The layout changes:
   convolution [O, kh, kw, I] -> [kh, kw, I, O]; depthwise [1, kh, kw, C*M] -> [kh, kw, C, M];
   fully connected [O, I] -> [I, O]; transposed convolution [O, kh, kw, I] -> [kh, kw, O, I];
   PReLU's slopes reshaped to the layer's alpha. A difference in output count, groups or group
   size, or an operator that no layer takes, raises `BlazeforgeError` naming the operator and the
   next layer; nothing is loaded then. Parity (`zoo.parity`) checks the result end to end.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.zoo.tflite_graph import WEIGHTED, io_spec, read_ops

# Keras leaf layer class -> the TFLite operator it exports as.
_KIND = {
    keras.layers.Conv2D: "CONV_2D",
    keras.layers.DepthwiseConv2D: "DEPTHWISE_CONV_2D",
    keras.layers.Dense: "FULLY_CONNECTED",
    keras.layers.PReLU: "PRELU",
    keras.layers.Conv2DTranspose: "TRANSPOSE_CONV",
}


def _kind(layer) -> str | None:
    for cls, kind in _KIND.items():
        if type(layer) is cls:
            return kind
    return None


def _leaves(layer) -> list:
    """The weighted leaf layers of a top-level layer, in the order they were created (= called)."""
    if _kind(layer):
        return [layer]
    return [sub for sub in layer._flatten_layers(include_self=False, recursive=True) if _kind(sub)]


def _keras_groups(model: keras.Model, output_names: list[str] | None) -> dict[frozenset, list]:
    """(weighted leaf layer, depth) of `model` grouped by the set of output indices they reach.

    Output i is the model's i-th output, or the output made by the layer named output_names[i].
    Depth counts the weighted leaves on the longest path from the input, the leaf included.
    """
    made_by = [t._keras_history.operation for t in model.outputs]
    if output_names is None:
        outputs = {id(op): i for i, op in enumerate(made_by)}
    else:
        by_name = {op.name: op for op in made_by}
        missing = [n for n in output_names if n not in by_name]
        if missing or len(output_names) != len(made_by):
            raise BlazeforgeError(
                f"model {model.name}", f"expected outputs made by layers {list(output_names)}, got {sorted(by_name)}"
            )
        outputs = {id(by_name[n]): i for i, n in enumerate(output_names)}
    reach: dict[int, set] = {}
    layers = [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    for layer in reversed(layers):
        r = {outputs[id(layer)]} if id(layer) in outputs else set()
        for node in layer._outbound_nodes:
            r |= reach.get(id(node.operation), set())
        reach[id(layer)] = r
    depths: dict[int, int] = {}

    def depth(tensor) -> int:  # weighted leaves on the longest path from the input to `tensor`
        if id(tensor) not in depths:
            layer, node_index, _ = tensor._keras_history
            inputs = layer._inbound_nodes[node_index].input_tensors
            depths[id(tensor)] = max((depth(t) for t in inputs), default=0) + len(_leaves(layer))
        return depths[id(tensor)]

    groups: dict[frozenset, list] = {}
    for layer in layers:
        start = max((depth(t) for t in layer._inbound_nodes[0].input_tensors), default=0)
        leaves = [(leaf, start + i + 1) for i, leaf in enumerate(_leaves(layer))]
        groups.setdefault(frozenset(reach[id(layer)]), []).extend(leaves)
    return {k: v for k, v in groups.items() if v}


def _tflite_groups(path: Path) -> dict[frozenset, list]:
    """(weighted operator, depth) of the .tflite grouped by the set of graph output indices they reach."""
    ops = read_ops(path)
    outputs = {name: i for i, (name, _) in enumerate(io_spec(path)[1])}
    consumers: dict[str, list] = {}
    for op in ops:
        for name in op.inputs:
            consumers.setdefault(name, []).append(op)
    reach: dict[int, set] = {}
    for op in reversed(ops):
        r = {outputs[n] for n in op.outputs if n in outputs}
        for name in op.outputs:
            for consumer in consumers.get(name, []):
                r |= reach[consumer.index]
        reach[op.index] = r
    depths: dict[str, int] = {}  # tensor -> weighted operators on the longest path from the input
    groups: dict[frozenset, list] = {}
    for op in ops:
        d = max((depths.get(name, 0) for name in op.inputs), default=0) + (op.type in WEIGHTED)
        for name in op.outputs:
            depths[name] = d
        if op.type in WEIGHTED:
            groups.setdefault(frozenset(reach[op.index]), []).append((op, d))
    return groups


def _convert(op, layer) -> list[np.ndarray]:
    """The operator's weights in the layout of `layer.get_weights()`."""
    w = op.weights
    if op.type == "CONV_2D":
        w = [w[0].transpose(1, 2, 3, 0), *w[1:]]
    elif op.type == "DEPTHWISE_CONV_2D":
        _, kh, kw, cm = w[0].shape
        channels = layer.get_weights()[0].shape[2]
        w = [w[0].reshape(kh, kw, channels, cm // channels), *w[1:]]
    elif op.type == "FULLY_CONNECTED":
        w = [w[0].T, *w[1:]]
    elif op.type == "TRANSPOSE_CONV":
        w = [w[0].transpose(1, 2, 0, 3), *w[1:]]
    elif op.type == "PRELU":
        w = [w[0].reshape(layer.get_weights()[0].shape)]
    return w


def _shapes(arrays) -> list[tuple]:
    return [tuple(a.shape) for a in arrays]


def _first_match(op, depth: int, candidates: list):
    """Of the (layer, depth) candidates of the operator's kind whose weights take the operator's,
    the one nearest in depth (the first of equals), with the converted weights."""
    best = None
    for layer, layer_depth in candidates:
        if _kind(layer) != op.type:
            continue
        try:
            weights = _convert(op, layer)
        except ValueError:  # the weights do not even reshape into this layer's
            continue
        if _shapes(weights) == _shapes(layer.get_weights()):
            if best is None or abs(layer_depth - depth) < abs(best[2] - depth):
                best = (layer, weights, layer_depth)
    return (None, None, None) if best is None else best


def _describe(op) -> str:
    return f"operator {op.index} {op.type} {[tuple(a.shape) for a in op.weights]}"


def load_tflite_weights(model: keras.Model, path: str | Path, output_names: list[str] | None = None) -> keras.Model:
    """Copy the weights of the .tflite at `path` into `model` (in place; also returned).

    output_names: the names of the layers making the file's outputs, in the file's order (needed
    when the model's outputs are a dict; default: the model's outputs in order).
    Raises BlazeforgeError on any mismatch of output count, group, layer kind or weight shape.
    """
    path = Path(path)
    n_out = len(io_spec(path)[1])
    if n_out != len(model.outputs):
        raise BlazeforgeError(path, f"has {n_out} outputs, the Keras model {model.name} has {len(model.outputs)}")
    ours, theirs = _keras_groups(model, output_names), _tflite_groups(path)
    if set(ours) != set(theirs):
        raise BlazeforgeError(
            path,
            f"its weighted operators reach the outputs in groups {sorted(map(sorted, theirs))}, "
            f"the layers of {model.name} in {sorted(map(sorted, ours))}",
        )
    assignments = []
    for key, layers in ours.items():
        ops = theirs[key]
        if len(ops) != len(layers):
            raise BlazeforgeError(
                path,
                f"has {len(ops)} weighted operators reaching outputs {sorted(key)}, "
                f"{model.name} has {len(layers)} weighted layers there",
            )
        remaining = list(layers)
        for op, depth in ops:
            layer, weights, layer_depth = _first_match(op, depth, remaining)
            if layer is None:
                layer = remaining[0][0]
                raise BlazeforgeError(
                    path,
                    f"{_describe(op)} matches no layer left among the {len(remaining)} "
                    f"reaching outputs {sorted(key)}; next in order: {layer.path} "
                    f"({type(layer).__name__}, weights {_shapes(layer.get_weights())})",
                )
            remaining.remove((layer, layer_depth))
            assignments.append((layer, weights))
    for layer, weights in assignments:
        layer.set_weights(weights)
    return model
