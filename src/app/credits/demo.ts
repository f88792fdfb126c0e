/** The most runs of the demo action one click may buy: enough to try overspending, small enough to type. */
export const MAX_DEMO_RUNS = 100;

/** How long the demo's stand-in work takes: long enough to see the credits held on another tab. */
export const DEMO_WORK_MS = 400;

/** What the demo's work throws when the form asks it to fail, so the action can tell it from a real error. */
export class DemoWorkFailed extends Error {
  constructor() {
    super('the demo work failed, as asked');
  }
}
