/**
 * A minimal XML well-formedness checker for the tests (no XML parser is a
 * dependency): one root element, balanced and properly nested tags, quoted
 * attributes without raw `<`, no duplicate attributes, text without raw `<`,
 * and `&` only in the five predefined entities or numeric references.
 * @returns the element names in document order (for counting)
 * @throws Error describing the first problem
 */
export function checkWellFormedXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let i = 0;
  let rootSeen = false;
  const entityOk = (s: string, where: string) => {
    const amp = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
    if (amp) throw new Error(`bare & in ${where}`);
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (text.trim() && stack.length === 0) throw new Error(`text outside the root element: ${text.slice(0, 30)}`);
    entityOk(text, 'text');
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`closing </${name}> does not match <${open}>`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*$/.exec(body);
      if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}>`);
      const attrs = [...m[2].matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)];
      const seen = new Set<string>();
      for (const a of attrs) {
        if (seen.has(a[1])) throw new Error(`duplicate attribute ${a[1]} on <${m[1]}>`);
        seen.add(a[1]);
        entityOk(a[2], `attribute ${a[1]}`);
      }
      if (stack.length === 0) {
        if (rootSeen) throw new Error('more than one root element');
        rootSeen = true;
      }
      names.push(m[1]);
      if (!selfClosing) stack.push(m[1]);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (!rootSeen) throw new Error('no root element');
  return names;
}
