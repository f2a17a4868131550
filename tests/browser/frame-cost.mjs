// What one frame the page draws costs in CPU time, all of Chromium's threads together: the
// published page on the CPU fallback is loaded, its first maps awaited, then the mouse is moved
// over the maps 12 times, half a second apart (each move makes egui draw a few frames), and the
// CPU time of every Chromium thread over those 6 s is divided by the frames drawn (animation
// frames with WebGL draw calls). In a browser that rasterises on the CPU (headless Chromium:
// SwiftShader), that time is taken from the model's workers whenever the page draws while a pair
// computes. For BENCHMARKS.md; not a test. Linux only (threads.mjs reads /proc).
// usage: node frame-cost.mjs <url>     env VIEWPORT=WxH (1280x900)
import { chromium } from 'playwright-core';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshot, totalMs, busiest } from './threads.mjs';
import { recordDrawnFrames } from './frames.mjs';

const [url] = process.argv.slice(2);
const [width, height] = (process.env.VIEWPORT || '1280x900').split('x').map(Number);
const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'amflow-frames-'));
const ctx = await chromium.launchPersistentContext(udd, {
  executablePath: EXECUTABLE, headless: true, args: chromiumFlags(true), viewport: { width, height },
});
const page = ctx.pages()[0] ?? await ctx.newPage();
await page.addInitScript(recordDrawnFrames);
await page.goto(url);
await page.waitForSelector('body[data-amflow="maps-ready"], body[data-amflow="error"]', { timeout: 600000 });
await page.waitForTimeout(2000);
const frames = () => page.evaluate(() => window.amflowFrames.length);
const n0 = await frames(), cpu0 = snapshot(), t0 = Date.now();
for (let i = 0; i < 12; i++) {
  await page.mouse.move(Math.round(width * 0.47) + (i % 2) * 40, Math.round(height * 0.55) + i);
  await page.waitForTimeout(500);
}
const n = (await frames()) - n0, cpu1 = snapshot(), ms = Date.now() - t0;
console.log(JSON.stringify({
  viewport: `${width}x${height}`, frames: n, wall_ms: ms,
  cpu_ms_per_frame: Math.round(totalMs(cpu0, cpu1) / Math.max(n, 1)), threads: busiest(cpu0, cpu1, ms),
}));
await ctx.close();
fs.rmSync(udd, { recursive: true, force: true });
