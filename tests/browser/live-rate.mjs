// The page's live maps rate on Chromium's fake camera, for BENCHMARKS.md: opens
// <url> (with ?camera), waits for the first rate, keeps the camera running for <seconds>, and
// prints the rate the page reports then (data-amflow-live-rate, maps per second over the last
// few seconds) with the pair's model time.
// usage: NO_WEBGPU=1 node live-rate.mjs <url> <seconds>
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';

const [url, seconds = '60'] = process.argv.slice(2);
const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'amflow-live-'));
const ctx = await chromium.launchPersistentContext(udd, {
  executablePath: EXECUTABLE,
  headless: true,
  args: [...chromiumFlags(process.env.NO_WEBGPU === '1'),
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-amflow-live-rate], body[data-amflow="error"]', { timeout: 600000 });
  await page.waitForTimeout(Number(seconds) * 1000);
  const d = await page.evaluate(() => ({ ...document.body.dataset }));
  console.log(JSON.stringify({ live_rate: d.amflowLiveRate, pair_model_ms: d.amflowPairModelMs,
    compute: d.amflowCompute, error: d.amflowError }));
} finally {
  await ctx.close();
  fs.rmSync(udd, { recursive: true, force: true });
}
