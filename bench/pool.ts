/**
 * Runs benchmark cells on worker threads (one per core by default), or in this thread. Each cell boots its
 * own machine and is a pure function of (question, cell, options), so where it runs cannot change its rows:
 * results are put back in cell order and are identical to a single-threaded run.
 *
 * A worker is this same module started again with `workerData[WORKER_FLAG]`: whatever bundle includes it
 * (bench/out/cli.mjs, or the package's CLI) can serve as its own worker script.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { bench, type BenchOptions, type BenchRow } from '../src/index.js';

export const WORKER_FLAG = 'pksimBenchWorker';

export interface Task {
  question: string;
  cell: unknown;
}

interface Request {
  i: number;
  question: string;
  cell: unknown;
}
type Reply = { i: number; rows: BenchRow[] } | { i: number; error: string };

function runTask(t: Task, opts: BenchOptions): BenchRow[] {
  const q = bench.questions[t.question];
  if (!q) throw new RangeError(`unknown question '${t.question}'`);
  return q.runCell(t.cell, opts);
}

/** A rough weight for scheduling the heaviest cells first (more CPUs, more work); never affects results. */
function weight(t: Task): number {
  const c = t.cell as { cpus?: number } | null;
  return typeof c?.cpus === 'number' ? c.cpus : 1;
}

/**
 * Run every task; `onDone` after each one. `threads` <= 1 runs here (yielding to the event loop between
 * cells so a progress bar can redraw).
 */
export async function runTasks(tasks: Task[], opts: BenchOptions, threads: number, script: URL, onDone: (t: Task) => void): Promise<BenchRow[][]> {
  const out: BenchRow[][] = new Array(tasks.length);
  if (threads <= 1 || tasks.length <= 1) {
    for (let i = 0; i < tasks.length; i++) {
      out[i] = runTask(tasks[i], opts);
      onDone(tasks[i]);
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  const order = tasks.map((_, i) => i).sort((a, b) => weight(tasks[b]) - weight(tasks[a]) || a - b);
  let next = 0;
  const workers = Array.from({ length: Math.min(threads, tasks.length) }, () => new Worker(script, { workerData: { [WORKER_FLAG]: true, opts } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= order.length) return resolve();
              const i = order[next++];
              const req: Request = { i, question: tasks[i].question, cell: tasks[i].cell };
              w.postMessage(req);
            };
            w.on('message', (m: Reply) => {
              if ('error' in m) return reject(new Error(`cell ${m.i} (${tasks[m.i].question}): ${m.error}`));
              out[m.i] = m.rows;
              onDone(tasks[m.i]);
              feed();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (next < order.length || code !== 0) reject(new Error(`bench worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

// ---- the worker side --------------------------------------------------------------------------------------------

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG]) {
  const port = parentPort;
  const opts = (workerData as { opts: BenchOptions }).opts;
  port.on('message', (req: Request) => {
    let reply: Reply;
    try {
      reply = { i: req.i, rows: runTask(req, opts) };
    } catch (e) {
      reply = { i: req.i, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    port.postMessage(reply);
  });
}
