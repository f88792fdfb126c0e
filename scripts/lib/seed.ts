// Placeholder until the operations seed lands: a single demo user so the first run has data.
import type { Database } from '@/lib/server/db/types';
import { createUser } from '@/lib/server/usecases/create-user';

export async function seedDemoData(db: Database, params: { now: Date }): Promise<{ users: number }> {
  await createUser(db, { email: 'demo@example.com', name: 'Demo User', now: params.now });
  return { users: 1 };
}
