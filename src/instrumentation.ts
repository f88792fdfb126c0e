// Runs once when the server starts: a wrong variable stops start-up with one line naming it,
// and the database is migrated before the first request.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startServer } = await import('./lib/server/startup');
  await startServer();
}
