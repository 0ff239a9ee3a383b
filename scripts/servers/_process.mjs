// Shared by the server modules (a leading "_" keeps scripts/servers.mjs from taking it for a
// server): the pid file of a detached server and stopping its process group.
import fs from 'node:fs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The pid in `file`, or null when there is none. */
export function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Sends `signal` to the process group of `pid` (or to pid alone), waits up to `timeoutMs` while
 * `ours()` says it is still our server, then SIGKILLs it and waits until it is gone.
 */
export async function stopGroup(pid, ours, { signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
  const kill = (sig) => { try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* gone */ } } };
  kill(signal);
  const until = Date.now() + timeoutMs;
  while (ours() && Date.now() < until) await sleep(50);
  if (ours()) {
    kill('SIGKILL');
    while (ours()) await sleep(50);
  }
}
