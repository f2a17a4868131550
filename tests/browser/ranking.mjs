// A dataset's block ranking dropped on the page (a selection file from `amflow blocks DATA
// --labels --out FILE`): the AM-blocks panel proposes its blocks instead of the pair's, and a
// ranking made for a backbone with another number of blocks is not used.
// usage: node ranking.mjs <url of the page with ?backbone=tiny-dinov2/> <out.png>
// exit 0 when the page says so through <body data-amflow-ranking> and -am-blocks; 1 otherwise.
import { chromium } from 'playwright-core';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [url, out] = process.argv.slice(2);
const udd = fs.mkdtempSync(path.join(process.env.UDD_PARENT || '/tmp', '.udd-'));
const ctx = await chromium.launchPersistentContext(udd, {
  executablePath: EXECUTABLE, headless: true, args: chromiumFlags(true),
  viewport: { width: 1280, height: 900 }, timeout: 60000,
});
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('pageerror', e => console.log(`[pageerror] ${e.message}`));

// A selection file as `amflow blocks --labels --top 1` writes it, for a backbone of `blocks`
// blocks, proposing `proposed`.
const selection = (blocks, proposed) => ({
  format: 'amflow-selection/1', backbone: 'test', blocks: proposed, offset: 1, pairs: 8, clips: 4,
  scores: Array.from({ length: blocks }, (_, i) => ({ block: i + 1, score: 0.5, correlation: 0.5, concentration: 0.1 })),
  probe: Array.from({ length: blocks }, (_, i) => ({ block: i + 1, accuracy: proposed.includes(i + 1) ? 0.75 : 0.25 })),
});
async function drop(name, content) {
  const dt = await page.evaluateHandle(([n, text]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], n, { type: 'application/json' }));
    return transfer;
  }, [name, JSON.stringify(content)]);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent('#amflow_canvas', type, { dataTransfer: dt });
  }
}
const state = () => page.evaluate(() => [document.body.dataset.amflowRanking, document.body.dataset.amflowAmBlocks]);
let rc = 0;
try {
  await page.goto(url, { waitUntil: 'load', timeout: 120000 });
  // The tiny backbone has two blocks, and the pair proposes both.
  await page.waitForSelector('body[data-amflow="maps-ready"][data-amflow-ranking="pair"][data-amflow-am-blocks="1,2"]', { timeout: 240000 });
  await drop('tiny-ranking.json', selection(2, [2]));
  await page.waitForSelector('body[data-amflow-ranking="dataset-probe"][data-amflow-am-blocks="2"]', { timeout: 30000 });
  // A ViT-S ranking (12 blocks) does not fit: the pair's proposal comes back.
  await drop('vits-ranking.json', selection(12, [1, 12]));
  await page.waitForSelector('body[data-amflow-ranking="pair"][data-amflow-am-blocks="1,2"]', { timeout: 30000 });
  // The clip is still the one on screen: a .json file is never opened as a clip.
  const said = await page.evaluate(() => ({ ...document.body.dataset }));
  if (said.amflow !== 'maps-ready') throw new Error(`the page left maps-ready: ${JSON.stringify(said)}`);
  console.log('dropped rankings: proposed by the dataset, then refused for another backbone');
} catch (e) {
  console.log(`FAILED: ${e.message}; the page says ${JSON.stringify(await state().catch(() => null))}`);
  rc = 1;
}
await page.screenshot({ path: out }).catch(() => {});
await ctx.close();
fs.rmSync(udd, { recursive: true, force: true });
process.exit(rc);
