import type { AdamWParams } from '../backend.js';

/**
 * One AdamW step with PyTorch `torch.optim.AdamW` semantics (decoupled weight
 * decay applied first, bias-corrected moments, eps added after the square root).
 */
export function adamw(p: AdamWParams): void {
  const { param, grad, expAvg, expAvgSq, lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
  const bc1 = 1 - Math.pow(beta1, step);
  const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    const m = beta1 * expAvg[i] + (1 - beta1) * g;
    const v = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    param[i] = param[i] * decay - (stepSize * m) / (Math.sqrt(v) / sqrtBc2 + eps);
  }
}
