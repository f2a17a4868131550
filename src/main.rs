//! The two mains: native (the command line, or the app when no subcommand is given) and web
//! (the app on the page's canvas).

/// mimalloc instead of the system allocator, natively. burn's CPU backend allocates a fresh
/// buffer for every operation's output (megabytes each for a ViT's activations and attention
/// maps); glibc's malloc hands such buffers back to the kernel on free and takes them again on
/// the next allocation, so every operation paid page faults and page zeroing. mimalloc keeps
/// them: the frame pair on the CPU went from ~320 to ~200 ms (BENCHMARKS.md).
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Makes the CPU burn's default device for a run on the CPU, unless `BURN_DEVICE` says
/// otherwise. burn-optim builds a resumed run's optimizer state on the default device (the
/// first GPU backend compiled in) and moves it to the parameters' device at the next step, so a
/// `train --resume` on the CPU would otherwise start a GPU device (a Vulkan instance, even
/// lavapipe's) for that alone.
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
#[allow(unsafe_code)]
fn default_device_cpu() {
    if std::env::var_os("BURN_DEVICE").is_none() {
        // SAFETY: called first thing in `main`, before any thread exists that could read the
        // environment at the same time.
        unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    }
}

#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
fn main() -> std::process::ExitCode {
    use amflow::cli::{Cli, Command};
    use clap::Parser;

    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Train(_)))
        && cli.backend.unwrap_or_default() == amflow::backend::BackendKind::Cpu
    {
        default_device_cpu();
    }
    let result: Result<(), Box<dyn std::error::Error>> = match &cli.command {
        Some(Command::Info(args)) => {
            amflow::cli::info::run(args, cli.backbone.as_ref(), cli.backend.unwrap_or_default())
                .map_err(Into::into)
        }
        Some(Command::Bench(args)) => {
            amflow::cli::bench::run(args, cli.backbone.as_ref()).map_err(Into::into)
        }
        Some(Command::Train(args)) => amflow::cli::train::run_train(
            args,
            cli.backbone.as_ref(),
            cli.backend.unwrap_or_default(),
        )
        .map_err(Into::into),
        Some(Command::Eval(args)) => amflow::cli::train::run_eval(
            args,
            cli.backbone.as_ref(),
            cli.backend.unwrap_or_default(),
        )
        .map_err(Into::into),
        Some(Command::Predict(args)) => amflow::cli::train::run_predict(
            args,
            cli.backbone.as_ref(),
            cli.backend.unwrap_or_default(),
        )
        .map_err(Into::into),
        Some(Command::Synth(args)) => amflow::cli::synth::run(args).map_err(Into::into),
        Some(Command::Checkpoint(args)) => amflow::cli::checkpoint::run(args).map_err(Into::into),
        Some(Command::Blocks(args)) => {
            amflow::cli::blocks::run(args, cli.backbone.as_ref(), cli.backend.unwrap_or_default())
                .map_err(Into::into)
        }
        Some(Command::Live(args)) => {
            amflow::cli::live::run(args, cli.backbone.as_ref(), cli.backend.unwrap_or_default())
                .map_err(Into::into)
        }
        Some(Command::Maps(args)) => {
            amflow::cli::maps::run(args, cli.backbone.as_ref(), cli.backend.unwrap_or_default())
                .map_err(Into::into)
        }
        None => run_app(&cli),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The desktop app, when no subcommand is given.
#[cfg(all(not(target_arch = "wasm32"), feature = "model", feature = "app"))]
fn run_app(cli: &amflow::cli::Cli) -> Result<(), Box<dyn std::error::Error>> {
    let launch = amflow::app::Launch {
        backbone: match cli.backbone.clone() {
            None => amflow::app::BackboneSource::Embedded,
            Some(p) if p.to_string_lossy().contains("://") => {
                amflow::app::BackboneSource::Url(p.to_string_lossy().into_owned())
            }
            Some(p) => amflow::app::BackboneSource::Dir(p),
        },
        backend: cli.backend,
        checkpoint: cli
            .checkpoint
            .clone()
            .map(amflow::app::CheckpointSource::Path),
        clip: match (&cli.camera, &cli.clip) {
            (Some(device), _) => {
                amflow::app::ClipSource::Camera(Some(device.clone()).filter(|d| !d.is_empty()))
            }
            (None, Some(path)) => amflow::app::ClipSource::Path(path.clone()),
            (None, None) => amflow::app::ClipSource::Demo,
        },
        size: cli.size,
        flow: cli.flow,
        relaxed_simd: true,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1280.0, 800.0]),
        wgpu_options: amflow::app::gpu::wgpu_configuration(),
        ..Default::default()
    };
    eframe::run_native(
        "amflow",
        options,
        Box::new(|cc| Ok(Box::new(amflow::app::AmflowApp::new(cc, launch)))),
    )
    .map_err(|e| e.to_string().into())
}

#[cfg(all(not(target_arch = "wasm32"), feature = "model", not(feature = "app")))]
fn run_app(_: &amflow::cli::Cli) -> Result<(), Box<dyn std::error::Error>> {
    Err(
        "this amflow was built without the app (the `app` feature): give a subcommand (--help)"
            .into(),
    )
}

#[cfg(all(not(target_arch = "wasm32"), not(feature = "model")))]
fn main() -> std::process::ExitCode {
    eprintln!("this amflow was built without the model (the `model` feature)");
    std::process::ExitCode::FAILURE
}

/// The app's setup from the page's URL: `?clip=URL` opens that clip instead of the demo,
/// `?camera` the camera, `?size=112` the maps' input size, `?flow=displacement` the displacement
/// flow's direction maps,
/// `?backbone=URL` a backbone folder (`config.json` + `model.safetensors`) instead of the
/// embedded one, `?backend=cpu` keeps the model off the GPU, `?relaxed-simd=off` keeps the CPU
/// worker to its SIMD128 flavour where the browser has relaxed SIMD.
#[cfg(all(target_arch = "wasm32", feature = "app"))]
fn launch_from_url() -> amflow::app::Launch {
    let params = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok());
    let get = |name: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_empty())
    };
    amflow::app::Launch {
        // `?camera` (or `?camera=ID`, a device id) opens the camera instead of a clip.
        clip: match (params.as_ref().and_then(|p| p.get("camera")), get("clip")) {
            (Some(id), _) => amflow::app::ClipSource::Camera(
                Some(id).filter(|id| !id.is_empty() && id != "default"),
            ),
            (None, Some(url)) => amflow::app::ClipSource::Url(url),
            (None, None) => amflow::app::ClipSource::Demo,
        },
        backbone: get("backbone").map_or(
            amflow::app::BackboneSource::Embedded,
            amflow::app::BackboneSource::Url,
        ),
        backend: get("backend").and_then(|b| b.parse().ok()),
        checkpoint: get("checkpoint").map(amflow::app::CheckpointSource::Url),
        size: get("size").and_then(|s| s.parse().ok()),
        flow: (get("flow").as_deref() == Some("displacement"))
            .then_some(amflow::maps::MapFlow::Displacement),
        relaxed_simd: !matches!(get("relaxed-simd").as_deref(), Some("off" | "0" | "no")),
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "app")))]
fn main() {
    web_sys::console::error_1(&"this module was built without the app (the `app` feature)".into());
}

#[cfg(all(target_arch = "wasm32", feature = "app"))]
fn main() {
    use wasm_bindgen::JsCast;

    /// Shows a start-up failure on the page instead of panicking.
    fn fail(message: &str) {
        web_sys::console::error_1(&message.into());
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            body.set_inner_text(&format!("amflow could not start: {message}"));
            let _ = body.dataset().set("amflow", "error");
        }
    }

    amflow::web_start::run_static_constructors();
    wasm_bindgen_futures::spawn_local(async {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return fail("no document");
        };
        let Some(canvas) = document
            .get_element_by_id("amflow_canvas")
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return fail("the page has no <canvas id=\"amflow_canvas\">");
        };
        if let Err(e) = amflow::app::canvas::prepare_webgl2(&canvas) {
            // eframe then makes its own context, with WebGL's defaults.
            web_sys::console::warn_1(&e);
        }
        let result = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions {
                    renderer: eframe::Renderer::Glow,
                    ..Default::default()
                },
                Box::new(|cc| Ok(Box::new(amflow::app::AmflowApp::new(cc, launch_from_url())))),
            )
            .await;
        if let Some(loading) = document.get_element_by_id("loading_text") {
            loading.remove();
        }
        if let Err(e) = result {
            fail(&format!("{e:?}"));
        }
    });
}
