/**
 * CoalescedWork, the scheduler behind the PKI engine's CRL builds, in isolation: runs never overlap, a caller of
 * now() is served by a run that started after its call, a burst of soon() requests is served by one run, and a
 * failure reaches exactly the callers of the run that failed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescedWork } from '../../src/shared/coalesced.js';

/** A work function that records its runs and finishes when told to. */
function controlledWork() {
  const runs: { started: number; finish: (error?: Error) => void }[] = [];
  let active = 0;
  let overlapped = false;
  let clock = 0;
  return {
    runs,
    get overlapped() {
      return overlapped;
    },
    tick: () => ++clock,
    work: () => new Promise<void>((resolve, reject) => {
      if (active++ > 0) overlapped = true;
      runs.push({ started: clock, finish: (error) => { active--; if (error) reject(error); else resolve(); } });
    }),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescedWork', () => {
  test('now() callers arriving during a run share the next run, which starts after them', async () => {
    const w = controlledWork();
    const builds = new CoalescedWork({ quietMs: 10, maxDelayMs: 100 });
    const first = builds.now(w.work);
    await settle();
    assert.equal(w.runs.length, 1);
    w.tick();
    const order: string[] = [];
    const second = builds.now(w.work).then(() => order.push('second'));
    const third = builds.now(w.work).then(() => order.push('third'));
    void first.then(() => order.push('first'));
    await settle();
    assert.equal(w.runs.length, 1, 'no second run while the first is under way');
    w.runs[0].finish();
    await settle();
    assert.deepEqual(order, ['first'], 'the first run does not answer requests made during it');
    assert.equal(w.runs.length, 2);
    assert.equal(w.runs[1].started, 1, 'the next run started after the requests it serves');
    w.runs[1].finish();
    await Promise.all([second, third]);
    assert.deepEqual(order.slice(1).sort(), ['second', 'third']);
    assert.equal(w.runs.length, 2, 'one run served both');
    assert.equal(w.overlapped, false);
    assert.equal(builds.pending, false);
  });

  test('a burst of soon() requests is served by one run once they stop coming', async () => {
    const w = controlledWork();
    const builds = new CoalescedWork({ quietMs: 30, maxDelayMs: 10_000 });
    for (let i = 0; i < 500; i++) builds.soon(w.work);
    assert.equal(w.runs.length, 0, 'nothing runs during the burst');
    assert.equal(builds.pending, true);
    while (w.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    w.runs[0].finish();
    await settle();
    assert.equal(w.runs.length, 1);
    assert.equal(builds.pending, false);
  });

  test('a steady trickle of soon() requests still gets a run within maxDelayMs', async () => {
    const w = controlledWork();
    const builds = new CoalescedWork({ quietMs: 50, maxDelayMs: 60 });
    // Requests every 10 ms never leave 50 ms of quiet; the run comes from the 60 ms cap.
    const trickle = setInterval(() => builds.soon(w.work), 10);
    try {
      while (w.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      clearInterval(trickle);
    }
    w.runs[0].finish();
    await builds.stop();
  });

  test('a failed run rejects the callers it served; the next caller gets a new run', async () => {
    const w = controlledWork();
    const builds = new CoalescedWork({ quietMs: 10, maxDelayMs: 100 });
    const failing = builds.now(w.work);
    await settle();
    w.runs[0].finish(new Error('boom'));
    await assert.rejects(failing, /boom/);
    const next = builds.now(w.work);
    await settle();
    assert.equal(w.runs.length, 2);
    w.runs[1].finish();
    await next;
  });

  test('stop() waits for the run under way and refuses later requests', async () => {
    const w = controlledWork();
    const builds = new CoalescedWork({ quietMs: 10, maxDelayMs: 100 });
    const running = builds.now(w.work);
    await settle();
    builds.soon(w.work);
    let stopped = false;
    const stopping = builds.stop().then(() => { stopped = true; });
    await settle();
    assert.equal(stopped, false, 'stop waits for the run');
    w.runs[0].finish();
    await Promise.all([running, stopping]);
    await assert.rejects(builds.now(w.work), /stopped/);
    assert.equal(w.runs.length, 1);
  });
});
