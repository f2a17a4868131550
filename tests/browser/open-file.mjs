// Opens a video file in amflow's page as a user would — dropped on the page (drop), or chosen
// with the "open a clip…" button and the browser's file picker (pick) — and waits for the app
// to show it.
// usage: node open-file.mjs drop|pick <url> <file served beside the page> <local path of it>
//                           <out.png> <frames> <fps>
// exit 0: the clip is on screen with that frame count and rate; 1 otherwise.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [mode, url, file, local, out, frames, fps] = process.argv.slice(2);
const FLAGS = [
  '--no-sandbox', '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies',
  '--use-vulkan=swiftshader', '--use-angle=swiftshader',
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];
const udd = fs.mkdtempSync(path.join(process.env.UDD_PARENT || '/tmp', '.udd-'));
const ctx = await chromium.launchPersistentContext(udd, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS,
  viewport: { width: 800, height: 600 }, timeout: 60000,
});
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', m => console.log(`[console.${m.type()}] ${m.text()}`));
page.on('pageerror', e => console.log(`[pageerror] ${e.message}`));
let rc = 0;
try {
  await page.goto(url, { waitUntil: 'load', timeout: 120000 });
  await page.waitForSelector('body:is([data-amflow="frames-ready"], [data-amflow="maps-ready"])', { timeout: 240000 });
  if (mode === 'pick') {
    // The button sits at the left of the top bar (egui draws it on the canvas).
    // egui sees the pointer arrive, then the press and release, each on its own frame; a slow
    // frame can swallow a click, so hover first and try up to three clicks.
    let chooser = null;
    for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
      await page.mouse.move(50, 13);
      await page.waitForTimeout(1000);
      const waiting = page.waitForEvent('filechooser', { timeout: 15000 }).catch(() => null);
      await page.mouse.down();
      await page.waitForTimeout(100);
      await page.mouse.up();
      chooser = await waiting;
    }
    if (!chooser) throw new Error('no file chooser after three clicks on "open a clip…"');
    await chooser.setFiles(local);
  } else {
    // A DataTransfer holding the file, dropped on the canvas.
    const dt = await page.evaluateHandle(async (name) => {
      const blob = await (await fetch(name)).blob();
      const transfer = new DataTransfer();
      transfer.items.add(new File([blob], name, { type: blob.type }));
      return transfer;
    }, file);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      await page.dispatchEvent('#amflow_canvas', type, { dataTransfer: dt });
    }
  }
  const want = `body:is([data-amflow="frames-ready"], [data-amflow="maps-ready"])[data-amflow-frames="${frames}"][data-amflow-fps="${fps}"]`;
  await page.waitForSelector(`${want}, body[data-amflow="error"]`, { timeout: 240000 });
  if (await page.$('body[data-amflow="error"]')) { console.log('the page reported an error'); rc = 1; }
  else console.log(`${mode}: ${file}: ${want}`);
} catch (e) { console.log(`${mode} test failed: ` + e.message.split('\n')[0]); rc = 1; }
await page.screenshot({ path: out });
await ctx.close();
fs.rmSync(udd, { recursive: true, force: true });
process.exit(rc);
