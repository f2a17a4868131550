// Debian's Chromium as the browser tests start it: headless, no network beyond loopback, and
// either WebGPU on SwiftShader (Dawn's CPU Vulkan adapter, which needs --enable-unsafe-webgpu)
// or no WebGPU at all (the page then draws with WebGL and runs the model on the CPU fallback).
export const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';

export function chromiumFlags(noWebgpu) {
  return [
    '--no-sandbox', '--use-angle=swiftshader',
    ...(noWebgpu
      ? ['--disable-features=WebGPU']
      // The three features replace playwright's own --enable-features list (last one wins).
      : ['--enable-unsafe-webgpu', '--enable-features=Vulkan,CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies', '--use-vulkan=swiftshader']),
    '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    // Flags for an experiment (e.g. V8's through --js-flags=...), space-separated.
    ...(process.env.EXTRA_FLAGS ? process.env.EXTRA_FLAGS.split(' ') : []),
  ];
}
