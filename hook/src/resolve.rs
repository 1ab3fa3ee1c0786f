//! How calls reach the hook: its exported `cu*` symbols (programs linked
//! against libcuda), `dlsym` (the CUDA runtime, cudarc and ctypes look the
//! driver up on libcuda's own handle), and `cuGetProcAddress(_v2)` (the CUDA
//! runtime resolves most driver functions through it). Each path hands out
//! the hook's wrapper and remembers the driver's own function, which the
//! wrapper calls. A lookup that finds nothing without the hook finds nothing
//! with it.

use std::ffi::{CStr, c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `CUresult`.
pub type CUresult = std::ffi::c_int;
/// `CUDA_SUCCESS`.
pub const CUDA_SUCCESS: CUresult = 0;
/// `CUDA_ERROR_NOT_FOUND`: returned only if a hooked symbol is called while
/// no driver defines it (a program calling the hook's export without libcuda).
pub const CUDA_ERROR_NOT_FOUND: CUresult = 500;

type DlsymFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void;

/// glibc's `dlsym`, found with `dlvsym` at load.
static REAL_DLSYM: AtomicUsize = AtomicUsize::new(0);

/// Finds glibc's `dlsym` (2.34 moved it from libdl into libc with a new version).
pub fn init() {
    if REAL_DLSYM.load(Ordering::Acquire) != 0 {
        return;
    }
    let old: &CStr = if cfg!(target_arch = "aarch64") {
        c"GLIBC_2.17"
    } else {
        c"GLIBC_2.2.5"
    };
    for version in [c"GLIBC_2.34", old] {
        // SAFETY: dlvsym with static NUL-terminated strings; RTLD_NEXT looks
        // past this library, so it finds glibc's definition, not ours.
        let p = unsafe { libc::dlvsym(libc::RTLD_NEXT, c"dlsym".as_ptr(), version.as_ptr()) };
        if !p.is_null() {
            REAL_DLSYM.store(p as usize, Ordering::Release);
            return;
        }
    }
}

fn real_dlsym() -> Option<DlsymFn> {
    init();
    let p = REAL_DLSYM.load(Ordering::Acquire);
    // SAFETY: a non-zero value is glibc's dlsym, whose signature this is.
    (p != 0).then(|| unsafe { std::mem::transmute::<usize, DlsymFn>(p) })
}

/// The driver's function for hook `i`: the one a lookup handed to the hook,
/// else the next definition after this library (a directly linked libcuda).
pub fn real(i: usize) -> usize {
    let Some(slot) = crate::REAL.get(i) else {
        return 0;
    };
    let r = slot.load(Ordering::Acquire);
    if r != 0 {
        return r;
    }
    let (Some(dlsym), Some(name)) = (real_dlsym(), crate::NAMES.get(i)) else {
        return 0;
    };
    // SAFETY: glibc's dlsym with a NUL-terminated name.
    let p = unsafe { dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
    if p != 0 {
        slot.store(p, Ordering::Release);
    }
    p
}

/// The exported `dlsym`. `dlsym(RTLD_NEXT, …)` must search past its *caller*,
/// so it jumps straight to glibc's with the caller's return address intact;
/// every other lookup goes through [`dlsym_impl`].
///
/// # Safety
/// As glibc's `dlsym`.
#[cfg(target_arch = "x86_64")]
#[unsafe(no_mangle)]
#[unsafe(naked)]
pub unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    std::arch::naked_asm!(
        "cmp rdi, -1",
        "jne 2f",
        "mov rax, qword ptr [rip + {real}]",
        "test rax, rax",
        "je 2f",
        "jmp rax",
        "2:",
        "jmp {imp}",
        real = sym REAL_DLSYM,
        imp = sym dlsym_impl,
    )
}

/// See the x86-64 version.
///
/// # Safety
/// As glibc's `dlsym`.
#[cfg(target_arch = "aarch64")]
#[unsafe(no_mangle)]
#[unsafe(naked)]
pub unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    std::arch::naked_asm!(
        "cmn x0, #1",
        "b.ne 2f",
        "adrp x16, {real}",
        "ldr x16, [x16, :lo12:{real}]",
        "cbz x16, 2f",
        "br x16",
        "2:",
        "b {imp}",
        real = sym REAL_DLSYM,
        imp = sym dlsym_impl,
    )
}

/// glibc's lookup, then: a hooked `cu*` name gets the hook's wrapper (and the
/// driver's function is remembered for it).
extern "C" fn dlsym_impl(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    let Some(dlsym) = real_dlsym() else {
        return std::ptr::null_mut();
    };
    // SAFETY: the caller's arguments, passed on unchanged to glibc's dlsym.
    let r = unsafe { dlsym(handle, name) };
    if r.is_null() || name.is_null() {
        return r;
    }
    // SAFETY: dlsym's contract: `name` is a NUL-terminated string.
    let n = unsafe { CStr::from_ptr(name) }.to_bytes();
    if !n.starts_with(b"cu") {
        return r;
    }
    let Some(i) = crate::NAMES.iter().position(|x| x.to_bytes() == n) else {
        return r;
    };
    let wrapper = crate::wrappers().get(i).copied().unwrap_or(0);
    let driver = if r as usize == wrapper {
        real(i) // the lookup found the hook's own export: the driver's is past it
    } else {
        if let Some(slot) = crate::REAL.get(i) {
            let _ = slot.compare_exchange(0, r as usize, Ordering::AcqRel, Ordering::Acquire);
        }
        r as usize
    };
    if driver == 0 || wrapper == 0 {
        return std::ptr::null_mut();
    }
    wrapper as *mut c_void
}

/// After a successful `cuGetProcAddress(_v2)`: if the driver handed out one of
/// its hooked functions, hand out the hook's wrapper instead. Functions are
/// recognised by address (the driver maps a base name such as `cuMemAlloc`
/// to a versioned one by the requested CUDA version), so the hooked symbols
/// of the library that answered are looked up once, the first time.
pub fn substitute(pfn: *mut *mut c_void) {
    if pfn.is_null() {
        return;
    }
    // SAFETY: the driver returned success after writing a function pointer here.
    let p = unsafe { pfn.read() } as usize;
    if p == 0 {
        return;
    }
    resolve_all(p);
    let Some(i) = crate::REAL
        .iter()
        .position(|r| r.load(Ordering::Acquire) == p)
    else {
        return;
    };
    if let Some(w) = crate::wrappers().get(i) {
        // SAFETY: `pfn` is the caller's out-parameter, valid for writes.
        unsafe { pfn.write(*w as *mut c_void) };
    }
}

/// Fills the driver functions of every hook from the library that defines `p`.
fn resolve_all(p: usize) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.load(Ordering::Acquire) {
        return;
    }
    let Some(dlsym) = real_dlsym() else { return };
    // SAFETY: Dl_info is plain data; all-zero is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables for the address `p`.
    if unsafe { libc::dladdr(p as *const c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return;
    }
    // SAFETY: RTLD_NOLOAD only returns a handle to a library already loaded
    // (the one that defines `p`), raising its reference count; closed below.
    let h = unsafe { libc::dlopen(info.dli_fname, libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
    if h.is_null() {
        return;
    }
    for (slot, name) in crate::REAL.iter().zip(crate::NAMES) {
        if slot.load(Ordering::Acquire) == 0 {
            // SAFETY: glibc's dlsym on a live handle with a NUL-terminated name.
            let r = unsafe { dlsym(h, name.as_ptr()) } as usize;
            if r != 0 {
                let _ = slot.compare_exchange(0, r, Ordering::AcqRel, Ordering::Acquire);
            }
        }
    }
    // SAFETY: closes the reference taken by dlopen above.
    unsafe { libc::dlclose(h) };
    DONE.store(true, Ordering::Release);
}

/// Defines each hooked driver function: its exported wrapper (which calls the
/// driver's, then counts on success), its index, name and driver slot.
macro_rules! hooks {
    ($( $idx:ident = $name:ident ( $($a:ident : $t:ty),* ) => $after:expr ; )*) => {
        #[allow(dead_code, reason = "indices name the hooks")]
        #[derive(Debug, Clone, Copy)]
        #[repr(usize)]
        enum Hook { $($idx),* }

        /// How many driver functions are hooked.
        const HOOK_COUNT: usize = [$(stringify!($name)),*].len();

        /// The driver's own function for each hook (0 until found).
        static REAL: [std::sync::atomic::AtomicUsize; HOOK_COUNT] =
            [const { std::sync::atomic::AtomicUsize::new(0) }; HOOK_COUNT];

        /// The hooked symbol names.
        const NAMES: [&std::ffi::CStr; HOOK_COUNT] = [$(
            match std::ffi::CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                Ok(c) => c,
                Err(_) => panic!("symbol name"),
            }
        ),*];

        /// The hook's wrapper for each hook.
        fn wrappers() -> [usize; HOOK_COUNT] {
            [$($name as *const () as usize),*]
        }

        $(
            #[doc = concat!("The hook's `", stringify!($name), "`: calls the driver's, counts on success.")]
            ///
            /// # Safety
            /// As the driver function of this name.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($a: $t),*) -> CUresult {
                let p = $crate::resolve::real(Hook::$idx as usize);
                if p == 0 {
                    return $crate::resolve::CUDA_ERROR_NOT_FOUND;
                }
                // SAFETY: `p` is the driver's function of this very name, whose
                // C signature this wrapper repeats.
                let f = unsafe {
                    std::mem::transmute::<usize, unsafe extern "C" fn($($t),*) -> CUresult>(p)
                };
                // SAFETY: the caller's arguments, passed on unchanged.
                let r = unsafe { f($($a),*) };
                if r == CUDA_SUCCESS {
                    $after;
                }
                r
            }
        )*
    };
}
pub(crate) use hooks;
