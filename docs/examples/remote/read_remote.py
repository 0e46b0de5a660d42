"""Read a remote .mla file: its header with range requests, then only the blocks a read touches."""

import os

import mlarray_meta
from mlarray import BlockCache, MLArray

# Any http(s)://, s3://, gs:// or other fsspec URL of a .mla file.
URL = os.environ.get("SCAN_URL", "https://data.example.org/ct/case_0001.mla")


def main() -> None:
    # The header alone, with the standard library (no numpy, blosc2 or fsspec needed):
    header = mlarray_meta.read_header(URL)
    print(header.shape, header.dtype, header.meta.spatial.spacing)

    # The array: opening reads the header (one or two range requests); each read
    # then fetches only the blocks it touches. The cache keeps them on local disk.
    image = MLArray.open(URL, cache=BlockCache("mla-cache", max_bytes=2**30))
    patches = image.read_patches([[0, 0, 0], [4, 8, 8]], 8)
    print(patches.shape, patches.dtype)
    print(image[2, 10:14, 20])  # basic indexing works as for a local file

    image.save("local-copy.mla")  # downloads the file once, then stores the metadata
    assert (MLArray.open("local-copy.mla")[...] == image[...]).all()


if __name__ == "__main__":
    main()
