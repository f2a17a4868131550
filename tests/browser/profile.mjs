// Where the page's main thread (or, with TARGET=worker, its model worker) spends its time while
// it loads and shows the maps: the DevTools protocol's sampling profiler, self time summed by
// function, and the longest main-thread tasks the page itself saw. A tool, not a test.
// usage: node profile.mjs <url> [top]     env NO_WEBGPU=1: the CPU fallback
import { chromium } from 'playwright-core';
import { EXECUTABLE, chromiumFlags } from './chromium.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [url, top = '25'] = process.argv.slice(2);
const noWebgpu = process.env.NO_WEBGPU === '1';
const FLAGS = chromiumFlags(noWebgpu);
const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'amflow-profile-'));
const ctx = await chromium.launchPersistentContext(udd, {
  executablePath: EXECUTABLE, headless: true, args: FLAGS,
  viewport: { width: 1280, height: 900 },
});
const page = ctx.pages()[0] ?? await ctx.newPage();
const pageCdp = await ctx.newCDPSession(page);
// TARGET=worker profiles the page's model worker (the first dedicated worker the page starts)
// instead of the page: the protocol's messages go to it through the page's session
// (Target.sendMessageToTarget), with the same Profiler commands.
const inWorker = process.env.TARGET === 'worker';
let cdp = pageCdp;
if (inWorker) {
  const replies = new Map();
  let next = 1;
  let attached;
  const worker = new Promise(resolve => { attached = resolve; });
  pageCdp.on('Target.attachedToTarget', e => { if (e.targetInfo.type === 'worker') attached(e.sessionId); });
  pageCdp.on('Target.receivedMessageFromTarget', e => {
    const m = JSON.parse(e.message);
    if (m.id && replies.has(m.id)) { replies.get(m.id)(m); replies.delete(m.id); }
  });
  await pageCdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  cdp = {
    async send(method, params = {}) {
      const sessionId = await worker;
      const id = next++;
      const reply = new Promise(resolve => replies.set(id, resolve));
      await pageCdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
      const m = await reply;
      if (m.error) throw new Error(`${method}: ${JSON.stringify(m.error)}`);
      return m.result;
    },
  };
}
const enabled = (async () => {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
})();
if (!inWorker) await enabled;
const ready = 'body[data-amflow="maps-ready"][data-amflow-longest-task-ms], body[data-amflow="error"]';
// PROFILE=load: from navigation to the first maps; otherwise (the default) the second pair
// only: after the first maps, the "frame t" slider is clicked and the next maps awaited.
// PROFILE=first: the first pair, from the backbone being ready to the first maps.
const load = process.env.PROFILE === 'load';
const first = process.env.PROFILE === 'first';
if (load) await cdp.send('Profiler.start');
await page.goto(url, { waitUntil: 'load' });
if (first) {
  await page.waitForSelector('body[data-amflow-backbone="ready"]', { timeout: 600000 });
  await enabled;
  await cdp.send('Profiler.start');
}
await page.waitForSelector(ready, { timeout: 600000 });
await enabled;
if (!load && !first) {
  await page.waitForTimeout(1000);
  const before = await page.evaluate(() => document.body.dataset.amflowMapsMs);
  await cdp.send('Profiler.start');
  await page.mouse.click(Number(process.env.SLIDER_X || 90), Number(process.env.SLIDER_Y || 80));
  await page.waitForFunction(b => document.body.dataset.amflow === 'maps-ready' && document.body.dataset.amflowMapsMs !== b, before, { timeout: 600000, polling: 100 });
}
await page.waitForTimeout(300);
const { profile } = await cdp.send('Profiler.stop');
// SAVE=FILE keeps the profile (DevTools opens it as a .cpuprofile).
if (process.env.SAVE) fs.writeFileSync(process.env.SAVE, JSON.stringify(profile));
const tasks = await page.evaluate(() => window.amflowLongTasks);
const said = await page.evaluate(() => ({ ...document.body.dataset }));

// Self time per node from the samples, then summed by function name.
const byId = new Map(profile.nodes.map(n => [n.id, n]));
const self = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  const node = byId.get(profile.samples[i]);
  const f = node.callFrame;
  const name = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}`.trim();
  self.set(name, (self.get(name) ?? 0) + dt);
}
// The longest stretch of samples without an idle one: the longest task the profile saw, and the
// functions it spent its time in.
let best = { ms: 0, from: 0, to: 0 }, start = 0, run = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const idle = byId.get(profile.samples[i]).callFrame.functionName === '(idle)';
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  if (idle) { run = 0; start = i + 1; continue; }
  run += dt;
  if (run > best.ms) best = { ms: run, from: start, to: i };
}
const inTask = new Map();
for (let i = best.from; i <= best.to; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  const f = byId.get(profile.samples[i]).callFrame;
  const name = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}`.trim();
  inTask.set(name, (inTask.get(name) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`page says: maps ${said.amflowMapsMs} ms, longest task ${said.amflowLongestTaskMs} ms; long tasks: ${JSON.stringify(tasks.map(([s, d]) => [Math.round(s), Math.round(d)]))}`);
console.log(`${inWorker ? 'the model worker' : 'main thread'}, ${total.toFixed(0)} ms sampled:`);
for (const [name, ms] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${ms.toFixed(1).padStart(9)} ms  ${name.slice(0, 140)}`);
}
console.log(`the longest stretch without idle samples, ${best.ms.toFixed(0)} ms:`);
for (const [name, ms] of [...inTask.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${ms.toFixed(1).padStart(9)} ms  ${name.slice(0, 140)}`);
}
await ctx.close();
fs.rmSync(udd, { recursive: true, force: true });
