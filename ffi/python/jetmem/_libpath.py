"""Where libjetmem.so is looked up, in order.

1. ``JETMEM_LIB`` (a file path): always wins when set.
2. The library bundled next to this file: the wheel (``pip install jetmem``)
   puts ``libjetmem.so`` inside the ``jetmem`` package.
3. The system loader (``ctypes.util.find_library("jetmem")``, then the bare
   name): the .deb installs ``/usr/lib/libjetmem.so``.
"""

import ctypes.util
import os

LIB_NAME = "libjetmem.so"


def bundled():
    """The path of the library shipped inside this package (it may not exist)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), LIB_NAME)


def candidates():
    """The paths to try, best first."""
    env = os.environ.get("JETMEM_LIB")
    if env:
        yield env
        return
    here = bundled()
    if os.path.exists(here):
        yield here
    found = ctypes.util.find_library("jetmem")
    yield found or LIB_NAME
