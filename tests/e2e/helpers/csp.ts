import type { BrowserContext } from 'playwright-core';

/**
 * Collects what the Content-Security-Policy blocks in every page of `context`: each document reports
 * its `securitypolicyviolation` events, console messages name blocked inline code too, and page errors
 * are kept. The returned array fills as pages load; a test expects it to stay empty.
 */
export async function watchCspViolations(context: BrowserContext): Promise<string[]> {
  const violations: string[] = [];
  await context.exposeFunction('reportCspViolation', (report: string) => violations.push(report));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { reportCspViolation: (r: string) => void }).reportCspViolation;
      report(
        `${document.location.pathname}: ${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  context.on('console', (message) => {
    if (/content.security.policy/i.test(message.text())) violations.push(`console: ${message.text()}`);
  });
  context.on('weberror', (error) => violations.push(`page error: ${error.error().message}`));
  return violations;
}
