import { isSecret } from '../config/secret.js';

// Every secret value the gateway's config holds (upstream passwords, injected tokens, exec
// resources' env and files, the shared store's URL), revealed, for scrubbing command output.
// An exec command runs as the gateway's OS user: one that can read the gateway's environment
// (/proc/PPID/environ) or files must still not hand the caller what the gateway holds for other
// resources. See docs/exec.md for what scrubbing cannot catch.

export function heldSecrets(config: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (isSecret(node)) {
      const value = node.reveal();
      for (const form of scrubbedForms(value)) found.add(form);
      // A URL's password also travels alone (a connection string's password field).
      const password = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@/i.exec(value)?.[1];
      if (password) found.add(decodeURIComponentSafe(password));
    } else if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node !== null && typeof node === 'object') {
      Object.values(node).forEach(walk);
    }
  };
  walk(config);
  return [...found];
}

/** A word of a one-line secret scrubbed alone ("Bearer abc…"): shorter ones are ordinary words. */
const MIN_WORD = 8;
/** In a value of several lines, the words this long are what would give it away: a kubeconfig's token, a key's body. */
const MIN_FILE_WORD = 16;

/**
 * What output is scrubbed of for one secret: a one-line value whole; a file of several lines by
 * its long words, so its harmless lines stay readable and the result does not depend on how the
 * output was cut into chunks.
 */
export function scrubbedForms(value: string): string[] {
  const trimmed = value.trim();
  if (!trimmed) return [];
  // "Bearer abc…": the token also travels alone.
  if (!/[\r\n]/.test(trimmed)) return [trimmed, ...trimmed.split(/\s+/).filter((word) => word.length >= MIN_WORD && word !== trimmed)];
  return [...new Set(trimmed.split(/[\s"',]+/).filter((word) => word.length >= MIN_FILE_WORD))];
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
