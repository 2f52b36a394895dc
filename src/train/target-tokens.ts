import type { Tensor } from '../tensor/index.js';

/**
 * The number of target tokens in a labels tensor: entries other than the
 * ignore index (−100, PyTorch's `CrossEntropyLoss` default, as HF labels
 * use). The Trainer's `tokensInBatch` for padded and masked batches.
 * @param labels int32 labels of any shape
 * @param ignoreIndex the label that carries no loss (default −100)
 */
export function countTargetTokens(labels: Tensor, ignoreIndex = -100): number {
  const d = labels.data;
  let n = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== ignoreIndex) n++;
  return n;
}
