"""TFLite model metadata, the part of it MediaPipe Tasks reads, written into a .tflite.

MediaPipe Tasks feed a float input only as the model's metadata says (its NormalizationOptions:
x' = (x - mean) / std on 0..255 pixels), so a bare .tflite does not load in them. `with_metadata`
adds the metadata MediaPipe's own files carry: the model's name, description, version, author and
license; the input image (RGB, its normalization and value range); each output by name. It is
written with the `flatbuffers` package by the published schema, `metadata_schema.fbs` in
MediaPipe (file identifier "M001", min_parser_version 1.0.0); the metadata buffer is appended to the
model's buffers under the name TFLITE_METADATA (the TFLite schema's `Model.metadata`), by LiteRT's
generated TFLite schema. Field slots below are the tables' field order in metadata_schema.fbs; a
union takes two slots, its type then its value.

    data = with_metadata(Path("hand_landmarks_fp32.tflite").read_bytes(), ModelInfo(
        name="hand_landmarks", description="...", input_range=(0.0, 1.0), outputs=("landmarks", ...)))
"""

from __future__ import annotations

from dataclasses import dataclass

import flatbuffers
import numpy as np

METADATA_NAME = b"TFLITE_METADATA"
FILE_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"
# Union members and enum values of metadata_schema.fbs.
FEATURE_PROPERTIES, IMAGE_PROPERTIES = 1, 2  # ContentProperties
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions
RGB = 1  # ColorSpaceType


@dataclass(frozen=True)
class ModelInfo:
    """What the metadata says of one model: its input's value range (float32 input in
    [low, high] from 0..255 pixels) and its output names in the file's output order."""

    name: str
    description: str
    input_range: tuple[float, float]
    outputs: tuple[str, ...]
    version: str = "1"
    author: str = "blazeforge"
    license: str = "Apache-2.0"


def normalization(input_range: tuple[float, float]) -> tuple[float, float]:
    """(mean, std) with (pixel - mean) / std mapping 0..255 onto [low, high]."""
    low, high = (float(v) for v in input_range)
    std = 255.0 / (high - low)
    return -low * std, std


def _table(builder: flatbuffers.Builder, fields: list[tuple[int, str, object]]) -> int:
    """A table of (slot, kind, value) fields: kind "offset" (a made object) or "byte"."""
    builder.StartObject(max((slot for slot, _, _ in fields), default=-1) + 1)
    for slot, kind, value in fields:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        else:
            builder.PrependUint8Slot(slot, value, 0)
    return builder.EndObject()


def _vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _floats(builder: flatbuffers.Builder, values: list[float]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependFloat32(value)
    return builder.EndVector()


def metadata_buffer(info: ModelInfo) -> bytes:
    """The ModelMetadata flatbuffer ("M001") of one model with one subgraph."""
    b = flatbuffers.Builder(1024)
    mean, std = normalization(info.input_range)
    norm = _table(b, [(0, "offset", _floats(b, [mean])), (1, "offset", _floats(b, [std]))])
    unit = _table(b, [(0, "byte", NORMALIZATION_OPTIONS), (1, "offset", norm)])
    image = _table(b, [(0, "byte", RGB)])
    content = _table(b, [(0, "byte", IMAGE_PROPERTIES), (1, "offset", image)])
    stats = _table(
        b,
        [
            (0, "offset", _floats(b, [float(info.input_range[1])])),
            (1, "offset", _floats(b, [float(info.input_range[0])])),
        ],
    )
    name, description = b.CreateString("image"), b.CreateString("RGB image")
    inputs = [
        _table(
            b,
            [
                (0, "offset", name),
                (1, "offset", description),
                (3, "offset", content),
                (4, "offset", _vector(b, [unit])),
                (5, "offset", stats),
            ],
        )
    ]
    outputs = []
    for output in info.outputs:
        feature = _table(b, [(0, "byte", FEATURE_PROPERTIES), (1, "offset", _table(b, []))])
        outputs.append(_table(b, [(0, "offset", b.CreateString(output)), (3, "offset", feature)]))
    subgraph = _table(b, [(2, "offset", _vector(b, inputs)), (3, "offset", _vector(b, outputs))])
    strings = {slot: b.CreateString(text) for slot, text in ((0, info.name), (1, info.description), (2, info.version))}
    author, license_, parser = (b.CreateString(t) for t in (info.author, info.license, MIN_PARSER_VERSION))
    model = _table(
        b,
        [
            *((slot, "offset", offset) for slot, offset in strings.items()),
            (3, "offset", _vector(b, [subgraph])),
            (4, "offset", author),
            (5, "offset", license_),
            (7, "offset", parser),
        ],
    )
    b.Finish(model, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def with_metadata(flatbuffer: bytes, info: ModelInfo) -> bytes:
    """The .tflite flatbuffer with `info`'s metadata in place of any TFLITE_METADATA it had."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    data = np.frombuffer(metadata_buffer(info), dtype=np.uint8)
    entry = next((m for m in model.metadata or [] if m.name == METADATA_NAME), None)
    if entry is None:
        model.buffers.append(schema.BufferT())
        entry = schema.MetadataT()
        entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]
    model.buffers[entry.buffer].data = data
    builder = flatbuffers.Builder(len(flatbuffer) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_metadata(flatbuffer: bytes) -> bytes | None:
    """The TFLITE_METADATA buffer of a .tflite (None where it has none)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == METADATA_NAME:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None
