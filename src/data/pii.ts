/**
 * A small redactor for personal data in training text (DESIGN.md: data/
 * redacts PII before a corpus reaches a model, so a model cannot memorise
 * and repeat it). It finds e-mail addresses, URLs, IPv4 addresses, payment
 * card numbers (13–19 digits passing the Luhn check) and phone numbers, and
 * replaces each with a placeholder such as `[EMAIL]`.
 *
 * Pattern-based, like the regex stage of Microsoft Presidio or BigCode's
 * StarCoder PII pipeline: it catches the common formats, not every one, and
 * it does not find names or street addresses (that needs a NER model).
 */

/** The kinds of personal data found, with their placeholders `[EMAIL]`, `[URL]`, `[IP]`, `[CREDIT_CARD]`, `[PHONE]`. */
export type PiiType = 'EMAIL' | 'URL' | 'IP' | 'CREDIT_CARD' | 'PHONE';

/** One finding: `text.slice(start, end)` is the matched span. */
export interface PiiMatch {
  type: PiiType;
  start: number;
  end: number;
  text: string;
}

/** Options of {@link findPii} and {@link redactPii}. */
export interface PiiOptions {
  /** Which kinds to look for; default all. */
  types?: readonly PiiType[];
}

const ALL: readonly PiiType[] = ['EMAIL', 'URL', 'IP', 'CREDIT_CARD', 'PHONE'];

const EMAIL = /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w-])/g;
const URL_RE = /\b(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'`，。、；：！？）】」』]+/gi;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\d.])${OCTET}(?:\\.${OCTET}){3}(?!\\.?\\d)`, 'g');
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g;
// international or national numbers: optional +CC, optional (area), 2–5 groups of digits
const PHONE = /(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){1,4}(?![\w])|(?<!\d)1[3-9]\d{9}(?!\d)/g;

/** The Luhn checksum (ISO/IEC 7812-1) every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

function looksLikeDate(s: string): boolean {
  return /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/.test(s);
}

function candidates(text: string, type: PiiType): PiiMatch[] {
  const out: PiiMatch[] = [];
  const push = (start: number, s: string): void => {
    out.push({ type, start, end: start + s.length, text: s });
  };
  switch (type) {
    case 'EMAIL':
      for (const m of text.matchAll(EMAIL)) push(m.index, m[0]);
      break;
    case 'URL':
      for (const m of text.matchAll(URL_RE)) {
        let s = m[0];
        // trailing punctuation belongs to the sentence, a closing bracket only if unbalanced
        for (;;) {
          const last = s.slice(-1);
          if (/[.,;:!?'"]/.test(last)) s = s.slice(0, -1);
          else if (last === ')' && (s.match(/\(/g)?.length ?? 0) < (s.match(/\)/g)?.length ?? 0)) s = s.slice(0, -1);
          else break;
        }
        push(m.index, s);
      }
      break;
    case 'IP':
      for (const m of text.matchAll(IPV4)) push(m.index, m[0]);
      break;
    case 'CREDIT_CARD':
      for (const m of text.matchAll(CARD)) {
        const digits = m[0].replace(/[ -]/g, '');
        if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) push(m.index, m[0]);
      }
      break;
    case 'PHONE':
      for (const m of text.matchAll(PHONE)) {
        const s = m[0];
        const digits = s.replace(/\D/g, '').length;
        if (digits < 7 || digits > 15 || looksLikeDate(s)) continue;
        // a bare "1234 5678" could be anything; want a +, a bracket, or 3+ groups, or a mobile-length run
        const groups = s.split(/[\s.\-()]+/).filter(Boolean).length;
        if (!s.startsWith('+') && !s.includes('(') && groups < 3 && !/^1[3-9]\d{9}$/.test(s) && digits < 10) continue;
        push(m.index, s);
      }
      break;
  }
  return out;
}

/**
 * Find personal data in `text`. Where findings of different kinds overlap,
 * the longer span wins (ties: e-mail, URL, IP, card, phone), so a URL that
 * contains an e-mail address is one URL, and `ana@www.example.com` one e-mail.
 *
 * @returns non-overlapping findings sorted by position
 */
export function findPii(text: string, opts: PiiOptions = {}): PiiMatch[] {
  const types = opts.types ?? ALL;
  const all = ALL.filter((t) => types.includes(t)).flatMap((t, rank) => candidates(text, t).map((c) => ({ c, rank })));
  all.sort((a, b) => b.c.end - b.c.start - (a.c.end - a.c.start) || a.rank - b.rank || a.c.start - b.c.start);
  const taken: PiiMatch[] = [];
  for (const { c } of all) {
    if (!taken.some((t) => c.start < t.end && t.start < c.end)) taken.push(c);
  }
  return taken.sort((a, b) => a.start - b.start);
}

/**
 * Replace personal data with placeholders: `write to ana@example.com` →
 * `write to [EMAIL]`.
 *
 * @returns the redacted text and how many of each kind were replaced
 */
export function redactPii(text: string, opts: PiiOptions = {}): { text: string; counts: Record<PiiType, number> } {
  const counts: Record<PiiType, number> = { EMAIL: 0, URL: 0, IP: 0, CREDIT_CARD: 0, PHONE: 0 };
  let out = '';
  let at = 0;
  for (const m of findPii(text, opts)) {
    out += `${text.slice(at, m.start)}[${m.type}]`;
    at = m.end;
    counts[m.type]++;
  }
  return { text: out + text.slice(at), counts };
}
