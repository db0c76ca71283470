import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * CPU time used by a process and its descendants, from /proc (Linux). Throughput and latency on a
 * shared 2-core machine move with whatever else runs; CPU time per request does much less, so the
 * benchmark reports it beside them to show where each request's cost goes.
 */

const CLOCK_TICKS_PER_SECOND = 100;

type ProcStat = { pid: number; parent: number; ticks: number };

async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    // The command name may contain spaces and parentheses; the fields after its closing one are fixed.
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** User plus system CPU seconds of the process tree rooted at `pid` (live processes only). */
export async function treeCpuSeconds(pid: number): Promise<number> {
  const entries = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const stats = (await Promise.all(entries.map((name) => readStat(Number(name))))).filter(
    (s): s is ProcStat => s !== undefined,
  );
  const children = Map.groupBy(stats, (s) => s.parent);
  let ticks = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const stat = stats.find((s) => s.pid === next);
    if (stat) ticks += stat.ticks;
    for (const child of children.get(next) ?? []) pending.push(child.pid);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** The PostgreSQL server's process id, from the postmaster.pid file of its cluster folder. */
export async function postmasterPid(clusterDir: string): Promise<number> {
  const text = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8');
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${clusterDir}`);
  return pid;
}
