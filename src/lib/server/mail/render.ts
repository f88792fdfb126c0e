import 'server-only';

/**
 * A transactional mail as data: a heading, paragraphs, at most one button, and a footer line. Both the
 * text and the HTML part come from it, so they never say different things, and every value is escaped
 * once, here. Each kind of mail is a function returning one of these (next to the usecase that sends it).
 */
export type MailContent = {
  subject: string;
  heading: string;
  paragraphs: readonly string[];
  action?: { label: string; url: string };
  footer?: string;
};

export function renderMail(content: MailContent): { subject: string; text: string; html: string } {
  const text = [
    content.heading,
    '',
    ...content.paragraphs.flatMap((paragraph) => [paragraph, '']),
    ...(content.action ? [`${content.action.label}: ${content.action.url}`, ''] : []),
    ...(content.footer ? ['--', content.footer] : []),
  ]
    .join('\n')
    .trimEnd();
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:560px;margin:0 auto;padding:24px">',
    `<h1 style="font-size:20px">${escapeHtml(content.heading)}</h1>`,
    ...content.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    content.action
      ? `<p><a href="${escapeHtml(content.action.url)}" style="display:inline-block;padding:10px 16px;background:#111;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(content.action.label)}</a></p><p style="font-size:13px;color:#555">${escapeHtml(content.action.url)}</p>`
      : '',
    content.footer ? `<hr><p style="font-size:13px;color:#555">${escapeHtml(content.footer)}</p>` : '',
    '</body></html>',
  ].join('');
  return { subject: content.subject, text, html };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
