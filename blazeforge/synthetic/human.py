"""MakeHuman's body as a Blender object: the skin mesh of a posed `makehuman.Body` with its UVs,
textured subsurface skin in a Monk tone (MakeHuman's skin detail map, nails and lips from its
region masks, brows from a vertex attribute), garments on the regions a scene clothes (a sleeve;
or a whole outfit: top, bottom, shoes), eyeballs with an iris, teeth and tongue, hair or a cap on
MakeHuman's hair helper, smooth subdivision; `dress` puts a whole person together. Used by the
scenes.
"""

from __future__ import annotations

import bpy  # first: Blender's own modules (bmesh, mathutils) load with it

# isort: split
from functools import cache

import numpy as np

from blazeforge.synthetic import makehuman
from blazeforge.synthetic.makehuman_face import HEAD_BONES
from blazeforge.synthetic.scene import LUMA, MONK, noise_bump, srgb_to_linear

# Bones whose skin a scene may leave bare; the rest of the body is clothed.
HAND_BONES = ("wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4") + tuple(
    f"finger{i}-{j}" for i in range(1, 6) for j in (1, 2, 3)
)
ALBEDO = 0.6
SATURATION = 2.0
# The head's and neck's bones (bare skin).
FACE_BONES = ("neck",) + HEAD_BONES
SLEEVES = {"none": ("lowerarm01", "lowerarm02", "upperarm02"), "short": ("lowerarm01", "lowerarm02"), "long": ()}


def _socket(sockets, identifier):
    return next(x for x in sockets if x.identifier == identifier)


def _texture(nodes, name: str, colour: bool = False):
    """An image texture node of one of MakeHuman's textures (loaded once per process)."""
    path = makehuman.data_dir() / "textures" / name
    image = bpy.data.images.get(name) or bpy.data.images.load(str(path))
    image.use_fake_user = True
    if not colour:
        image.colorspace_settings.name = "Non-Color"
    node = nodes.new("ShaderNodeTexImage")
    node.image = image
    return node


def skin_albedo(tone: int) -> tuple[float, float, float]:
    """The linear RGB albedo of Monk tone `tone` (1..10). The swatches are skin as photographed, a
    perceptual scale: light skin's albedo is lower (ALBEDO of its swatch at Monk 1, all of it at
    Monk 10) and redder, and every tone's chroma is SATURATION times the swatch's at the same
    luminance, clipped to [0, 1] (Monk 5-8 lose their blue). The swatches alone render light hands
    grey-white as plaster and dark ones as black rubber: MediaPipe's Hands found 67% of Monk 1 hands
    on them, 93% with this chroma."""
    albedo = ALBEDO + (1 - ALBEDO) * (tone - 1) / 9
    color = np.array([c * f * albedo for c, f in zip(srgb_to_linear(MONK[tone - 1]), (1.0, 0.92, 0.88))])
    luma = float(color @ LUMA)
    return tuple(float(c) for c in np.clip(luma + SATURATION * (color - luma), 0.0, 1.0))


def skin_material(tone: int, rng: np.random.Generator, brows: tuple[float, float, float] | None = None):
    """Subsurface skin of Monk tone `tone` (1..10), its albedo varied by MakeHuman's skin detail
    map and a flush noise, creases as bump; nails (paler, glossier) and lips (redder) from MakeHuman's
    region masks; brows (a linear colour) where the mesh's `brow` attribute (`brow_weights`) is."""
    color = skin_albedo(tone)
    mat = bpy.data.materials.new("skin")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]

    def mix(factor, a, b):
        node = nodes.new("ShaderNodeMix")
        node.data_type = "RGBA"
        for key, value in (("A_Color", a), ("B_Color", b)):
            if isinstance(value, tuple):
                _socket(node.inputs, key).default_value = (*value, 1)
            else:
                links.new(value, _socket(node.inputs, key))
        links.new(factor, _socket(node.inputs, "Factor_Float"))
        return _socket(node.outputs, "Result_Color")

    detail = _texture(nodes, "sss.png")
    shade = nodes.new("ShaderNodeMapRange")  # the detail map around its mean: darker creases, lighter ridges
    shade.inputs["From Min"].default_value, shade.inputs["From Max"].default_value = 0.3, 0.65
    shade.inputs["To Min"].default_value, shade.inputs["To Max"].default_value = 0.0, 1.0
    links.new(detail.outputs["Color"], shade.inputs["Value"])
    darker = tuple(c * 0.94 for c in color)
    lighter = tuple(min(1.0, c * 1.04) for c in color)
    base = mix(shade.outputs["Result"], darker, lighter)
    flush = nodes.new("ShaderNodeTexNoise")
    flush.inputs["Scale"].default_value = float(rng.uniform(30, 90))
    flush.inputs["Detail"].default_value = 1.0
    flushed = tuple(c * f for c, f in zip(color, (1.04, 0.8, 0.75)))
    ramp = nodes.new("ShaderNodeMapRange")
    ramp.inputs["From Min"].default_value, ramp.inputs["From Max"].default_value = 0.45, 0.75
    ramp.inputs["To Max"].default_value = float(rng.uniform(0.3, 0.7))
    links.new(flush.outputs["Fac"], ramp.inputs["Value"])
    base = mix(ramp.outputs["Result"], base, flushed)
    lips = _texture(nodes, "mpfb_lips.jpg")
    base = mix(lips.outputs["Color"], base, tuple(c * f for c, f in zip(color, (0.95, 0.6, 0.6))))
    if brows is not None:
        attribute = nodes.new("ShaderNodeAttribute")
        attribute.attribute_name = "brow"
        base = mix(attribute.outputs["Fac"], base, brows)
    nails = _texture(nodes, "mpfb_fingernails.jpg")
    nail = tuple(0.45 * c + 0.55 * p for c, p in zip(color, srgb_to_linear("f2d4cc")))
    links.new(mix(nails.outputs["Color"], base, nail), bsdf.inputs["Base Color"])
    roughness = nodes.new("ShaderNodeMapRange")
    roughness.inputs["To Min"].default_value = float(rng.uniform(0.4, 0.6))
    roughness.inputs["To Max"].default_value = 0.2
    links.new(nails.outputs["Color"], roughness.inputs["Value"])
    links.new(roughness.outputs["Result"], bsdf.inputs["Roughness"])
    bsdf.inputs["Subsurface Weight"].default_value = float(rng.uniform(0.3, 0.6))
    bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
    bsdf.inputs["Subsurface Scale"].default_value = 0.005
    # Creases as bump from the detail map; pores are smaller than a pixel at these sizes (a bump
    # from them only adds sparkle noise), so there are none.
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.15
    bump.inputs["Distance"].default_value = 0.002
    links.new(detail.outputs["Color"], bump.inputs["Height"])
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def cloth_material(rng: np.random.Generator):
    """A garment: a random colour, plain or with stripes, checks or a print, matte with fine weave."""
    mat = bpy.data.materials.new("cloth")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    import colorsys

    colours = [
        srgb_to_linear(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.1, 0.9))) for _ in "ab"
    ]
    pattern = int(rng.integers(4))
    if pattern == 0:
        bsdf.inputs["Base Color"].default_value = (*colours[0], 1)
    else:
        kind = ("ShaderNodeTexWave", "ShaderNodeTexChecker", "ShaderNodeTexVoronoi")[pattern - 1]
        tex = nodes.new(kind)
        tex.inputs["Scale"].default_value = float(rng.uniform(5, 40))
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*colours[0], 1)
        ramp.color_ramp.elements[1].color = (*colours[1], 1)
        fac = tex.outputs["Distance"] if kind == "ShaderNodeTexVoronoi" else tex.outputs["Fac"]
        links.new(fac, ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.6, 0.95))
    bsdf.inputs["Sheen Weight"].default_value = float(rng.uniform(0, 0.5))
    noise_bump(mat, scale=600.0, strength=0.1)  # the weave
    return mat


def in_view(vertices: np.ndarray, fov: float, margin: float = 1.6) -> np.ndarray:
    """[V] True for vertices [V, 3] (world metres, the camera at the origin looking down -Z) in
    front of the camera and within `margin` times its half field of view `fov` (radians)."""
    depth = -vertices[:, 2]
    limit = np.tan(fov / 2) * margin * np.maximum(depth, 1e-6)
    return (depth > 0.02) & (np.abs(vertices[:, 0]) < limit) & (np.abs(vertices[:, 1]) < limit)


def body_object(
    vertices: np.ndarray,
    regions: np.ndarray,
    materials: list,
    subdivide: int = 1,
    keep: np.ndarray | None = None,
    groups: tuple[str, ...] = ("body",),
    name: str = "body",
    attributes: dict[str, np.ndarray] | None = None,
):
    """A Blender mesh object of base.obj's faces in `groups` (the skin: "body") at `vertices` [V, 3]
    (all of base.obj's, world metres), with its UVs; each face takes the material its corners'
    regions [V] (int, indices into `materials`) give, the highest of them (a garment's edge covers
    the skin). keep [V]: only faces with a corner kept (e.g. `in_view`: the camera sees nothing of
    the rest, and smaller meshes render faster). attributes: {name: [V] float} per-vertex values
    that materials read with an Attribute node."""
    data = makehuman.compiled()
    faces = makehuman.group_faces(groups)
    if keep is not None:
        faces = faces[keep[data["faces"][faces]].any(1)]
    quads = data["faces"][faces]
    used, compact = np.unique(quads, return_inverse=True)
    compact = compact.reshape(quads.shape)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(used))
    mesh.vertices.foreach_set("co", vertices[used].astype(np.float32).ravel())
    mesh.loops.add(compact.size)
    mesh.loops.foreach_set("vertex_index", compact.ravel().astype(np.int32))
    mesh.polygons.add(len(quads))
    mesh.polygons.foreach_set("loop_start", np.arange(0, compact.size, 4, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(quads), 4, np.int32))
    uv = mesh.uv_layers.new(name="uv")
    uv.data.foreach_set("uv", data["uvs"][data["face_uvs"][faces]].astype(np.float32).ravel())
    mesh.polygons.foreach_set("material_index", np.asarray(regions)[quads].max(1).astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(quads), bool))
    for key, values in (attributes or {}).items():
        mesh.attributes.new(key, "FLOAT", "POINT").data.foreach_set("value", np.asarray(values, np.float32)[used])
    mesh.update()
    for mat in materials:
        mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    if subdivide:
        sub = obj.modifiers.new("smooth", "SUBSURF")
        sub.levels = sub.render_levels = subdivide
    return obj


def bare_skin(side: str | None, sleeves: str) -> np.ndarray:
    """[V] True where the skin shows: the head and neck, and the hand(s) with the forearm per
    `sleeves` (none | short | long); side None: both arms."""
    bones = [str(b) for b in makehuman.compiled()["bones"] if str(b).startswith(FACE_BONES)]
    for s in ("left", "right") if side is None else (side,):
        suffix = makehuman.SIDES[s][0]
        bones += [f"{b}.{suffix}" for b in HAND_BONES + SLEEVES[sleeves]]
    return makehuman.bone_share(tuple(bones)) > 0.5


# Garments of the whole body by the bones their skin follows; the rest of the body is the top.
BOTTOMS = {
    "shorts": ("root", "spine05", "pelvis", "upperleg01"),
    "knee_length": ("root", "spine05", "pelvis", "upperleg01", "upperleg02"),
    "trousers": ("root", "spine05", "pelvis", "upperleg01", "upperleg02", "lowerleg01", "lowerleg02"),
}
SHOE_BONES = ("foot",) + tuple(f"toe{i}-{j}" for i in range(1, 6) for j in (1, 2, 3))
HAIR_COLOURS = ("1a1410", "2b1d14", "4a3222", "6f4e37", "a67b5b", "d9b380", "8c8c8c", "e6e6e6")  # sRGB


def _sided(bones: tuple[str, ...]) -> tuple[str, ...]:
    """Bone names with both sides' suffixes where the rig has a pair (spine and root as they are)."""
    out = []
    for b in bones:
        if b in ("root", "spine05", "spine04", "head", "jaw") or b.startswith("neck"):
            out.append(b)
        else:
            out += [f"{b}.{suffix}" for suffix, _ in makehuman.SIDES.values()]
    return tuple(out)


def outfit(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, str]]:
    """(regions [V]: 0 skin, 1 top, 2 bottom, 3 shoes; its description): a top with no, short or
    long sleeves, shorts, knee-length or long trousers, shoes or bare feet (one frame in six)."""
    sleeves = ("none", "short", "long")[int(rng.integers(3))]
    bottom = sorted(BOTTOMS)[int(rng.integers(len(BOTTOMS)))]
    shoes = bool(rng.random() > 1 / 6)
    regions = np.ones(len(makehuman.compiled()["vertices"]), np.int32)
    regions[makehuman.bone_share(_sided(BOTTOMS[bottom])) > 0.5] = 2
    lower_legs = set(BOTTOMS["trousers"]) - set(BOTTOMS[bottom])
    regions[makehuman.bone_share(_sided(tuple(lower_legs))) > 0.5] = 0
    regions[bare_skin(None, sleeves)] = 0
    regions[makehuman.bone_share(_sided(SHOE_BONES)) > 0.5] = 3 if shoes else 0
    return regions, {"sleeves": sleeves, "bottom": bottom, "shoes": str(shoes).lower()}


@cache
def brow_weights() -> np.ndarray:
    """[V] 0..1 where the brows are on the rest skin: a band 6 to 16 mm above the eyes' corners,
    from 3 mm inside the inner corner to 8 mm past the outer one, arched, on the front of the head."""
    from blazeforge.synthetic import makehuman_body

    v = makehuman.compiled()["vertices"]
    marks = makehuman_body.landmark_vertices()
    out = np.zeros(len(v), np.float32)
    for side in ("left", "right"):
        inner, outer = v[marks[f"{side}_eye_inner"]], v[marks[f"{side}_eye_outer"]]
        s = np.sign(outer[0])
        x = (s * v[:, 0] - s * inner[0] + 0.003) / (s * outer[0] - s * inner[0] + 0.011)  # 0..1 across the brow
        arch = 0.004 * np.sin(np.clip(x, 0, 1) * np.pi)
        z = v[:, 2] - max(inner[2], outer[2]) - arch
        inside = (x > 0) & (x < 1) & (z > 0.006) & (z < 0.016) & (v[:, 1] < inner[1] + 0.01)
        out[inside] = np.clip(np.minimum(z[inside] - 0.006, 0.016 - z[inside]) / 0.003, 0, 1)
    return out


LASHES = ("helper-l-eyelashes-1", "helper-l-eyelashes-2", "helper-r-eyelashes-1", "helper-r-eyelashes-2")


@cache
def iris_weights(side: str) -> np.ndarray:
    """[V] 1 on the eyeball's vertices within the iris (11.7 mm across) around its most forward
    point at rest, 0 elsewhere (per base.obj vertex; only the side's eye helper is non-zero)."""
    data = makehuman.compiled()
    eye = makehuman._group_vertices()[f"helper-{makehuman.SIDES[side][1]}-eye"]
    v = data["vertices"][eye]
    centre = v.mean(0)
    front = v[np.argmin(v[:, 1])] - centre
    radius = np.linalg.norm(front)
    cos = (v - centre) @ front / radius**2
    out = np.zeros(len(data["vertices"]), np.float32)
    out[eye] = np.clip((cos - np.cos(np.arcsin(0.00585 / radius))) * 40, 0, 1)
    return out


def eye_material(rng: np.random.Generator, iris: str = "iris"):
    """Glossy eyeballs: a white sclera and a brown, hazel, green or blue iris on the vertex attribute
    `iris` (0..1)."""
    mat = bpy.data.materials.new("eye")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    attribute = nodes.new("ShaderNodeAttribute")
    attribute.attribute_name = iris
    colour = ("3b2416", "5a3a1e", "6b5a2e", "4f6a4a", "5d7894")[int(rng.integers(5))]
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    _socket(mix.inputs, "A_Color").default_value = (*srgb_to_linear("c9c0b6"), 1)
    _socket(mix.inputs, "B_Color").default_value = (*srgb_to_linear(colour), 1)
    links.new(attribute.outputs["Fac"], _socket(mix.inputs, "Factor_Float"))
    links.new(_socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.05
    return mat


HAIR_LENGTHS = {"short": 0.70, "bob": 0.62, "long": 0.0}  # the rest mesh's lowest hair, metres above its centre


@cache
def hair_keep(length: str) -> np.ndarray:
    """[V] the hair helper's vertices of a hair `length` (HAIR_LENGTHS), at rest: above its lowest
    height, behind the hairline (the helper's fringe would hang over the face), and below the brows
    only behind the ears' front (its side strips would hang over the cheeks)."""
    from blazeforge.synthetic import makehuman_body

    rest = makehuman.compiled()["vertices"]
    marks = makehuman_body.landmark_vertices()
    ear_front = min(rest[np.asarray(marks[f"{s}_ear"])][:, 1].min() for s in ("left", "right"))
    brow = max(rest[marks[f"{s}_eye_outer"], 2] for s in ("left", "right")) + 0.03
    cheeks = (rest[:, 1] < ear_front) & (rest[:, 2] < brow)
    return (rest[:, 2] > HAIR_LENGTHS[length]) & (rest[:, 1] > -0.125) & ~cheeks


def hair_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A person's hair colour (linear RGB), one of HAIR_COLOURS."""
    return srgb_to_linear(HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))])


def plain_material(colour: tuple[float, float, float], roughness: float):
    """A plain matte-to-glossy surface of one linear colour (lashes)."""
    mat = bpy.data.materials.new("plain")
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*colour, 1)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def hair_material(rng: np.random.Generator, colour: tuple[float, float, float]):
    """Short hair or a cap over MakeHuman's hair helper: the hair colour (sheen, fine streaks), or
    a cloth one frame in four."""
    if rng.random() < 0.25:
        return cloth_material(rng)
    mat = bpy.data.materials.new("hair")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    streaks = nodes.new("ShaderNodeTexWave")
    streaks.inputs["Scale"].default_value = 300.0
    streaks.inputs["Distortion"].default_value = 8.0
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    _socket(mix.inputs, "A_Color").default_value = (*(c * 0.7 for c in colour), 1)
    _socket(mix.inputs, "B_Color").default_value = (*colour, 1)
    links.new(streaks.outputs["Fac"], _socket(mix.inputs, "Factor_Float"))
    links.new(_socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.35, 0.6))
    bsdf.inputs["Sheen Weight"].default_value = 0.5
    return mat


def _eye_vertices(side: str) -> np.ndarray:
    """The base.obj vertices of a side's eye helper in the order `body_object` lays them out."""
    faces = makehuman.compiled()["faces"][makehuman.group_faces((f"helper-{makehuman.SIDES[side][1]}-eye",))]
    return np.unique(faces)


def dress(
    rng: np.random.Generator, tone: int, regions: np.ndarray, vertices: np.ndarray, fov: float, hair_probability: float
) -> list:
    """A person's objects (not linked) at `vertices` [V, 3] (base.obj's, world frame, the camera at
    the origin looking down -Z): the skin in Monk tone `tone` with brows and the garments of
    `regions` (`outfit`), lashes, teeth and tongue, eyeballs with an iris, hair or a cap with
    `hair_probability`; none when the camera sees none of it."""
    keep = in_view(vertices, fov)
    if not keep.any():
        return []
    colour = hair_colour(rng)
    dark = tuple(c * 0.6 for c in colour)
    zeros = np.zeros(len(vertices), np.int32)
    materials = [skin_material(tone, rng, brows=dark)] + [cloth_material(rng) for _ in "tbs"]
    body = body_object(vertices, regions, materials, keep=keep, attributes={"brow": brow_weights()})
    parts = [body, body_object(vertices, zeros, [plain_material(dark, 0.5)], 0, None, LASHES, "lashes")]
    teeth = plain_material(srgb_to_linear("d9d0bd"), 0.25)
    for group in ("helper-upper-teeth", "helper-lower-teeth"):
        parts.append(body_object(vertices, zeros, [teeth], 1, None, (group,), group.removeprefix("helper-")))
    tongue = plain_material(tuple(c * 0.8 for c in srgb_to_linear("b5585a")), 0.4)
    parts.append(body_object(vertices, zeros, [tongue], 1, None, ("helper-tongue",), "tongue"))
    for side in ("left", "right"):
        group = (f"helper-{makehuman.SIDES[side][1]}-eye",)
        eye = body_object(vertices, zeros, [eye_material(rng)], 2, None, group, f"eye_{side}")
        iris = eye.data.attributes.new("iris", "FLOAT", "POINT")
        iris.data.foreach_set("value", iris_weights(side)[_eye_vertices(side)])
        parts.append(eye)
    if rng.random() < hair_probability:
        length = sorted(HAIR_LENGTHS)[int(rng.integers(len(HAIR_LENGTHS)))]
        parts.append(
            body_object(vertices, zeros, [hair_material(rng, colour)], 1, hair_keep(length), ("helper-hair",), "hair")
        )
    return parts
