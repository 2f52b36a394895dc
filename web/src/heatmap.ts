/**
 * The attention view: tokens of a passage inline (hover one to shade every
 * token by how much it attends to it) and the full query × key matrix of the
 * chosen layer and head on a canvas.
 */
import type { AttentionAnswer } from './api.js';

/** Map a weight in [0, 1] to a colour (white → deep blue); sqrt so small weights stay visible. */
function shade(w: number): string {
  const t = Math.sqrt(Math.max(0, Math.min(1, w)));
  const r = Math.round(255 - t * 220);
  const g = Math.round(255 - t * 190);
  return `rgb(${r}, ${g}, 255)`;
}

/** Display form of a token (spaces and line breaks made visible). */
function show(tok: string): string {
  return tok === '\n' ? '↵\n' : tok === ' ' ? '·' : tok;
}

/** Renders one {@link AttentionAnswer} into the page's attention section. */
export class AttentionView {
  private data: AttentionAnswer | null = null;

  constructor(
    private readonly layerSel: HTMLSelectElement,
    private readonly headSel: HTMLSelectElement,
    private readonly tokensEl: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
  ) {
    layerSel.addEventListener('change', () => this.render());
    headSel.addEventListener('change', () => this.render());
  }

  /** Show a new passage (keeps the chosen layer/head when they exist). */
  set(data: AttentionAnswer): void {
    this.data = data;
    const fill = (sel: HTMLSelectElement, n: number) => {
      const keep = Math.min(Number(sel.value) || 0, n - 1);
      sel.replaceChildren(...Array.from({ length: n }, (_, i) => new Option(String(i), String(i))));
      sel.value = String(keep);
    };
    fill(this.layerSel, data.nLayer);
    fill(this.headSel, data.nHead);
    this.render();
  }

  private matrix(): number[] {
    const d = this.data!;
    return d.weights[Number(this.layerSel.value)][Number(this.headSel.value)];
  }

  private render(): void {
    const d = this.data;
    if (!d) return;
    const T = d.seqLen;
    const m = this.matrix();
    const spans = d.tokens.map((tok, i) => {
      const s = document.createElement('span');
      s.textContent = show(tok);
      s.dataset.index = String(i);
      s.title = `token ${i}`;
      s.addEventListener('mouseenter', () => this.highlight(i, spans));
      return s;
    });
    this.tokensEl.replaceChildren(...spans);
    if (T > 0) this.highlight(T - 1, spans);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const cell = Math.max(2, Math.floor(384 / T));
    this.canvas.width = this.canvas.height = cell * T;
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        ctx.fillStyle = shade(m[i * T + j]);
        ctx.fillRect(j * cell, i * cell, cell, cell);
      }
    }
  }

  /** Shade every token by the attention query `i` pays to it. */
  private highlight(i: number, spans: HTMLSpanElement[]): void {
    const T = this.data!.seqLen;
    const m = this.matrix();
    spans.forEach((s, j) => {
      const w = j <= i ? m[i * T + j] : 0;
      s.style.background = j <= i ? shade(w) : '';
      s.classList.toggle('query', j === i);
      s.title = `token ${j}: ${(w * 100).toFixed(1)}% of token ${i}'s attention`;
    });
  }
}
