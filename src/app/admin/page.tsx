import { redirect } from 'next/navigation';
import { requireAdmin } from '@/lib/server/auth/session';

// GET /admin - the console opens on last night's runs.
export default async function AdminPage() {
  await requireAdmin();
  redirect('/admin/jobs');
}
