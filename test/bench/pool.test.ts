import { describe, expect, it } from 'vitest';
import { runTasks } from '../../bench/pool.js';
import { bench } from '../../src/index.js';

describe('bench pool (in this thread)', () => {
  it('puts rows back in task order and reports each task done', async () => {
    const q = bench.questions['write-cost'];
    const tasks = q.cells({ cpus: [1, 2], quick: true }).map((cell) => ({ question: 'write-cost', cell }));
    let done = 0;
    const rows = await runTasks(tasks, { quick: true }, 1, new URL(import.meta.url), () => done++);
    expect(done).toBe(tasks.length);
    expect(rows.flat()).toEqual(q({ cpus: [1, 2], quick: true }).rows);
  });

  it('rejects a task of an unknown question', async () => {
    await expect(runTasks([{ question: 'nope', cell: {} }], {}, 1, new URL(import.meta.url), () => {})).rejects.toThrow(/unknown question 'nope'/);
  });
});
