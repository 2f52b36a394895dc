import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findPii, luhnValid, redactPii } from '../../src/data/pii.js';

test('Luhn check on published test card numbers', () => {
  // PayPal/Stripe test numbers (valid Luhn) and single-digit corruptions of them
  for (const n of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '3530111333300000', '79927398713']) {
    assert.ok(luhnValid(n), n);
  }
  for (const n of ['4111111111111112', '5555555555554443', '378282246310006', '79927398710', '']) assert.ok(!luhnValid(n), n);
});

test('redacts e-mails, phones, URLs, IPs and cards in realistic text', () => {
  const cases: [string, string][] = [
    ['Contact Jane at jane.doe+news@mail.example.co.uk or call +1 (415) 555-0132.', 'Contact Jane at [EMAIL] or call [PHONE].'],
    ['Logs from 192.168.1.20 and 10.0.0.1. Version 1.2.3.4.5 is not an address, nor is 256.1.1.1.', 'Logs from [IP] and [IP]. Version 1.2.3.4.5 is not an address, nor is 256.1.1.1.'],
    ['Paid with 4111 1111 1111 1111, exp 12/26; the typo 4111 1111 1111 1112 is no card.', 'Paid with [CREDIT_CARD], exp 12/26; the typo 4111 1111 1111 1112 is no card.'],
    ['Amex 3782-822463-10005 on file.', 'Amex [CREDIT_CARD] on file.'],
    ['See https://example.com/story?id=12&t=(2)). Or www.muse.dev, thanks!', 'See [URL]). Or [URL], thanks!'],
    ['请拨打13800138000或者010-6552-9988联系，邮箱 wang@163.com。', '请拨打[PHONE]或者[PHONE]联系，邮箱 [EMAIL]。'],
    ['UK office: +44 20 7946 0958; Berlin: +49 30 901820; NY: 212.555.0187.', 'UK office: [PHONE]; Berlin: [PHONE]; NY: [PHONE].'],
    ['mailto link <a href="mailto:bob@example.org">Bob</a>', 'mailto link <a href="mailto:[EMAIL]">Bob</a>'],
  ];
  for (const [input, expected] of cases) assert.equal(redactPii(input).text, expected, input);
});

test('leaves dates, times, money, years, versions and ISBNs alone', () => {
  const clean = [
    'On 2024-01-15 at 10:30 we sold 1,000,000 copies at $3.50 each.',
    'In 1999, 2001 and 12/05/2023 the fox ran 42 miles.',
    'pi is 3.14159; python 3.11.4; ISBN 978-3-16-148410-0; room 12 34.',
    '一千二百三十四只羊，第 5 章，公元 755 年。',
    'Call me Ishmael. Some years ago - never mind how long precisely - I went to sea.',
  ];
  for (const s of clean) assert.deepEqual(findPii(s), [], s);
});

test('counts per kind, type filter, and overlapping kinds give one finding', () => {
  const { text, counts } = redactPii('a@b.io, c@d.io, 8.8.8.8 and https://x.org/u/e@f.io');
  assert.equal(text, '[EMAIL], [EMAIL], [IP] and [URL]');
  assert.deepEqual(counts, { EMAIL: 2, URL: 1, IP: 1, CREDIT_CARD: 0, PHONE: 0 });
  assert.equal(redactPii('write to ana@www.example.com or http://10.0.0.1:8080/admin').text, 'write to [EMAIL] or [URL]');
  assert.equal(redactPii('a@b.io and 8.8.8.8', { types: ['IP'] }).text, 'a@b.io and [IP]');
  const m = findPii('mail ana@example.com now');
  assert.deepEqual(m, [{ type: 'EMAIL', start: 5, end: 20, text: 'ana@example.com' }]);
});
