/**
 * Validation loss of poet models on v1's held-out poems, one full pass:
 *
 *   npx tsx scripts/poet-heldout-loss.ts MODEL_DIR... [--heldout .muse-cache/poet-v2/heldout.jsonl]
 *
 * Every held-out poem (scripts/build-poet-corpus.ts) is encoded with the
 * model's own tokenizer and followed by <|endoftext|>, as in training; the
 * stream is scored in disjoint windows of the model's context (every token
 * once, with 0 … n_positions − 1 tokens of context, the same mix as the
 * Trainer's random-window evaluation). Prints one JSON line per model: mean
 * NLL in nats per token (= per character for a character-level model, EOS
 * counted), the tokens scored and the share of <unk> among them.
 */
import { fromArray } from '../src/tensor/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { readCorpus } from '../src/data/corpus.js';
import { encodeDocuments } from '../src/models/gpt2/pretrain.js';
import { loadGPT2Dir as loadModelDir } from '../src/models/gpt2/family.js';
import { perplexity } from '../src/eval/perplexity.js';

const args = process.argv.slice(2);
const hi = args.indexOf('--heldout');
const heldout = hi >= 0 ? args[hi + 1] : '.muse-cache/poet-v2/heldout.jsonl';
const dirs = args.filter((_, i) => hi < 0 || (i !== hi && i !== hi + 1));
const docs = readCorpus(heldout, { script: 'simplified' });
for (const dir of dirs) {
  const loaded = loadModelDir(dir);
  loaded.model.train(false);
  const { ids } = encodeDocuments(docs, loaded.tokenizer, 'eos');
  const unkId = loaded.tokenizer.encode('<unk>', { addSpecialTokens: false }).ids;
  const unk = unkId.length === 1 ? ids.filter((t) => t === unkId[0]).length : 0;
  const maxLength = loaded.model.maxPositions;
  const res = await perplexity(
    (inputIds, labels) =>
      noGrad(() => {
        const t = inputIds.length;
        const out = loaded.model.forward(fromArray(Int32Array.from(inputIds), [1, t], 'int32'), { labels: fromArray(Int32Array.from(labels), [1, t], 'int32') });
        const count = labels.slice(1).filter((l) => l !== -100).length;
        return { nll: count > 0 ? out.loss!.item() * count : 0, count };
      }),
    ids,
    { maxLength, stride: maxLength },
  );
  process.stdout.write(JSON.stringify({ model: dir, heldout, documents: docs.length, meanNll: res.meanNll, tokens: res.tokens, unkShare: unk / ids.length }) + '\n');
}
