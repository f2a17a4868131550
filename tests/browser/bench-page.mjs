// The published page's load as a user meets it, in headless Chromium with a fresh profile:
// bytes fetched before the first frame, first frame, the default weights fetched, the first
// pair's maps on screen, the pair's time and the longest main-thread task while it computed;
// then a second pair that shares no frame with the first (a click far along the "frame t"
// slider), the one a user meets when stepping through a clip, with the same figures, the time
// from the click to its maps on screen, when the page drew during it (ms after the click) and
// which threads had the CPU meanwhile (Linux).
// For BENCHMARKS.md; not a test (nothing here is asserted).
// usage: node bench-page.mjs <url> [runs]     env NO_WEBGPU=1: the CPU fallback; VIEWPORT=WxH
// (1280x900); SLIDER_X, SLIDER_Y: where the second pair's click lands (90, 80)
import { chromium } from 'playwright-core';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshot, busiest } from './threads.mjs';
import { recordDrawnFrames } from './frames.mjs';

const [url, runs = '1'] = process.argv.slice(2);
const noWebgpu = process.env.NO_WEBGPU === '1';
const FLAGS = chromiumFlags(noWebgpu);
const [width, height] = (process.env.VIEWPORT || '1280x900').split('x').map(Number);

for (let run = 0; run < Number(runs); run++) {
  const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'amflow-bench-'));
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: EXECUTABLE, headless: true, args: FLAGS,
    viewport: { width, height },
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on('console', m => { if (m.type() === 'error') console.log(`[console.error] ${m.text()}`); });
  // Every response's size on the wire, page and worker alike, with when it finished.
  const t0 = Date.now();
  const responses = [];
  page.on('requestfinished', async req => {
    const sizes = await req.sizes().catch(() => null);
    responses.push({ url: req.url(), at: Date.now() - t0, bytes: sizes ? sizes.responseBodySize + sizes.responseHeadersSize : 0 });
  });
  // Frames the page drew (frames.mjs).
  await page.addInitScript(recordDrawnFrames);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('body[data-amflow-first-frame-ms]', { timeout: 600000 });
  const firstFrame = Date.now() - t0;
  await page.waitForSelector('body:is([data-amflow-backbone="building"], [data-amflow-backbone="ready"])', { timeout: 600000 });
  const fetched = Date.now() - t0;
  await page.waitForSelector('body[data-amflow="maps-ready"][data-amflow-maps-ms][data-amflow-longest-task-ms], body[data-amflow="error"]', { timeout: 600000 });
  const maps = Date.now() - t0;
  await page.waitForTimeout(500);
  const said = await page.evaluate(() => ({ ...document.body.dataset }));
  // The second pair: frame t near the slider's far end (the demo clip: t ≈ 31).
  await page.waitForTimeout(1000);
  // When the maps of the next pair are on screen (the page sets data-amflow-maps-ms then).
  await page.evaluate(() => {
    const before = document.body.dataset.amflowMapsMs;
    new MutationObserver((_, observer) => {
      if (document.body.dataset.amflowMapsMs !== before) {
        window.amflowNextMapsAt = performance.now();
        observer.disconnect();
      }
    }).observe(document.body, { attributes: true, attributeFilter: ['data-amflow-maps-ms'] });
  });
  const clickAt = await page.evaluate(() => performance.now());
  const cpu0 = snapshot(), wall0 = Date.now();
  await page.mouse.click(Number(process.env.SLIDER_X || 90), Number(process.env.SLIDER_Y || 80));
  await page.waitForFunction(b => document.body.dataset.amflow === 'maps-ready' && document.body.dataset.amflowMapsMs !== b, said.amflowMapsMs, { timeout: 600000, polling: 100 });
  const threads = busiest(cpu0, snapshot(), Date.now() - wall0);
  const clickToMaps = await page.evaluate(t => Math.round(window.amflowNextMapsAt - t), clickAt);
  const frames = await page.evaluate(t => { const f = window.amflowFrames.filter(x => x >= t); return [f.length, performance.now() - t, f.map(x => Math.round(x - t))]; }, clickAt);
  await page.waitForTimeout(500);
  const second = await page.evaluate(() => ({ ...document.body.dataset }));
  const before = responses.filter(r => r.at <= firstFrame).reduce((n, r) => n + r.bytes, 0);
  const wasm = responses.filter(r => r.url.endsWith('.wasm')).map(r => `${path.basename(new URL(r.url).pathname)} ${(r.bytes / 1e6).toFixed(1)} MB`);
  console.log(JSON.stringify({
    run, compute: said.amflowCompute, state: said.amflow, error: said.amflowError,
    bytes_before_first_frame_mb: +(before / 1e6).toFixed(2), first_frame_ms: firstFrame,
    weights_fetched_ms: fetched, first_maps_ms: maps,
    pair_ms: Number(said.amflowMapsMs), pair_model_ms: Number(said.amflowPairModelMs), longest_task_ms: Number(said.amflowLongestTaskMs),
    helper: said.amflowPairHelper,
    second_pair_ms: Number(second.amflowMapsMs), second_pair_model_ms: Number(second.amflowPairModelMs),
    second_click_to_maps_ms: clickToMaps,
    second_longest_task_ms: Number(second.amflowLongestTaskMs), second_helper: second.amflowPairHelper,
    second_pair_frames_per_s: +(frames[0] / frames[1] * 1000).toFixed(1), second_pair_frames_at_ms: frames[2],
    second_pair_threads: threads, wasm,
  }));
  await ctx.close();
  fs.rmSync(udd, { recursive: true, force: true });
}
