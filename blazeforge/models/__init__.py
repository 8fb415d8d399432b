"""Keras 3 layers and backbones (BlazeBlock and friends). No data code."""
