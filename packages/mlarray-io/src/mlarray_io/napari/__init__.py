"""The napari plugin of mlarray-io (``mlarray-io[napari]``), named ``mlarray-io``.

Its npe2 manifest (``napari.yaml``) is found through the ``napari.manifest``
entry point. The reader opens ``.mla`` files lazily: layers hold a
:class:`LazyVolume` that decodes only the slices napari shows. The writers save
image and labels layers as ``.mla`` files.
"""

from __future__ import annotations

from mlarray_io.napari._lazy import LazyVolume
from mlarray_io.napari._reader import get_reader, read_layers
from mlarray_io.napari._writer import write_image, write_labels

__all__ = ["LazyVolume", "get_reader", "read_layers", "write_image", "write_labels"]
