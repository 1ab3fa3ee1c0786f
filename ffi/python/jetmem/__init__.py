"""In-process memory tracing with jetmem, over ctypes (nothing to compile).

    import jetmem
    with jetmem.trace("run.jmt", interval="5ms", label="edgetam") as t:
        for frame in frames:
            with t.phase("inference"):
                model(frame)
            t.mark("frame")
            jetmem.torch_allocator(t)   # PyTorch's own figures, when torch is in use
    report = t.summary()                # the `jetmem report --format json` dict

Module-level jetmem.mark(), phase() (a context manager and a decorator),
record_allocator() and torch_allocator() go to the program's own tracer if it
started one, else to the marker channel of the `jetmem record` it runs under
(JETMEM_CHANNEL), else nowhere. jetmem.watch_torch() pushes PyTorch's figures
periodically; jetmem.load() reads a trace's report.

The library (libjetmem.so) is found through the JETMEM_LIB environment
variable (a file path), then next to this module, then the system loader.
Every failure raises jetmem.Error with the C status code in .code.
The C contract is in ffi/README.md.
"""

import atexit
import contextlib
import ctypes
import ctypes.util
import json
import os
import re
import subprocess
import sys
import threading

from ._libpath import candidates as _candidates

__all__ = [
    "Error",
    "Tracer",
    "trace",
    "mark",
    "phase",
    "record_allocator",
    "torch_allocator",
    "current",
    "attached",
    "watch_torch",
    "load",
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
NOT_RECORDING = 11
EXISTS = 12
FORKED = 13

#: The environment variable `jetmem record` names its marker channel in.
CHANNEL_ENV = "JETMEM_CHANNEL"

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
        "jetmem_attach": (status, [ctypes.POINTER(p)]),
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

    def summary(self):
        """The report of this trace, as ``jetmem report --format json`` prints it
        (a dict); stops the tracer first if it still runs."""
        self.close()
        return load(self.path)

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


class _Attached(Tracer):
    """The marker channel of the `jetmem record` this process runs under. Its
    records go into the recorder's trace with this process's pid. A full
    channel drops the record (the trace counts it); nothing here raises for
    that or blocks, also after the recorder has gone."""

    def __init__(self):  # noqa: super().__init__ starts a tracer; this attaches
        lib = _get_lib()
        handle = ctypes.c_void_p()
        _check(lib.jetmem_attach(ctypes.byref(handle)), "attaching to jetmem record")
        self._lib = lib
        self._handle = handle
        self.path = None

    def mark(self, label, kind="instant"):
        try:
            super().mark(label, kind)
        except Error as e:
            if e.code not in (QUEUE_FULL, ALREADY_STOPPED):
                raise

    def record_allocator(self, allocated=None, reserved=None, peak_allocated=None,
                         peak_reserved=None, device=0):
        try:
            super().record_allocator(allocated, reserved, peak_allocated, peak_reserved,
                                     device)
        except Error as e:
            if e.code not in (QUEUE_FULL, ALREADY_STOPPED):
                raise

    def summary(self):
        raise Error(INVALID_ARGUMENT, "the recorder writes this trace; use jetmem.load(path)")

    def stop(self):
        _check(self._lib.jetmem_tracer_stop(self._handle))

    @property
    def running(self):
        return True

    def close(self):
        pass


_attached = None
_attached_lock = threading.Lock()


def attached():
    """The handle on the recorder's marker channel, or None when this process
    does not run under `jetmem record` (or the channel cannot be mapped). The
    handle stays valid in children made by fork; a spawned child attaches anew."""
    global _attached
    if CHANNEL_ENV not in os.environ:
        return None
    if _attached is None:
        with _attached_lock:
            if _attached is None:
                try:
                    _attached = _Attached()
                except (Error, OSError):
                    _attached = False
    return _attached or None


def _sink():
    """Where module-level calls go: the program's own tracer, else the recorder's channel."""
    t = current()
    return t if t is not None else attached()


def mark(label, kind="instant"):
    """Marks on the current tracer, else on `jetmem record`'s channel; else does nothing."""
    t = _sink()
    if t is not None:
        t.mark(label, kind)


@contextlib.contextmanager
def phase(label):
    """A phase on the current tracer, else on `jetmem record`'s channel; else nothing.
    A context manager (``with jetmem.phase("load"):``) and a decorator
    (``@jetmem.phase("load")``)."""
    t = _sink()
    if t is None:
        yield None
    else:
        with t.phase(label):
            yield t


def record_allocator(allocated=None, reserved=None, peak_allocated=None, peak_reserved=None,
                     device=0):
    """Allocator figures on the current tracer, else on `jetmem record`'s channel."""
    t = _sink()
    if t is not None:
        t.record_allocator(allocated, reserved, peak_allocated, peak_reserved, device)


def torch_allocator(t=None, device=None):
    """Pushes torch.cuda.memory_allocated/reserved and their max_* for ``device``
    (default: the current CUDA device) to tracer ``t`` (default: the current
    tracer, else `jetmem record`'s channel).

    Never imports torch: the figures are read only when ``torch`` is already in
    ``sys.modules`` and its CUDA is initialised. Returns True when figures were
    pushed, False otherwise (torch not loaded, CUDA not initialised, or nowhere
    to push)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    cuda = getattr(torch, "cuda", None)
    is_initialized = getattr(cuda, "is_initialized", None)
    if is_initialized is None or not is_initialized():
        return False
    t = t if t is not None else _sink()
    if t is None:
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


class _TorchWatch:
    """A daemon thread pushing torch_allocator() every interval until stop()."""

    def __init__(self, interval_s, device):
        self._stop = threading.Event()
        self._interval_s = interval_s
        self._device = device
        self._thread = threading.Thread(target=self._run, name="jetmem-watch-torch",
                                        daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                torch_allocator(device=self._device)
            except Exception:  # noqa: BLE001 (a watcher must never kill the program)
                pass
            self._stop.wait(self._interval_s)

    def stop(self):
        """Stops the thread after one last push; safe to call twice."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            try:
                torch_allocator(device=self._device)
            except Exception:  # noqa: BLE001
                pass


def watch_torch(interval="100ms", device=None):
    """Starts a daemon thread that pushes PyTorch's allocator figures (as
    torch_allocator()) every ``interval``, so one line replaces a call per
    frame. It never imports torch: it pushes once the program has loaded torch
    and initialised CUDA. Stopped at interpreter exit, or by ``.stop()`` on the
    returned watcher."""
    ns = _interval_ns(interval)
    if ns <= 0:
        raise ValueError(f"bad interval {interval!r}: must be positive")
    w = _TorchWatch(ns / 1e9, device)
    atexit.register(w.stop)
    return w


def load(path, jetmem_bin=None):
    """The report of trace ``path`` as a dict, equal to what
    ``jetmem report --format json PATH`` prints. Runs that command: the
    ``jetmem`` found through ``jetmem_bin``, else the JETMEM_BIN environment
    variable, else PATH. Raises Error(IO_ERROR) when it fails."""
    exe = jetmem_bin or os.environ.get("JETMEM_BIN") or "jetmem"
    try:
        done = subprocess.run([exe, "report", "--format", "json", os.fspath(path)],
                              capture_output=True, check=False)
    except OSError as e:
        raise Error(IO_ERROR, f"cannot run {exe!r}: {e}", "jetmem.load") from e
    if done.returncode != 0:
        raise Error(IO_ERROR, done.stderr.decode("utf-8", "replace").strip(), "jetmem.load")
    return json.loads(done.stdout)


def version():
    """The library's version string ("0.1.0")."""
    return _get_lib().jetmem_version().decode()


# ---------------------------------------------------------------------------
# In-program questions (issue #17): platform(), memory(), under_pressure().
# One call each; the C ABI (ffi/src/query.rs) answers them from one
# process-wide sampler with core::accounting's figures and pressure rule, so a
# program, `jetmem info --json` and a recorded trace agree. Kept in this
# section on purpose (the rest of the module is the tracer).
# ---------------------------------------------------------------------------

import sys as _sys  # noqa: E402

__all__ += ["platform", "memory", "under_pressure"]

_STRING_LEN = 128  # JETMEM_PLATFORM_STRING_LEN
_ARCHITECTURES = ("unified", "discrete", "cpu-only")
_GPU_SOURCES = (None, "meminfo-nvmap", "nvmap-total", "nvmap-clients", "cuda", "nvml")


class _Platform(ctypes.Structure):
    _fields_ = [("architecture", ctypes.c_uint32)] + [
        (name, ctypes.c_char * _STRING_LEN)
        for name in ("model", "soc", "l4t", "jetpack", "cuda_device", "kernel")
    ] + [("page_size", ctypes.c_uint32)]


class _Memory(ctypes.Structure):
    _fields_ = [
        ("architecture", ctypes.c_uint32),
        ("total_bytes", ctypes.c_uint64),
        ("used_bytes", ctypes.c_uint64),
        ("used_tegrastats_bytes", ctypes.c_uint64),
        ("available_bytes", ctypes.c_uint64),
        ("free_bytes", ctypes.c_uint64),
        ("swap_used_bytes", ctypes.c_uint64),
        ("swap_is_zram", ctypes.c_uint32),
        ("gpu_source", ctypes.c_uint32),
        ("gpu_used_bytes", ctypes.c_uint64),
        ("gpu_subset_of_system", ctypes.c_uint32),
        ("cpu_os_used_bytes", ctypes.c_uint64),
        ("cuda_device_used_bytes", ctypes.c_uint64),
        ("cuda_device_free_bytes", ctypes.c_uint64),
        ("cuda_device_total_bytes", ctypes.c_uint64),
    ]


_query_declared = False


def _query_lib():
    global _query_declared
    lib = _get_lib()
    if not _query_declared:
        args = [ctypes.c_char_p, ctypes.c_uint32]
        lib.jetmem_platform_query.argtypes = args + [ctypes.POINTER(_Platform)]
        lib.jetmem_memory_query.argtypes = args + [ctypes.POINTER(_Memory)]
        lib.jetmem_under_pressure.argtypes = args + [ctypes.POINTER(ctypes.c_int32)]
        for f in (lib.jetmem_platform_query, lib.jetmem_memory_query, lib.jetmem_under_pressure):
            f.restype = ctypes.c_int32
        _query_declared = True
    return lib


def _query_args(root, cuda):
    return (None if root is None else _cstr(os.fspath(root), "root"), 0 if cuda else FLAG_NO_CUDA)


def _known(v):
    return None if v == UNKNOWN else v


def platform(root=None, cuda=True):
    """This machine, with the keys of ``jetmem info --json``: ``architecture``
    ("unified", "discrete", "cpu-only") and ``model``, ``soc``, ``l4t``,
    ``jetpack``, ``cuda_device``, ``kernel``, ``page_size`` (None when unknown).
    ``cuda=False`` never loads the CUDA driver; ``root`` reads recorded device
    files instead of "/"."""
    p = _Platform()
    _check(_query_lib().jetmem_platform_query(*_query_args(root, cuda), ctypes.byref(p)),
           "platform")
    out = {"architecture": _ARCHITECTURES[p.architecture]}
    for name in ("model", "soc", "l4t", "jetpack", "cuda_device", "kernel"):
        out[name] = getattr(p, name).decode("utf-8", "replace") or None
    out["page_size"] = p.page_size or None
    return out


def _torch_figures():
    """torch's allocator figures, only when torch is already imported and its
    CUDA is initialized (this never imports torch nor creates a context)."""
    torch = _sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not cuda.is_available() or not cuda.is_initialized():
        return None
    dev = cuda.current_device()
    return {
        "device": dev,
        "allocated_bytes": cuda.memory_allocated(dev),
        "reserved_bytes": cuda.memory_reserved(dev),
        "max_allocated_bytes": cuda.max_memory_allocated(dev),
        "max_reserved_bytes": cuda.max_memory_reserved(dev),
    }


def memory(root=None, cuda=True):
    """Memory now, with the keys of ``jetmem info --json``'s figures (bytes,
    None when unknown): ``system`` (``total_bytes``, ``used_bytes`` =
    MemTotal - MemAvailable, ``used_tegrastats_bytes`` = MemTotal - MemFree -
    Buffers - Cached as tegrastats/jtop show, ``available_bytes``,
    ``free_bytes``, ``swap_used_bytes``, ``swap_is_zram``), ``gpu``
    (``used_bytes``, ``source``, ``subset_of_system``: never add it to used on
    Jetson, ``cpu_os_used_bytes``), ``cuda`` (``device_used_bytes``,
    ``device_free_bytes``, ``device_total_bytes``) and ``torch`` (the
    allocator's figures when torch is loaded with CUDA initialized, else None)."""
    m = _Memory()
    _check(_query_lib().jetmem_memory_query(*_query_args(root, cuda), ctypes.byref(m)), "memory")
    return {
        "architecture": _ARCHITECTURES[m.architecture],
        "system": {
            "total_bytes": _known(m.total_bytes),
            "used_bytes": _known(m.used_bytes),
            "used_tegrastats_bytes": _known(m.used_tegrastats_bytes),
            "available_bytes": _known(m.available_bytes),
            "free_bytes": _known(m.free_bytes),
            "swap_used_bytes": _known(m.swap_used_bytes),
            "swap_is_zram": bool(m.swap_is_zram),
        },
        "gpu": {
            "used_bytes": _known(m.gpu_used_bytes),
            "source": _GPU_SOURCES[m.gpu_source],
            "subset_of_system": bool(m.gpu_subset_of_system),
            "cpu_os_used_bytes": _known(m.cpu_os_used_bytes),
        },
        "cuda": {
            "device_used_bytes": _known(m.cuda_device_used_bytes),
            "device_free_bytes": _known(m.cuda_device_free_bytes),
            "device_total_bytes": _known(m.cuda_device_total_bytes),
        },
        "torch": _torch_figures(),
    }


def under_pressure(root=None, cuda=True):
    """True when available memory is under 20 % of MemTotal, and stays True
    until it is back above 25 %: the recorder's rule with its hysteresis
    (docs/accounting.md §8), one state kept across calls in the library."""
    out = ctypes.c_int32(0)
    _check(_query_lib().jetmem_under_pressure(*_query_args(root, cuda), ctypes.byref(out)),
           "under_pressure")
    return bool(out.value)
