"""In-process memory tracing with jetmem, over ctypes (nothing to compile).

    import jetmem
    with jetmem.trace("run.jmt", interval="5ms", label="edgetam") as t:
        for frame in frames:
            with t.phase("inference"):
                model(frame)
            t.mark("frame")
            jetmem.torch_allocator(t)   # PyTorch's own figures, when torch imports

The library (libjetmem.so) is found through the JETMEM_LIB environment
variable (a file path), then next to this module, then the system loader.
Every failure raises jetmem.Error with the C status code in .code.
The C contract is in ffi/README.md.
"""

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import re
import threading

__all__ = [
    "Error",
    "Tracer",
    "trace",
    "mark",
    "phase",
    "record_allocator",
    "torch_allocator",
    "current",
    "version",
    "UNKNOWN",
]

# Status codes: the numbers are fixed by the C ABI (ffi/src/status.rs).
OK = 0
NULL_PARAMETER = 1
INVALID_UTF8 = 2
INVALID_ARGUMENT = 3
ALREADY_STOPPED = 4
QUEUE_FULL = 5
IO_ERROR = 6
NO_SUCH_PROCESS = 7
BUFFER_TOO_SMALL = 8
PANIC = 9
SAMPLER_ERROR = 10
EXISTS = 11
FORKED = 12

MARK_BEGIN = 0
MARK_END = 1
MARK_INSTANT = 2
_KINDS = {"begin": MARK_BEGIN, "end": MARK_END, "instant": MARK_INSTANT}

FLAG_SYSTEM = 1 << 0
FLAG_NO_CUDA = 1 << 1
FLAG_FORCE = 1 << 2

#: An allocator figure that is not known (UINT64_MAX in C).
UNKNOWN = (1 << 64) - 1

_LIB_NAME = "libjetmem.so"


class Error(Exception):
    """A jetmem call failed. ``code`` is the C status code, ``message`` its text."""

    def __init__(self, code, message, what=None):
        self.code = code
        self.message = message
        text = f"{what}: {message}" if what else message
        super().__init__(f"{text} (jetmem status {code})")


class _Config(ctypes.Structure):
    _fields_ = [
        ("output_path", ctypes.c_char_p),
        ("interval_ns", ctypes.c_uint64),
        ("label", ctypes.c_char_p),
        ("pid", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("root", ctypes.c_char_p),
    ]


def _candidates():
    env = os.environ.get("JETMEM_LIB")
    if env:
        yield env
        return
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIB_NAME)
    if os.path.exists(here):
        yield here
    found = ctypes.util.find_library("jetmem")
    yield found or _LIB_NAME


def _load():
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        _declare(lib)
        return lib
    raise OSError(
        "cannot load the jetmem library (set JETMEM_LIB to libjetmem.so): " + "; ".join(errors)
    )


def _declare(lib):
    status = ctypes.c_int32
    p = ctypes.c_void_p
    u64 = ctypes.c_uint64
    sigs = {
        "jetmem_config_default": (status, [ctypes.POINTER(_Config)]),
        "jetmem_tracer_start": (status, [ctypes.POINTER(_Config), ctypes.POINTER(p)]),
        "jetmem_mark": (status, [p, ctypes.c_uint32, ctypes.c_char_p]),
        "jetmem_record_allocator_device": (status, [p, ctypes.c_uint32, u64, u64, u64, u64]),
        "jetmem_tracer_stop": (status, [p]),
        "jetmem_tracer_markers_lost": (status, [p, ctypes.POINTER(u64)]),
        "jetmem_tracer_free": (None, [p]),
        "jetmem_status_message": (
            status,
            [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)],
        ),
        "jetmem_version": (ctypes.c_char_p, []),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


_lib = None
_lib_lock = threading.Lock()


def _get_lib():
    global _lib
    if _lib is None:
        with _lib_lock:
            if _lib is None:
                _lib = _load()
    return _lib


def _message(code):
    lib = _get_lib()
    n = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(256)
    if lib.jetmem_status_message(code, buf, len(buf), ctypes.byref(n)) != OK:
        return f"unknown jetmem status {code}"
    return buf.value.decode("utf-8", "replace")


def _check(code, what=None):
    if code != OK:
        raise Error(code, _message(code), what)


_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "min": 60_000_000_000}


def _interval_ns(interval):
    """"5ms", "250us", "1s", a number of seconds, or a datetime.timedelta → nanoseconds."""
    if interval is None:
        return 0
    if hasattr(interval, "total_seconds"):
        interval = interval.total_seconds()
    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        return int(round(interval * 1e9))
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|µs|ms|s|min|m)\s*", str(interval))
    if not m:
        raise ValueError(f"bad interval {interval!r}: use e.g. '5ms', '250us', '1s'")
    return int(round(float(m.group(1)) * _UNITS_NS[m.group(2)]))


def _cstr(text, what):
    """str → UTF-8 bytes; bytes pass unchanged (the library checks UTF-8)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    if not isinstance(text, bytes):
        raise TypeError(f"{what} must be str or bytes, not {type(text).__name__}")
    if b"\0" in text:
        raise ValueError(f"{what} contains a NUL byte")
    return text


def _figure(value):
    if value is None:
        return UNKNOWN
    value = int(value)
    if not 0 <= value < UNKNOWN:
        raise ValueError(f"allocator figure out of range: {value}")
    return value


_current = []  # stack of started tracers; the last one is "current"
_current_lock = threading.Lock()


class Tracer:
    """A running in-process tracer. Thread-safe: mark from any thread."""

    def __init__(self, path, interval="10ms", label=None, pid=0, system=False, cuda=True,
                 root=None, force=False):
        lib = _get_lib()
        cfg = _Config()
        _check(lib.jetmem_config_default(ctypes.byref(cfg)))
        cfg.output_path = _cstr(os.fspath(path), "path") if not isinstance(path, bytes) else path
        cfg.interval_ns = _interval_ns(interval)
        cfg.label = None if label is None else _cstr(label, "label")
        cfg.pid = int(pid)
        cfg.flags = ((FLAG_SYSTEM if system else 0) | (0 if cuda else FLAG_NO_CUDA)
                     | (FLAG_FORCE if force else 0))
        cfg.root = None if root is None else _cstr(os.fspath(root), "root")
        handle = ctypes.c_void_p()
        _check(lib.jetmem_tracer_start(ctypes.byref(cfg), ctypes.byref(handle)),
               f"starting a trace into {os.fspath(path)!r}")
        self._lib = lib
        self._handle = handle
        self.path = path
        with _current_lock:
            _current.append(self)

    def mark(self, label, kind="instant"):
        """A marker: kind "instant" (default), "begin" or "end"."""
        k = _KINDS.get(kind)
        if k is None:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, not {kind!r}")
        _check(self._lib.jetmem_mark(self._handle, k, _cstr(label, "label")))

    def begin(self, label):
        """A phase with this label begins."""
        self.mark(label, "begin")

    def end(self, label):
        """The innermost open phase with this label ends."""
        self.mark(label, "end")

    @contextlib.contextmanager
    def phase(self, label):
        """``with t.phase("inference"):`` marks begin and end, also on exceptions."""
        label = _cstr(label, "label")
        self.mark(label, "begin")
        try:
            yield self
        finally:
            self.mark(label, "end")

    def record_allocator(self, allocated=None, reserved=None, peak_allocated=None,
                         peak_reserved=None, device=0):
        """A framework allocator's figures in bytes; None for unknown."""
        _check(self._lib.jetmem_record_allocator_device(
            self._handle, int(device), _figure(allocated), _figure(reserved),
            _figure(peak_allocated), _figure(peak_reserved)))

    def stop(self):
        """Finishes the trace file (end record, flush, close). A second stop
        raises Error(ALREADY_STOPPED); so do mark() and record_allocator()."""
        with _current_lock:
            if self in _current:
                _current.remove(self)
        _check(self._lib.jetmem_tracer_stop(self._handle))

    @property
    def markers_lost(self):
        """Markers and allocator records dropped so far because the queue was full."""
        n = ctypes.c_uint64()
        _check(self._lib.jetmem_tracer_markers_lost(self._handle, ctypes.byref(n)))
        return n.value

    @property
    def running(self):
        return self in _current

    def close(self):
        """Stops the tracer if it still runs; safe to call twice. The C handle
        itself is freed when the object is garbage-collected, so a thread still
        inside mark() (ctypes releases the GIL) never sees it freed."""
        if self.running:
            try:
                self.stop()
            except Error as e:
                # FORKED: a fork's copy of the tracer; the parent finishes the file.
                if e.code not in (ALREADY_STOPPED, FORKED):
                    raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value is not None:
            self._handle = None
            self._lib.jetmem_tracer_free(handle)  # stops first if still running


def _stop_all_at_exit():
    """Finishes the files of tracers still running when Python exits."""
    with _current_lock:
        running = list(_current)
    for t in reversed(running):
        try:
            t.close()
        except Error:
            pass


atexit.register(_stop_all_at_exit)


def trace(path, interval="10ms", label=None, pid=0, system=False, cuda=True, root=None,
          force=False):
    """Starts tracing into ``path``; use as ``with jetmem.trace(...) as t:``.
    An existing file raises Error(EXISTS) unless ``force=True`` (which still
    never replaces anything but a regular file)."""
    return Tracer(path, interval=interval, label=label, pid=pid, system=system, cuda=cuda,
                  root=root, force=force)


def current():
    """The most recently started tracer that is still running, or None."""
    with _current_lock:
        return _current[-1] if _current else None


def mark(label, kind="instant"):
    """Marks on the current tracer; does nothing when no tracer runs."""
    t = current()
    if t is not None:
        t.mark(label, kind)


@contextlib.contextmanager
def phase(label):
    """A phase on the current tracer; does nothing when no tracer runs."""
    t = current()
    if t is None:
        yield None
    else:
        with t.phase(label):
            yield t


def record_allocator(allocated=None, reserved=None, peak_allocated=None, peak_reserved=None,
                     device=0):
    """Allocator figures on the current tracer; does nothing when no tracer runs."""
    t = current()
    if t is not None:
        t.record_allocator(allocated, reserved, peak_allocated, peak_reserved, device)


def torch_allocator(t=None, device=None):
    """Pushes torch.cuda.memory_allocated/reserved and their max_* for ``device``
    (default: the current CUDA device) to tracer ``t`` (default: the current
    tracer). Returns True when figures were pushed, False when torch is missing,
    has no CUDA, or no tracer runs."""
    t = t if t is not None else current()
    if t is None:
        return False
    try:
        import torch  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return False
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not cuda.is_available():
        return False
    dev = cuda.current_device() if device is None else int(device)
    t.record_allocator(
        cuda.memory_allocated(dev),
        cuda.memory_reserved(dev),
        cuda.max_memory_allocated(dev),
        cuda.max_memory_reserved(dev),
        device=dev,
    )
    return True


def version():
    """The library's version string ("0.1.0")."""
    return _get_lib().jetmem_version().decode()
