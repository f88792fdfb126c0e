import { afterAll, beforeAll, vi } from 'vitest';

/**
 * Sets the clock that code without a `now` parameter reads (the cron routes) to start at `start` and
 * run at the real pace, so a test knows the date while runs that follow each other still get later
 * times (a frozen clock gives two runs the same `finishedAt`). Undo with `vi.unstubAllGlobals()`.
 * Not vitest's fake timers: their clock only moves while the event loop turns, and PGlite blocks it.
 */
export function startClockAt(start: Date) {
  const RealDate = Date;
  const offset = start.getTime() - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static now() {
      return RealDate.now() + offset;
    }
  }
  vi.stubGlobal('Date', ShiftedDate);
}

/** `startClockAt(start)` before the file's (or `describe` block's) first test, and the real clock back after its last. */
export function setupClockAt(start: Date) {
  beforeAll(() => startClockAt(start));
  afterAll(() => vi.unstubAllGlobals());
}
