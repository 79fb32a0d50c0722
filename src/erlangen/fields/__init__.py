"""Field types: how a group acts on tensors of a given layout.

Families add their own types (irreps features, multivectors) by subclassing
:class:`FieldType`; the checker works with any of them.
"""

from .base import FieldType, FieldTypeError, sampling
from .graph import EdgeField, EdgeIndexField, GraphField, NodeField
from .image import (
    GroupImageField,
    ImageField,
    disk_mask,
    radial_taper,
    rotate_image,
    rotate_images,
    transform_image,
)
from .irreps import IrrepsField
from .points import PositionField
from .vector import InvariantField, VectorField, act_on_channels, invariant

__all__ = [
    "EdgeField",
    "EdgeIndexField",
    "FieldType",
    "FieldTypeError",
    "GraphField",
    "GroupImageField",
    "ImageField",
    "InvariantField",
    "IrrepsField",
    "NodeField",
    "PositionField",
    "VectorField",
    "act_on_channels",
    "disk_mask",
    "invariant",
    "radial_taper",
    "rotate_image",
    "rotate_images",
    "sampling",
    "transform_image",
]
