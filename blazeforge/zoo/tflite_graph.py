"""Read a .tflite file as a list of operators with their options and float32 weights.

The importer (`zoo.importer`) copies these weights into our Keras models; nothing here builds a
model from the graph. Structure and options come from the flatbuffer (LiteRT's generated schema),
constant values from a LiteRT interpreter run once without delegates, so that weights stored as
float16 (behind DEQUANTIZE) or sparse (behind DENSIFY) are read as the float32 tensors the
operators consume.

    ops = read_ops(path)
    ops[0].type, ops[0].options, [w.shape for w in ops[0].weights]
    # 'CONV_2D', {'padding': 'SAME', 'stride': 2, 'activation': 'NONE'}, [(24, 5, 5, 3), (24,)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError

# Operators that carry learnt weights, as the importer maps them.
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "PRELU", "TRANSPOSE_CONV")
# Operators that only turn a stored constant into the float32 tensor an operator reads.
_STORAGE = ("DEQUANTIZE", "DENSIFY")


@dataclass
class Op:
    """One operator of the graph, in execution order.

    type: builtin name ("CONV_2D", ...) or the custom op's name.
    options: padding ("SAME" | "VALID"), stride, pool_size, activation (fused: "NONE", "RELU",
        "RELU6", ...), a resize's align_corners and half_pixel_centers, a PAD's paddings
        ([[before, after]] per axis) and DEPTH_TO_SPACE's block_size.
    inputs, outputs: tensor names; input_shapes, output_shapes: their shapes.
    weights: float32 constants among the inputs, in input order (kernel, bias; PReLU's alpha).
    names: the names the original layers gave the weights (for the mapping's sort key).
    """

    index: int
    type: str
    options: dict
    inputs: list[str]
    outputs: list[str]
    input_shapes: list[tuple]
    output_shapes: list[tuple]
    weights: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def layer_index(self, prefix: str) -> int | None:
        """The N of the original Keras layer `prefix_N` (`prefix` alone is 0) named in the weights' names."""
        pattern = re.compile(rf"(?:^|[/;]){prefix}(?:_(\d+))?/")
        for name in self.names:
            m = pattern.search(name)
            if m:
                return int(m.group(1) or 0)
        return None


def _enum_names(enum) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


def read_ops(path: str | Path) -> list[Op]:
    """The operators of the .tflite at `path` (first subgraph), storage ops folded into their readers."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = Path(path)
    try:
        model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
        interpreter = Interpreter(
            model_path=str(path),
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        interpreter.allocate_tensors()
    except (OSError, ValueError, RuntimeError, AttributeError) as e:
        raise BlazeforgeError(path, f"expected a TFLite flatbuffer LiteRT can load ({e})") from None
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()  # computes the DEQUANTIZE / DENSIFY outputs, kept by preserve_all_tensors

    graph = model.subgraphs[0]
    ops_names = _enum_names(schema.BuiltinOperator)
    padding_names = _enum_names(schema.Padding)
    activation_names = _enum_names(schema.ActivationFunctionType)
    buffers = model.buffers
    stored: dict[int, int] = {}  # output tensor of a storage op -> the stored constant
    ops = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = code.customCode.decode() if code.customCode else ops_names.get(builtin, str(builtin))
        if name in _STORAGE:
            stored[op.outputs[0]] = op.inputs[0]
            continue
        options = {}
        raw = vars(op.builtinOptions) if op.builtinOptions is not None else {}
        if "padding" in raw:
            options["padding"] = padding_names[raw["padding"]]
        if "strideW" in raw:
            options["stride"] = int(raw["strideW"])
        if "filterWidth" in raw:
            options["pool_size"] = int(raw["filterWidth"])
        if "halfPixelCenters" in raw:
            options["half_pixel_centers"] = bool(raw["halfPixelCenters"])
            options["align_corners"] = bool(raw["alignCorners"])
        if "blockSize" in raw:
            options["block_size"] = int(raw["blockSize"])
        if "fusedActivationFunction" in raw:
            options["activation"] = activation_names[raw["fusedActivationFunction"]]
        inputs = [i for i in op.inputs if i >= 0]
        weights, names = [], []
        for i in inputs:
            source = stored.get(i, i)
            tensor = graph.tensors[source]
            constant = buffers[tensor.buffer].data is not None and len(buffers[tensor.buffer].data)
            if constant or source != i:
                if tensor.type in (schema.TensorType.INT32, schema.TensorType.INT64):
                    if name in ("PAD", "PADV2"):  # structure, not weights
                        options["paddings"] = interpreter.get_tensor(i).tolist()
                    continue
                weights.append(np.asarray(interpreter.get_tensor(i), np.float32))
                names.append(tensor.name.decode())
        tensors = graph.tensors
        ops.append(
            Op(
                index=len(ops),
                type=name,
                options=options,
                inputs=[tensors[i].name.decode() for i in inputs],
                outputs=[tensors[i].name.decode() for i in op.outputs],
                input_shapes=[tuple(int(d) for d in tensors[i].shape) for i in inputs],
                output_shapes=[tuple(int(d) for d in tensors[i].shape) for i in op.outputs],
                weights=weights if name in WEIGHTED else [],
                names=names if name in WEIGHTED else [],
            )
        )
    return ops


def io_spec(path: str | Path) -> tuple[list[tuple[str, tuple]], list[tuple[str, tuple]]]:
    """([(input name, shape)], [(output name, shape)]) of the model's signature-less graph."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(Path(path).read_bytes(), 0)
    graph = model.subgraphs[0]
    spec = lambda i: (graph.tensors[i].name.decode(), tuple(int(d) for d in graph.tensors[i].shape))  # noqa: E731
    return [spec(i) for i in graph.inputs], [spec(i) for i in graph.outputs]
