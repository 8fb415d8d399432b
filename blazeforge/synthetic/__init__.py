"""Synthetic data: procedural scenes rendered with Blender (bpy, Cycles), labelled by construction.

`kinematics` and `gestures` are pure numpy (posing a hand); `hand_scene` builds and renders a frame
with bpy; `render` shards, resumes and parallelizes the work.
"""
