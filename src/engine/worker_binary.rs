//! The `main` of the web page's worker binaries (`src/bin/amflow-worker*.rs`), written once.

/// Defines `main` for a worker binary named `$name` ("the web page's `$role`") that needs the
/// feature `$feature`: in WebAssembly built with it, the worker's loop
/// ([`crate::engine::worker::run`]); built without it, a console error naming `$needs`;
/// natively, a message pointing to `amflow` and a failing exit (the desktop app runs its engine
/// on a thread).
#[macro_export]
macro_rules! worker_main {
    (
        name: $name:literal,
        role: $role:literal,
        feature: $feature:literal,
        needs: $needs:literal $(,)?
    ) => {
        #[cfg(all(target_arch = "wasm32", feature = $feature))]
        fn main() {
            $crate::web_start::run_static_constructors();
            $crate::engine::worker::run();
        }

        #[cfg(all(target_arch = "wasm32", not(feature = $feature)))]
        fn main() {
            web_sys::console::error_1(&concat!("this worker was built without ", $needs).into());
        }

        #[cfg(not(target_arch = "wasm32"))]
        fn main() -> std::process::ExitCode {
            eprintln!(concat!(
                $name,
                " is the web page's ",
                $role,
                "; natively, run `amflow`"
            ));
            std::process::ExitCode::FAILURE
        }
    };
}
