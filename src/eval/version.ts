/**
 * The version written into muse's sacreBLEU-style signatures
 * (`…|version:muse-0.1.0`). Scores follow sacreBLEU 2.x; the version field
 * says which program produced them, so a signature never claims to come
 * from sacreBLEU itself.
 */
export const EVAL_VERSION = 'muse-0.1.0';
