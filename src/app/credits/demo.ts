/** The most runs of the demo action one click may buy: enough to try overspending, small enough to type. */
export const MAX_DEMO_RUNS = 100;
