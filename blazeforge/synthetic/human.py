"""MakeHuman's body as a Blender object: the skin mesh of a posed `makehuman.Body` with its UVs,
textured subsurface skin in a Monk tone (MakeHuman's skin detail map, nails and lips from its
region masks), garments on the regions a scene clothes, smooth subdivision. Used by the scenes.
"""

from __future__ import annotations

import bpy  # first: Blender's own modules (bmesh, mathutils) load with it

# isort: split
import numpy as np

from blazeforge.synthetic import makehuman
from blazeforge.synthetic.scene import MONK, noise_bump, srgb_to_linear

# Bones whose skin a scene may leave bare; the rest of the body is clothed.
HAND_BONES = ("wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4") + tuple(
    f"finger{i}-{j}" for i in range(1, 6) for j in (1, 2, 3)
)
ALBEDO = 0.6
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


def skin_material(tone: int, rng: np.random.Generator):
    """Subsurface skin of Monk tone `tone` (1..10), its albedo varied by MakeHuman's skin detail
    map and a flush noise, creases as bump; nails (paler, glossier) and lips (redder) from MakeHuman's
    region masks."""
    # The swatches are skin as photographed; light skin's albedo is lower (0.6 of its swatch at Monk 1,
    # all of it at Monk 10) and redder.
    albedo = ALBEDO + (1 - ALBEDO) * (tone - 1) / 9
    color = tuple(c * f * albedo for c, f in zip(srgb_to_linear(MONK[tone - 1]), (1.0, 0.92, 0.88)))
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
    vertices: np.ndarray, bare: np.ndarray, materials: list, subdivide: int = 1, keep: np.ndarray | None = None
):
    """A Blender mesh object of base.obj's skin faces ("body" group) at `vertices` [V, 3] (all of
    base.obj's, world metres); faces where `bare` [V] (bool) holds at every corner get material 0
    (skin), the others material 1 (cloth). keep [V]: only faces with a corner kept (e.g. `in_view`:
    the camera sees nothing of the rest, and smaller meshes render faster)."""
    data = makehuman.compiled()
    faces = makehuman.group_faces(("body",))
    if keep is not None:
        faces = faces[keep[data["faces"][faces]].any(1)]
    quads = data["faces"][faces]
    used, compact = np.unique(quads, return_inverse=True)
    compact = compact.reshape(quads.shape)
    mesh = bpy.data.meshes.new("body")
    mesh.vertices.add(len(used))
    mesh.vertices.foreach_set("co", vertices[used].astype(np.float32).ravel())
    mesh.loops.add(compact.size)
    mesh.loops.foreach_set("vertex_index", compact.ravel().astype(np.int32))
    mesh.polygons.add(len(quads))
    mesh.polygons.foreach_set("loop_start", np.arange(0, compact.size, 4, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(quads), 4, np.int32))
    uv = mesh.uv_layers.new(name="uv")
    uv.data.foreach_set("uv", data["uvs"][data["face_uvs"][faces]].astype(np.float32).ravel())
    clothed = ~bare[quads].all(1)
    mesh.polygons.foreach_set("material_index", clothed.astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(quads), bool))
    mesh.update()
    for mat in materials:
        mesh.materials.append(mat)
    obj = bpy.data.objects.new("body", mesh)
    if subdivide:
        sub = obj.modifiers.new("smooth", "SUBSURF")
        sub.levels = sub.render_levels = subdivide
    return obj


def bare_skin(side: str | None, sleeves: str) -> np.ndarray:
    """[V] True where the skin shows: the head and neck, and the hand(s) with the forearm per
    `sleeves` (none | short | long); side None: both arms."""
    bones = ["head", "neck01", "neck02", "neck03", "jaw"]
    for s in ("left", "right") if side is None else (side,):
        suffix = makehuman.SIDES[s][0]
        bones += [f"{b}.{suffix}" for b in HAND_BONES + SLEEVES[sleeves]]
    return makehuman.bone_share(tuple(bones)) > 0.5
