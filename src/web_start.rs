//! The start of a WebAssembly module of ours (the page's and the model worker's): its static
//! constructors, run once.
//!
//! A binary linked by wasm-ld whose code never calls `__wasm_call_ctors` is taken for a
//! "command": the linker then runs every static constructor at the top of *every* exported
//! function, i.e. on every call from JavaScript into the module (each animation frame, event,
//! message). cubecl registers hundreds of IR dialect entries that way (`inventory`): the profile
//! of the page showed `__wasm_call_ctors` and `inventory::Registry::submit` as the largest
//! items on the main thread while a pair computed. Calling it once ourselves tells the linker
//! that the module runs its constructors itself, and it stops wrapping the exports.

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
unsafe extern "C" {
    /// The module's static constructors, synthesised by wasm-ld.
    fn __wasm_call_ctors();
}

/// Runs the module's static constructors; only the first call does anything. Call it first
/// thing in `main`.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn run_static_constructors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: `__wasm_call_ctors` takes no arguments and returns nothing; the linker defines it
    // in every module it links. `Once` makes this the only call, as constructors expect.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}
