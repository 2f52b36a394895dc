/**
 * The playground page: one prompt, two panes of decoding settings (or two
 * models) generating side by side with streamed text, a 1–5 rating with a
 * comment on every output, an attention heatmap of a generated passage and
 * the ratings summary; a chat mode (chat.ts) for models with a chat template.
 */
import { getJSON, postJSON, postSSE, type AttentionAnswer, type ModelInfo, type SummaryGroup } from './api.js';
import { AttentionView } from './heatmap.js';
import { ChatView, wireModes } from './chat.js';

const $ = <T extends HTMLElement>(sel: string, root: ParentNode = document): T => {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`missing element ${sel}`);
  return el;
};

/** The last finished output of a pane: what a rating refers to. */
interface PaneResult {
  model: string;
  settings: Record<string, unknown>;
  prompt: string;
  output: string;
}

class Pane {
  readonly root: HTMLElement;
  private readonly output: HTMLElement;
  private readonly status: HTMLElement;
  private rating = 0;
  result: PaneResult | null = null;
  private controller: AbortController | null = null;

  constructor(
    root: HTMLElement,
    title: string,
    models: ModelInfo[],
    defaults: Record<string, number>,
    private readonly onAttention: (pane: Pane) => void,
    private readonly onRated: () => void,
  ) {
    this.root = root;
    const tpl = $<HTMLTemplateElement>('#pane-template');
    root.append(tpl.content.cloneNode(true));
    $('.pane-title', root).textContent = title;
    const sel = $<HTMLSelectElement>('select[name=model]', root);
    sel.append(new Option('auto (by prompt language)', ''));
    for (const m of models.filter((x) => x.kind === 'causal-lm')) sel.append(new Option(m.name, m.name));
    for (const [k, v] of Object.entries(defaults)) $<HTMLInputElement>(`input[name=${k}]`, root).value = String(v);
    this.output = $('.output', root);
    this.status = $('.status', root);
    root.querySelectorAll<HTMLButtonElement>('.stars button').forEach((b) =>
      b.addEventListener('click', () => {
        this.rating = Number(b.dataset.rate);
        root.querySelectorAll('.stars button').forEach((x) => x.classList.toggle('selected', x === b));
        $<HTMLButtonElement>('.submit-rating', root).disabled = this.result === null;
      }),
    );
    $('.submit-rating', root).addEventListener('click', () => void this.submitRating());
    $('.show-attention', root).addEventListener('click', () => this.onAttention(this));
  }

  /** The request body from the pane's controls (empty fields are left to the model's defaults). */
  private request(prompt: string): Record<string, unknown> {
    const body: Record<string, unknown> = { prompt, stream: true };
    const model = $<HTMLSelectElement>('select[name=model]', this.root).value;
    if (model) body.model = model;
    for (const name of ['maxNewTokens', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'seed']) {
      const v = $<HTMLInputElement>(`input[name=${name}]`, this.root).value.trim();
      if (v !== '') body[name] = Number(v);
    }
    // rhyme and tonal patterns apply to 5- and 7-character poems (the API says so for other prompts)
    if ($<HTMLInputElement>('input[name=rhyme]', this.root).checked) body.rhyme = true;
    const tones = $<HTMLSelectElement>('select[name=tones]', this.root).value;
    if (tones) body.tones = tones;
    return body;
  }

  /** Generate for `prompt`, streaming the text into the output box. */
  async run(prompt: string): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.result = null;
    this.rating = 0;
    this.root.querySelectorAll('.stars button').forEach((x) => x.classList.remove('selected'));
    $<HTMLButtonElement>('.submit-rating', this.root).disabled = true;
    $<HTMLButtonElement>('.show-attention', this.root).disabled = true;
    $('.rated', this.root).textContent = '';
    const promptSpan = document.createElement('span');
    promptSpan.className = 'prompt-text';
    promptSpan.textContent = prompt;
    const gen = document.createElement('span');
    gen.className = 'generated';
    this.output.replaceChildren(promptSpan, gen);
    this.status.textContent = 'generating…';
    let model = '';
    let settings: Record<string, unknown> = {};
    const t0 = performance.now();
    let firstMs: number | null = null;
    try {
      await postSSE(
        '/api/generate',
        this.request(prompt),
        (e) => {
          if (e.type === 'start') {
            model = String(e.model);
            settings = e.settings as Record<string, unknown>;
          } else if (e.type === 'token') {
            firstMs ??= performance.now() - t0;
            gen.textContent += String(e.text);
          } else if (e.type === 'done') {
            const usage = e.usage as { completionTokens: number };
            const ms = Number(e.elapsedMs);
            this.status.textContent = `${model} · ${usage.completionTokens} tokens in ${(ms / 1000).toFixed(2)} s · first token ${Math.round(firstMs ?? ms)} ms · finish: ${String(e.finishReason)}`;
          }
        },
        controller.signal,
      );
      this.result = { model, settings, prompt, output: gen.textContent ?? '' };
      $<HTMLButtonElement>('.show-attention', this.root).disabled = false;
      $<HTMLButtonElement>('.submit-rating', this.root).disabled = this.rating === 0;
    } catch (err) {
      this.status.textContent = controller.signal.aborted ? 'stopped' : `error: ${(err as Error).message}`;
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  stop(): void {
    this.controller?.abort();
  }

  private async submitRating(): Promise<void> {
    if (!this.result || this.rating === 0) return;
    const comment = $<HTMLInputElement>('.comment', this.root).value.trim();
    const rated = $('.rated', this.root);
    try {
      const r = await postJSON<{ id: number }>('/api/ratings', { ...this.result, rating: this.rating, comment: comment || null });
      rated.textContent = `saved rating #${r.id}`;
      $<HTMLButtonElement>('.submit-rating', this.root).disabled = true;
      this.onRated();
    } catch (err) {
      rated.textContent = `error: ${(err as Error).message}`;
    }
  }
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(2);
}

async function refreshSummary(): Promise<void> {
  const s = await getJSON<{ groups: SummaryGroup[] }>('/api/ratings/summary');
  const rows = s.groups.map((g) => {
    const tr = document.createElement('tr');
    const cells = [g.model, JSON.stringify(g.settings), String(g.count), fmt(g.mean), g.low === null ? 'n/a' : `${fmt(g.low)} – ${fmt(g.high)}`];
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      td.textContent = c;
      if (i === 1) td.className = 'settings';
      tr.append(td);
    });
    return tr;
  });
  $('#summary-table tbody').replaceChildren(...rows);
}

async function main(): Promise<void> {
  const { models } = await getJSON<{ models: ModelInfo[] }>('/api/models');
  const view = new AttentionView($('#attn-layer'), $('#attn-head'), $('#attn-tokens'), $('#attn-canvas'));
  const showAttention = async (pane: Pane): Promise<void> => {
    if (!pane.result) return;
    const section = $('#attention');
    section.hidden = false;
    $('#attn-source').textContent = `(${pane.result.model}, loading…)`;
    try {
      const a = await postJSON<AttentionAnswer>('/api/attention', { model: pane.result.model, text: pane.result.prompt + pane.result.output });
      view.set(a);
      $('#attn-source').textContent = `(${a.model}, ${a.seqLen} tokens)`;
    } catch (err) {
      $('#attn-source').textContent = `(error: ${(err as Error).message})`;
    }
  };
  const onRated = () => void refreshSummary();
  const a = new Pane($('#pane-a'), 'A', models, { temperature: 0.8, topK: 40 }, showAttention, onRated);
  const b = new Pane($('#pane-b'), 'B', models, { temperature: 1.2, topK: 0 }, showAttention, onRated);
  const compare = $<HTMLInputElement>('#compare');
  const syncCompare = () => {
    b.root.hidden = !compare.checked;
  };
  compare.addEventListener('change', syncCompare);
  syncCompare();
  const genBtn = $<HTMLButtonElement>('#generate');
  const stopBtn = $<HTMLButtonElement>('#stop');
  genBtn.addEventListener('click', async () => {
    const prompt = $<HTMLTextAreaElement>('#prompt').value;
    genBtn.disabled = true;
    stopBtn.disabled = false;
    try {
      await Promise.all([a.run(prompt), compare.checked ? b.run(prompt) : Promise.resolve()]);
    } finally {
      genBtn.disabled = false;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener('click', () => {
    a.stop();
    b.stop();
  });
  $('#refresh-summary').addEventListener('click', () => void refreshSummary());
  new ChatView(models);
  wireModes();
  await refreshSummary();
  document.body.dataset.ready = 'true';
}

void main();
