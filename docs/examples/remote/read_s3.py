"""Read a .mla file from S3 (or any S3-compatible store, e.g. MinIO)."""

import os

from mlarray import MLArray
from mlarray.errors import ReadOnlyError

BUCKET_URL = os.environ.get("SCAN_S3_URL", "s3://my-bucket/ct/case_0001.mla")
# fsspec's options for s3fs: credentials, endpoint, region (None: the usual AWS
# configuration: environment variables, ~/.aws, instance roles).
OPTIONS = {
    "endpoint_url": os.environ.get("S3_ENDPOINT_URL"),
    "client_kwargs": {"region_name": "us-east-1"},
}


def main() -> None:
    image = MLArray.open(BUCKET_URL, storage_options=OPTIONS)
    print(image.shape, image.spacing)
    print(image.read_patches([[0, 0, 0]], 8).mean())
    try:
        image[0, 0, 0] = 1
    except ReadOnlyError as error:  # remote files are read-only
        print(type(error).__name__)


if __name__ == "__main__":
    main()
