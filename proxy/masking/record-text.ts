import type { ContentMasker } from './masking-types.js';

/**
 * Text as the audit store and approvers see it: content detectors applied, so a secret or an
 * email typed into a statement is stored and shown masked. A `null`-strategy hit hides it whole.
 */
export function maskedForRecord(content: ContentMasker, text: string): string {
  if (content.empty) return text;
  const masked = content.mask(text, new Map());
  if (masked === undefined) return text;
  return masked ?? '[hidden by a masking rule]';
}
