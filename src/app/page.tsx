export default function HomePage() {
  return (
    <main>
      <h1>Credits SaaS Starter</h1>
      <p>Prepaid credits: granted by plans and packs, spent in burn-down order, expired on time, driven by cron routes.</p>
    </main>
  );
}
