// The frames a page draws, for the benchmarks (bench-page.mjs, frame-cost.mjs): an init script
// that records, in window.amflowFrames, the performance.now() of every animation frame in which
// the page issued a WebGL draw call (egui's page draws through WebGL2).
export function recordDrawnFrames() {
  window.amflowFrames = [];
  let tick = 0, drawn = -1;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (f) => raf((t) => { tick++; f(t); });
  for (const C of [window.WebGL2RenderingContext, window.WebGLRenderingContext]) {
    if (!C) continue;
    for (const name of ['drawElements', 'drawArrays', 'drawElementsInstanced', 'drawArraysInstanced', 'drawRangeElements']) {
      const draw = C.prototype[name];
      if (!draw) continue;
      C.prototype[name] = function (...a) {
        if (drawn !== tick) { drawn = tick; window.amflowFrames.push(performance.now()); }
        return draw.apply(this, a);
      };
    }
  }
}
