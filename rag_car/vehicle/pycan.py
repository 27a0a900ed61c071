"""python-can, imported without its eager MF4 dependency: ``import can`` in ~0.2 s instead of ~1.4 s.

python-can 4.6 imports asammdf (and with it pandas and sympy) as soon as ``can`` is imported,
only to support MF4 files. That second of start-up would make `rag-car decode` and `monitor`
slow for everybody, so the first import of ``can`` goes through :func:`import_can`, which hides
asammdf for the duration of that import. :func:`enable_mf4` brings MF4 support back on demand
(the log readers call it for ``.mf4`` files).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType


def import_can() -> ModuleType:
    """The ``can`` module; when it is not imported yet, import it without asammdf."""
    if "can" in sys.modules:
        return sys.modules["can"]
    hide = "asammdf" not in sys.modules
    if hide:
        sys.modules["asammdf"] = None  # type: ignore[assignment]  # makes `import asammdf` raise ImportError
    try:
        import can
    finally:
        if hide and sys.modules.get("asammdf") is None:
            del sys.modules["asammdf"]
    return can


def enable_mf4() -> bool:
    """Make python-can's MF4Reader/MF4Writer usable; False when asammdf is not installed.

    Re-running ``can.io.mf4`` in its own namespace rebinds the names its classes look up,
    so ``can.io.MF4Reader`` and ``can.LogReader`` work afterwards.
    """
    import_can()
    import can.io.mf4 as mf4

    if mf4.asammdf is not None:
        return True
    if importlib.util.find_spec("asammdf") is None:
        return False
    reader, writer = mf4.MF4Reader, mf4.MF4Writer
    importlib.reload(mf4)
    # keep the class objects that can.io and can.LogReader already refer to
    mf4.MF4Reader, mf4.MF4Writer = reader, writer
    return mf4.asammdf is not None
