/** Small deterministic PRNG (mulberry32) so a fuzz failure reproduces from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed for a fuzz run: SLUICE_FUZZ_SEED to reproduce one, else the given default. */
export function fuzzSeed(fallback: number): number {
  return Number(process.env.SLUICE_FUZZ_SEED ?? fallback);
}
