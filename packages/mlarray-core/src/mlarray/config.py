"""Process-wide settings of mlarray.

Attributes:
    write_legacy_metadata: Also store the metadata entry that the ``mlarray``
        0.0.54 package reads (a pickle of plain builtins, vlmeta key
        ``"mlarray"``), so users still on that package can open new files. Set
        it to False to write only the JSON envelope. Reading never depends on it.
"""

from __future__ import annotations

write_legacy_metadata: bool = True
