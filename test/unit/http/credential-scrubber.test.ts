import { describe, expect, it } from 'vitest';
import { CredentialScrubber } from '../../../proxy/http/credential-scrubber.js';

describe('the credential scrubber', () => {
  const scrubber = new CredentialScrubber(['s3cret-token-123', 'short', 's3cret-token-123-longer']);

  it('replaces every form in text, longest first, and ignores values too short to scrub', () => {
    expect(scrubber.scrubText('a s3cret-token-123-longer b s3cret-token-123 c short')).toBe('a [secret] b [secret] c short');
    expect(scrubber.scrubText('nothing here')).toBeUndefined();
    expect(new CredentialScrubber(['abc']).empty).toBe(true);
  });

  it('finds a value split across chunks, at every cut', () => {
    const input = Buffer.from('xx s3cret-token-123 yy s3cret-token-123s3cret-token-123-longer zz s3cret-token-12');
    const expected = 'xx [secret] yy [secret][secret] zz s3cret-token-12';
    for (let size = 1; size <= input.length; size++) {
      const stream = scrubber.stream();
      const out: Buffer[] = [];
      for (let at = 0; at < input.length; at += size) out.push(...stream.write(input.subarray(at, at + size)));
      out.push(...stream.end());
      expect(Buffer.concat(out).toString(), `chunks of ${size}`).toBe(expected);
    }
  });
});
