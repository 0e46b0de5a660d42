"""Print the chunk and block shapes ``mlarray`` 0.0.54 gives arrays, as JSON.

Run by the interpreter that has ``mlarray==0.0.54`` installed, not by pytest:

    python legacy_layouts.py '[[shape, itemsize, patch], ...]'

Prints ``[[chunks, blocks], ...]`` from ``MLArray.comp_blosc2_params`` with every
axis spatial, as 0.0.54 lays out an array without axis labels.
"""

from __future__ import annotations

import json
import sys

from mlarray import MLArray

if __name__ == "__main__":
    cases = json.loads(sys.argv[1])
    layouts = [
        MLArray.comp_blosc2_params(shape, patch, [True] * len(shape), bytes_per_pixel=itemsize)
        for shape, itemsize, patch in cases
    ]
    print(json.dumps(layouts))
