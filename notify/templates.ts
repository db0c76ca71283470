import { formatUsd } from '../core/money.ts';
import type { Json } from '../db/queries/outbox.ts';
import type { Brand } from './brand.ts';

/**
 * The e-mails, each as text and HTML in the tenant's brand. A template gets the outbox row's
 * payload (written with the cause) and the brand (read when the message is sent, so a renamed
 * tenant mails under its new name). Every value that reaches HTML is escaped.
 */

export type EmailTopic =
  | 'verify_email'
  | 'reset_password'
  | 'password_changed'
  | 'key_created'
  | 'balance_low'
  | 'payment_succeeded'
  | 'payment_failed'
  | 'spend_limit_reached'
  | 'operator_digest';

const EMAIL_TOPICS: readonly EmailTopic[] = [
  'verify_email',
  'reset_password',
  'password_changed',
  'key_created',
  'balance_low',
  'payment_succeeded',
  'payment_failed',
  'spend_limit_reached',
  'operator_digest',
];

export type RenderedEmail = { subject: string; text: string; html: string };
type Data = { [key: string]: Json };

/** A message body: paragraphs, and at most one call to action. */
type Body = { subject: string; paragraphs: string[]; action?: { label: string; url: string } };

function field(data: Data, key: string): string {
  const value = data[key];
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function usd(data: Data, key: string): string {
  const raw = field(data, key);
  return /^-?\d+$/.test(raw) ? `$${formatUsd(BigInt(raw))}` : raw;
}

/** What a spending-limit notice says, by the limit that refused. */
function limitReachedText(data: Data): string {
  const key = `"${field(data, 'keyName') || 'unnamed'}"`;
  const limit = usd(data, 'limitNanos');
  const spent = field(data, 'spentNanos') ? ` (${usd(data, 'spentNanos')} spent)` : '';
  const nextMonth = 'the first day of next month';
  switch (field(data, 'limit')) {
    case 'key_cap':
      return (
        `Your API key ${key} has less of its ${limit} credit limit left than a request needs. ` +
        'Requests with it are refused until you raise the limit.'
      );
    case 'key_day':
      return (
        `Your API key ${key} reached its spending limit of ${limit} per UTC day${spent}. ` +
        'Its requests are refused until 00:00 UTC.'
      );
    case 'key_month':
      return (
        `Your API key ${key} reached its spending limit of ${limit} per UTC month${spent}. ` +
        `Its requests are refused until ${nextMonth}.`
      );
    case 'account_month':
      return (
        `Your account reached its spending limit of ${limit} per UTC month${spent}. ` +
        `Requests are refused until ${nextMonth}.`
      );
    default:
      return (
        `Your account reached its spending limit of ${limit} per UTC day${spent}. ` +
        'Requests are refused until 00:00 UTC.'
      );
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The operators' daily digest: the day's totals, then each failed payment listed (a bounded few). */
function digestBody(data: Data, brand: Brand): Body {
  const failures = Array.isArray(data.failures) ? data.failures : [];
  const failureCount = Number(field(data, 'failureCount')) || 0;
  const writeOffs = Number(field(data, 'writeOffCount')) || 0;
  const lines = failures.map((entry) => {
    const f = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : {};
    const reason = field(f, 'reason') ? ` (${field(f, 'reason')})` : '';
    return `${field(f, 'email')}: ${field(f, 'what')}, ${usd(f, 'amountNanos')}${reason}`;
  });
  const more = failureCount > lines.length ? [`…and ${failureCount - lines.length} more.`] : [];
  return {
    subject:
      `${brand.name} daily digest for ${field(data, 'day')}: ${plural(failureCount, 'failed payment')}, ` +
      `${usd(data, 'writtenOffNanos')} written off`,
    paragraphs: [
      `On ${field(data, 'day')} (UTC), ${plural(failureCount, 'payment')} failed, ` +
        `for ${usd(data, 'failedNanos')} in all, and ${plural(writeOffs, 'request')} cost more than ` +
        `${writeOffs === 1 ? 'its hold and the credit' : 'their holds and the credit'} left could cover: ` +
        `${usd(data, 'writtenOffNanos')} written off to the uncollected book.`,
      ...lines,
      ...more,
    ],
    action: { label: 'Open the console', url: link(brand, '/admin') },
  };
}

/** "(20% of your last top-up)" for an alert set as a share, else nothing. */
function shareText(data: Data): string {
  const bps = data.shareBps;
  if (typeof bps !== 'number') return '';
  const percent = `${Math.trunc(bps / 100)}${
    bps % 100 === 0
      ? ''
      : `.${String(bps % 100)
          .padStart(2, '0')
          .replace(/0$/, '')}`
  }`;
  return ` (${percent}% of your last top-up)`;
}

const link = (brand: Brand, path: string, token?: string) =>
  `${brand.portalUrl}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;

const BODIES: Record<EmailTopic, (data: Data, brand: Brand) => Body> = {
  verify_email: (data, brand) => ({
    subject: `Confirm your e-mail address for ${brand.name}`,
    paragraphs: [
      `Welcome to ${brand.name}. Confirm that this address is yours to finish setting up your account.`,
      `The link works once and expires in ${field(data, 'expiresHours')} hours. ` +
        'If you did not sign up, ignore this message.',
    ],
    action: { label: 'Confirm my address', url: link(brand, '/verify', field(data, 'token')) },
  }),
  reset_password: (data, brand) => ({
    subject: `Reset your ${brand.name} password`,
    paragraphs: [
      'Someone (hopefully you) asked to reset the password of this account.',
      `The link works once and expires in ${field(data, 'expiresMinutes')} minutes. ` +
        'If you did not ask, ignore this message: your password stays as it is.',
    ],
    action: { label: 'Choose a new password', url: link(brand, '/reset', field(data, 'token')) },
  }),
  password_changed: (_data, brand) => ({
    subject: `Your ${brand.name} password was changed`,
    paragraphs: [
      'The password of your account was just changed, and every other session was signed out.',
      'If this was not you, reset your password now and contact support.',
    ],
    action: { label: 'Reset my password', url: link(brand, '/reset') },
  }),
  key_created: (data, brand) => ({
    subject: `A new API key was created on your ${brand.name} account`,
    paragraphs: [
      `An API key named "${field(data, 'name') || 'unnamed'}" (${field(data, 'publicId')}…) ` +
        'was created on your account.',
      'If you did not create it, revoke it now and change your password.',
    ],
    action: { label: 'Review my keys', url: link(brand, '/keys') },
  }),
  balance_low: (data, brand) => ({
    subject: `Your ${brand.name} balance is below ${usd(data, 'thresholdNanos')}`,
    paragraphs: [
      `Your balance is now ${usd(data, 'balanceNanos')}, below the ${usd(data, 'thresholdNanos')} alert you set` +
        `${shareText(data)}.`,
      'Add credit to keep your requests running. ' +
        'This alert is sent again only after your balance has gone back above it.',
    ],
    action: { label: 'Add credit', url: link(brand, '/billing') },
  }),
  payment_succeeded: (data, brand) => ({
    subject: `Receipt: ${usd(data, 'creditNanos')} of ${brand.name} credit`,
    paragraphs: [
      `Thank you. Your payment of ${usd(data, 'amountNanos')} (${field(data, 'description')}) went through ` +
        `and ${usd(data, 'creditNanos')} of credit was added to your balance.`,
    ],
    action: {
      label: 'View the receipt',
      url: field(data, 'receiptUrl') || link(brand, '/billing'),
    },
  }),
  payment_failed: (data, brand) => ({
    subject: `A payment to ${brand.name} failed`,
    paragraphs: [`${field(data, 'what')} did not go through: ${field(data, 'reason')}`, 'No credit was added.'],
    action: { label: 'Update my payment method', url: link(brand, '/billing') },
  }),
  spend_limit_reached: (data, brand) => ({
    subject: `A spending limit on your ${brand.name} account was reached`,
    paragraphs: [limitReachedText(data), 'This notice is sent once for each limit and period.'],
    action: field(data, 'limit').startsWith('key_')
      ? { label: 'Review my keys', url: link(brand, '/keys') }
      : { label: 'View my usage', url: link(brand, '/usage') },
  }),
  operator_digest: (data, brand) => digestBody(data, brand),
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function footer(brand: Brand): string {
  return brand.supportEmail ? `Questions? Write to ${brand.supportEmail}.` : `Sent by ${brand.name}.`;
}

function renderText(body: Body, brand: Brand): string {
  const action = body.action ? [`${body.action.label}: ${body.action.url}`] : [];
  return [brand.name, '', ...body.paragraphs.flatMap((p) => [p, '']), ...action, '', '-- ', footer(brand), ''].join(
    '\n',
  );
}

function renderHtml(body: Body, brand: Brand): string {
  const color = escapeHtml(brand.primaryColor);
  const logo = brand.logoUrl
    ? `<img src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(brand.name)}" height="32" ` +
      'style="vertical-align:middle;border:0">'
    : `<strong style="font-size:18px">${escapeHtml(brand.name)}</strong>`;
  const paragraphs = body.paragraphs.map((p) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`).join('');
  const button = `background:${color};color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block`;
  const action = body.action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(body.action.url)}" style="${button}">` +
      `${escapeHtml(body.action.label)}</a></p>` +
      `<p style="margin:0 0 16px;font-size:12px;color:#6b7280">${escapeHtml(body.action.url)}</p>`
    : '';
  return [
    '<!doctype html><html><body style="margin:0;background:#f3f4f6;font-family:system-ui,sans-serif;color:#111827">',
    '<div style="max-width:560px;margin:0 auto;padding:24px">',
    `<div style="border-top:4px solid ${color};background:#ffffff;padding:24px;border-radius:8px">`,
    `<div style="margin:0 0 24px;color:${color}">${logo}</div>`,
    paragraphs,
    action,
    '</div>',
    `<p style="font-size:12px;color:#6b7280;text-align:center">${escapeHtml(footer(brand))}</p>`,
    '</div></body></html>',
  ].join('');
}

export function isEmailTopic(topic: string): topic is EmailTopic {
  return (EMAIL_TOPICS as readonly string[]).includes(topic);
}

export function renderEmail(topic: EmailTopic, data: Data, brand: Brand): RenderedEmail {
  const body = BODIES[topic](data, brand);
  return { subject: body.subject, text: renderText(body, brand), html: renderHtml(body, brand) };
}
