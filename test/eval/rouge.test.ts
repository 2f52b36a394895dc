import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpusRouge, hasCjk, rougeScores, rougeTokenize, type RougeOptions } from '../../src/eval/index.js';
import { PorterStemmer } from '../../src/eval/porter.js';
import { close, fixtures } from './fixtures.js';

// rouge-score's test data (google-research/rouge/testdata): random strings
// whose "ground truth" scores come from manual runs of ROUGE-1.5.5
// (rouge_scorer_test.py). Lines 0 and 1 of target.txt / prediction.txt.
const TARGETS = [
  "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n",
  "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n",
];
const PREDICTIONS = [
  "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n",
  "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n",
];
const TARGET_MULTI = `${TARGETS[0]}${TARGETS[1]}NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT
vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM
`;
const PREDICTION_MULTI = `${PREDICTIONS[0]}${PREDICTIONS[1]}xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J
VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO
`;

function expectScore(got: { precision: number; recall: number; fmeasure: number }, r: number, p: number, f: number, what: string, tol = 5e-6): void {
  close(got.recall, r, `${what} recall`, tol);
  close(got.precision, p, `${what} precision`, tol);
  close(got.fmeasure, f, `${what} fmeasure`, tol);
}

test('rouge-score unit tests (rouge_scorer_test.py)', () => {
  expectScore(rougeScores('testing', 'testing one two', { rougeTypes: ['rouge1'] }).rouge1, 1 / 3, 1, 1 / 2, 'rouge1');
  expectScore(rougeScores('testing one', 'testing one two', { rougeTypes: ['rouge2'] }).rouge2, 1 / 2, 1, 2 / 3, 'rouge2');
  expectScore(rougeScores('testing one', 'testing one two', { rougeTypes: ['rougeL'] }).rougeL, 2 / 3, 1, 4 / 5, 'rougeL consecutive');
  expectScore(rougeScores('testing two', 'testing one two', { rougeTypes: ['rougeL'] }).rougeL, 2 / 3, 1, 4 / 5, 'rougeL non-consecutive');
  for (const t of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']) {
    expectScore(rougeScores('', 'testing one two', { rougeTypes: [t] })[t], 0, 0, 0, `${t} empty`);
  }
  expectScore(rougeScores('w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5', 'w1 w2 w3 w4 w5', { rougeTypes: ['rougeLsum'] }).rougeLsum, 0.8, 0.4, 0.8 * 0.4 * 2 / 1.2, 'Lsum');
  expectScore(rougeScores('w1', '', { rougeTypes: ['rougeLsum'] }).rougeLsum, 0, 0, 0, 'Lsum empty target');
  expectScore(rougeScores('/', 'w1 w2 w3 w4 w5', { rougeTypes: ['rougeLsum'] }).rougeLsum, 0, 0, 0, 'Lsum non-word summary');
  for (const bad of ['rougen', 'rouge0', 'rouge10', 'bleu']) assert.throws(() => rougeScores('a', 'a', { rougeTypes: [bad] }), /invalid ROUGE type/);
});

test('rouge-score against ROUGE-1.5.5 ground truth (5 decimals)', () => {
  const r = (i: number, opts: RougeOptions) => rougeScores(PREDICTIONS[i], TARGETS[i], { rougeTypes: ['rouge1', 'rouge2', 'rougeL'], ...opts });
  expectScore(r(0, {}).rouge1, 0.40741, 0.6875, 0.51163, 'R1 0');
  expectScore(r(1, {}).rouge1, 0.40476, 0.65385, 0.5, 'R1 1');
  expectScore(r(0, { useStemmer: true }).rouge1, 0.40741, 0.6875, 0.51163, 'R1 stem 0');
  expectScore(r(1, { useStemmer: true }).rouge1, 0.42857, 0.69231, 0.52941, 'R1 stem 1');
  expectScore(r(0, {}).rouge2, 0.30769, 0.53333, 0.39024, 'R2 0');
  expectScore(r(1, {}).rouge2, 0.29268, 0.48, 0.36364, 'R2 1');
  expectScore(r(0, {}).rougeL, 0.40741, 0.6875, 0.51163, 'RL 0');
  expectScore(r(1, {}).rougeL, 0.40476, 0.65385, 0.5, 'RL 1');
  const lsum = rougeScores(PREDICTION_MULTI, TARGET_MULTI, { rougeTypes: ['rougeLsum'], useStemmer: true }).rougeLsum;
  expectScore(lsum, 0.36538, 0.66667, 0.47205, 'Lsum stem');
});

test('matches rouge-score on every fixture case (incl. stemming, Lsum documents, zh tokenizer)', () => {
  assert.ok(fixtures.rouge.length > 70);
  for (const c of fixtures.rouge) {
    const got = rougeScores(c.hyp, c.ref, c.opts);
    for (const [type, e] of Object.entries(c.expected)) {
      close(got[type].precision, e.precision, `${c.name} ${type} P`);
      close(got[type].recall, e.recall, `${c.name} ${type} R`);
      close(got[type].fmeasure, e.fmeasure, `${c.name} ${type} F`);
    }
  }
});

test('Chinese: rouge-score scores 0, zh and auto give character-level ROUGE', () => {
  const hyp = '床前明月光，疑是地上霜。';
  const ref = '床前看月光，疑是地上霜。';
  assert.equal(rougeScores(hyp, ref, { tokenize: 'default' }).rouge1.fmeasure, 0);
  const zh = rougeScores(hyp, ref, { tokenize: 'zh' });
  // 10 CJK characters each, 9 in common; bigrams: 8 of 9 shared except the two spanning 看/明
  close(zh.rouge1.fmeasure, 9 / 10, 'zh rouge1');
  close(zh.rouge2.fmeasure, 7 / 9, 'zh rouge2');
  assert.deepEqual(rougeScores(hyp, ref), zh); // auto picks zh for CJK text
  // auto leaves non-CJK text exactly as rouge-score
  assert.deepEqual(rougeScores('The cat sat.', 'A cat sat down.'), rougeScores('The cat sat.', 'A cat sat down.', { tokenize: 'default' }));
  assert.deepEqual(rougeTokenize('我们用ROUGE-2评估models', new PorterStemmer(), true), ['我', '们', '用', 'roug', '2', '评', '估', 'model']);
  assert.ok(hasCjk('かな') && hasCjk('한글') && !hasCjk('café'));
});

test('corpusRouge averages per-segment scores and takes the best reference per type', () => {
  const hyps = ['the cat sat', 'a dog ran'];
  const refs = ['the cat sat down', 'the dog ran'];
  const res = corpusRouge(hyps, refs, { rougeTypes: ['rouge1'] });
  const a = rougeScores(hyps[0], refs[0], { rougeTypes: ['rouge1'] }).rouge1;
  const b = rougeScores(hyps[1], refs[1], { rougeTypes: ['rouge1'] }).rouge1;
  close(res.mean.rouge1.fmeasure, (a.fmeasure + b.fmeasure) / 2, 'mean F');
  const multi = corpusRouge(['the cat sat'], [['a bird flew'], ['the cat sat']], { rougeTypes: ['rouge1'] });
  close(multi.mean.rouge1.fmeasure, 1, 'best reference');
  assert.throws(() => corpusRouge(['a', 'b'], ['a']), /stream 1 has 1 lines/);
});
