"""Read a file's header and metadata with mlarray-meta alone (no numpy, no blosc2)."""

from mlarray_meta import Meta, read_header


def describe(path: str) -> Meta:
    """What a catalogue service does: read the header, never the voxels."""
    header = read_header(path)  # parses the frame's header and trailer only
    print(header.shape, header.dtype)  # (48, 64, 64) <i2
    print(header.chunk_size, header.block_size)
    print(header.meta.spatial.spacing, header.meta.source["site"])  # [2.5, 0.8, 0.8] A

    # A full Meta: inspect it, or build an edited record from it.
    record = Meta.from_mapping(header.meta.to_mapping())
    record.extra["catalogued"] = True
    return record


if __name__ == "__main__":
    # A sample file written with mlarray-core; the function above does not need it.
    import numpy as np

    from mlarray import MLArray

    image = MLArray(np.zeros((48, 64, 64), np.int16), spacing=[2.5, 0.8, 0.8], meta={"site": "A"})
    image.save("scan.mla")
    print(describe("scan.mla").to_plain()["extra"])  # {'catalogued': True}
