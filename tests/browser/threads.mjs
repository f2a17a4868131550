// CPU time of every Chromium thread on this machine between two instants, from
// /proc/<pid>/task/<tid>/stat (utime + stime, in clock ticks of 10 ms), labelled by the
// process's --type (browser, renderer, gpu-process, utility) and the thread's name. Linux only;
// for the benchmarks (bench-page.mjs, frame-cost.mjs), which ask where a pair's CPU time went.
import fs from 'node:fs';

const TICK_MS = 10;

/// Every Chromium thread's CPU ticks so far: Map of "pid/tid" → { label, ticks }.
export function snapshot() {
  const out = new Map();
  for (const pid of fs.readdirSync('/proc').filter(d => /^\d+$/.test(d))) {
    let cmd;
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (!cmd.includes('chromium')) continue;
    const type = (cmd.match(/--type=([a-z-]+)/) || [, 'browser'])[1];
    let tids;
    try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      let stat;
      try { stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'); } catch { continue; }
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Fields after the name: state is field 3 of stat(5); utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${pid}/${tid}`, { label: `${type}:${name}`, ticks: Number(fields[11]) + Number(fields[12]) });
    }
  }
  return out;
}

/// CPU milliseconds between two snapshots, in all.
export function totalMs(a, b) {
  let ticks = 0;
  for (const [k, v] of b) ticks += v.ticks - (a.get(k)?.ticks ?? 0);
  return ticks * TICK_MS;
}

/// The busiest thread kinds between two snapshots `ms` apart, as "label N%" of one core
/// (threads of the same label summed: the two model workers are both "renderer:DedicatedWorker").
export function busiest(a, b, ms, count = 6) {
  const by = new Map();
  for (const [k, v] of b) {
    const d = v.ticks - (a.get(k)?.ticks ?? 0);
    if (d > 0) by.set(v.label, (by.get(v.label) ?? 0) + d);
  }
  return [...by].sort((x, y) => y[1] - x[1]).slice(0, count)
    .map(([label, t]) => `${label} ${Math.round(t * TICK_MS / ms * 100)}%`).join(', ');
}
