// How random a string looks, for telling a secret (`Xk9#mQ2v`) from a placeholder (`changeme`).

const counts = new Uint16Array(128);

/** Shannon entropy in bits per character; non-ASCII characters share one bucket. */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    counts[c < 128 ? c : 127]! += 1;
  }
  let bits = 0;
  for (let c = 0; c < 128; c++) {
    const k = counts[c]!;
    if (k > 0) {
      const p = k / n;
      bits -= p * Math.log2(p);
    }
  }
  return bits;
}

/** How many of lowercase, uppercase, digits and other characters the string uses (0..4). */
export function characterClasses(value: string): number {
  let mask = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 122) mask |= 1;
    else if (c >= 65 && c <= 90) mask |= 2;
    else if (c >= 48 && c <= 57) mask |= 4;
    else mask |= 8;
  }
  return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1) + ((mask >> 3) & 1);
}
