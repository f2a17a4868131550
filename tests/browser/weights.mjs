// The page's own weights (the default ViT-S/14 and the demo checkpoint, files beside the module)
// in headless Chromium, one browser profile throughout:
//   1. first paint before the weights arrive: the server sends them slowly, and the page must
//      be drawn (a screenshot of many colours) with its backbone still "fetching";
//   2. the Cache API: a second load of the page fetches neither the weights nor the checkpoint;
//   3. a corrupted cached copy is caught: one byte of the cached weights flipped, the next load
//      fetches them again, and the cache then holds the manifest's bytes.
// usage: node weights.mjs <base-url> <server-log> <out-dir>
//   env NO_WEBGPU=1 runs the model on the CPU fallback (the weights do not depend on it).
// exit 0: all three hold; 1: one failed (screenshots in out-dir); 2: launch error.
import { chromium } from 'playwright-core';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

const [base, serverLog, outDir] = process.argv.slice(2);
if (!base || !serverLog || !outDir) { console.error('usage: node weights.mjs <base-url> <server-log> <out-dir>'); process.exit(2); }
const WEIGHTS = 'dinov2-small/model.safetensors';
const CHECKPOINT = 'demo/synth-classifier.safetensors';
const TIMEOUT = 240000;
const noWebgpu = process.env.NO_WEBGPU === '1';
const FLAGS = chromiumFlags(noWebgpu);

const logLines = () => fs.readFileSync(serverLog, 'utf8').split('\n').filter(Boolean);
const fetchedSince = (start, file) => logLines().slice(start).filter(l => l.startsWith(`GET /${file}`));
const throttle = async ms => { await fetch(`${base}/__throttle?ms=${ms}`); };
const ready = 'body[data-amflow-backbone="ready"][data-amflow-classifier="ready"]';
const failed = 'body[data-amflow="error"]';

function colours(png) {
  const seen = new Set();
  for (let i = 0; i < png.data.length; i += 4) seen.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
  return seen.size;
}

const udd = fs.mkdtempSync(path.join(outDir, '.udd-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(udd, {
    executablePath: EXECUTABLE, headless: true, args: FLAGS,
    viewport: { width: 1280, height: 900 }, timeout: 60000,
  });
} catch (e) { console.error('launch failed:', e.message); process.exit(2); }
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', m => console.log(`[console.${m.type()}] ${m.text()}`));
page.on('pageerror', e => console.log(`[pageerror] ${e.message}`));

async function waitReady(what) {
  const hit = await page.waitForSelector(`${ready}, ${failed}`, { timeout: TIMEOUT });
  if (await hit.evaluate((el, f) => el.matches(f), failed)) {
    throw new Error(`${what}: the page failed: ${await page.evaluate(() => document.body.dataset.amflowError)}`);
  }
}

let rc = 0;
const check = (ok, message) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${message}`); if (!ok) rc = 1; };
try {
  // 1. First paint while the weights are still on the way.
  await throttle(400);
  let start = logLines().length;
  const t0 = Date.now();
  await page.goto(`${base}/index.html`, { waitUntil: 'load', timeout: TIMEOUT });
  await page.waitForSelector('body[data-amflow-backbone="fetching"]', { timeout: TIMEOUT });
  await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
  const shot = PNG.sync.read(await page.screenshot({ path: path.join(outDir, 'weights-first-paint.png') }));
  const state = await page.evaluate(() => document.body.dataset.amflowBackbone);
  console.log(`first paint ${Date.now() - t0} ms after navigation: ${colours(shot)} colours, backbone ${state}`);
  check(colours(shot) >= 64, 'the page is drawn before the weights have arrived');
  check(state === 'fetching', 'the weights were still arriving when the page was drawn');
  await throttle(0);
  await waitReady('first load');
  check(fetchedSince(start, WEIGHTS).length === 1, `the first load fetched ${WEIGHTS} once`);
  check(fetchedSince(start, CHECKPOINT).length === 1, `the first load fetched ${CHECKPOINT} once`);

  // 2. The second load comes from the Cache API.
  start = logLines().length;
  await page.reload({ waitUntil: 'load', timeout: TIMEOUT });
  await waitReady('second load');
  check(fetchedSince(start, WEIGHTS).length === 0, `the second load fetched no ${WEIGHTS}`);
  check(fetchedSince(start, CHECKPOINT).length === 0, `the second load fetched no ${CHECKPOINT}`);

  // 3. A corrupted cached copy is fetched again, and the cache is mended.
  const flipped = await page.evaluate(async file => {
    const cache = await caches.open('amflow-models');
    const key = (await cache.keys()).find(r => r.url.includes(file));
    if (!key) return null;
    const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    await cache.put(key, new Response(bytes));
    return key.url;
  }, WEIGHTS);
  check(flipped !== null, `the cache held ${WEIGHTS} (${flipped})`);
  start = logLines().length;
  await page.reload({ waitUntil: 'load', timeout: TIMEOUT });
  await waitReady('load after corruption');
  check(fetchedSince(start, WEIGHTS).length === 1, `the corrupted cached ${WEIGHTS} was fetched again`);
  const mended = await page.evaluate(async file => {
    const manifest = await (await fetch('amflow-assets.json', { cache: 'no-store' })).json();
    const cache = await caches.open('amflow-models');
    const key = (await cache.keys()).find(r => r.url.includes(file));
    const bytes = await (await cache.match(key)).arrayBuffer();
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map(b => b.toString(16).padStart(2, '0')).join('');
    return hash === manifest.files[file].sha256 && bytes.byteLength === manifest.files[file].bytes;
  }, WEIGHTS);
  check(mended, 'the cache holds the manifest\'s bytes again');
} catch (e) { console.log('FAIL ' + e.message.split('\n')[0]); rc = 1; }
await page.screenshot({ path: path.join(outDir, 'weights.png') }).catch(() => {});
await ctx.close();
fs.rmSync(udd, { recursive: true, force: true });
process.exit(rc);
