"""Edit the metadata of an ``.mla`` file in place with ``mlarray`` 0.0.54.

Run by the interpreter that has ``mlarray==0.0.54`` installed, not by pytest:

    python legacy_edit.py FILE KEY VALUE

Opens FILE with ``mmap_mode='r+'``, sets ``meta.source[KEY] = VALUE``, multiplies
the first row of the array by 2, closes, and prints the resulting
``Meta.to_mapping()`` as JSON (as 0.0.54 reads it back).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlarray import MLArray

if __name__ == "__main__":
    path, key, value = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    image = MLArray.open(path, mmap_mode="r+")
    image.meta.source[key] = value
    image[0] = image[0] * 2
    image.close()
    print(json.dumps(MLArray.open(path).meta.to_mapping()))
