import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { JsonStreamMasker } from '../masking/json-stream-masker.js';
import type { MaskingProfile } from '../masking/masking-rules.js';
import type { ContentMasker } from '../masking/masking-types.js';
import { TextStreamMasker } from '../masking/text-stream-masker.js';
import { codingOf, type Coding } from './content-coding.js';
import type { ByteScrubber } from './credential-scrubber.js';
import { refusal, type Refusal } from './gateway-errors.js';
import { headerValue } from './forward-headers.js';
import type { BodySample } from './http-record.js';
import type { HttpResource } from './http-resources.js';

// What happens to a response body on its way to the caller, chosen from its headers:
//   json    JSON (application/json, +json, ndjson): json_paths rules and detectors on every string
//   text    text/*, XML, form data, and bodies of no declared type: detectors, a line run at a time
//   binary  anything else: refused for a caller masking rules apply to (it cannot be masked),
//           unless the resource lists its type in pass_content_types
// Compressed bodies are decoded first and encoded again after. The gateway's own credential is
// scrubbed from every body it can read, masking or not.

export type BodyKind = 'json' | 'text' | 'binary';

const NO_DETECTORS: ContentMasker = { empty: true, mask: () => undefined };

export interface ResponsePlan {
  /** The body is rewritten: its length, digests and validators change. */
  readonly rewrite: boolean;
  readonly kind: BodyKind;
  readonly contentType: string | undefined;
  /** The coding to decode and encode again (undefined: identity). */
  readonly coding: Coding | undefined;
  /** Masking applies (not only the credential scrub). */
  readonly masked: boolean;
  readonly encoding: 'utf8' | 'latin1';
}

const JSON_TYPE = /^(?:application\/(?:[\w.+-]+\+)?json|text\/json|application\/(?:x-)?ndjson|application\/jsonl(?:ines)?|application\/json-seq)$/;
const TEXT_TYPE = /^(?:text\/[\w.+-]+|application\/(?:[\w.+-]+\+)?xml|application\/(?:x-www-form-urlencoded|javascript|ecmascript|x-javascript|graphql|yaml|x-yaml|csv|sql|x-sh|problem\+xml)|image\/svg\+xml)$/;
const LATIN1_CHARSETS = new Set(['iso-8859-1', 'latin1', 'l1', 'iso_8859-1', 'windows-1252', 'cp1252', 'us-ascii', 'ascii']);

/** How the body of this upstream response reaches the caller, or the refusal when it cannot be masked. */
export function planResponse(upstream: IncomingMessage, profile: MaskingProfile, resource: HttpResource): ResponsePlan | Refusal {
  const header = headerValue(upstream.headers, 'content-type');
  const [type, ...params] = (header ?? '').split(';');
  const contentType = type!.trim().toLowerCase() || undefined;
  const charset = params
    .map((param) => /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(param)?.[1]?.toLowerCase())
    .find((value) => value !== undefined);
  const kind: BodyKind = contentType === undefined ? 'text' : JSON_TYPE.test(contentType) ? 'json' : TEXT_TYPE.test(contentType) ? 'text' : 'binary';
  const masked = !profile.content.empty || profile.jsonPaths !== undefined;
  const scrub = !resource.scrubber.empty;
  const coding = codingOf(headerValue(upstream.headers, 'content-encoding'));
  const passed = kind === 'binary' && contentType !== undefined && resource.passContentType(contentType);
  const encoding = kind === 'text' && (contentType === undefined || (charset !== undefined && LATIN1_CHARSETS.has(charset))) ? 'latin1' : 'utf8';
  if (masked && kind === 'binary' && !passed) {
    return refusal(
      502,
      'unmaskable_response',
      `the upstream of ${resource.name} answered with ${contentType}, which Sluice cannot mask, and masking rules apply to you; an administrator can list the type in pass_content_types of the resource if it never holds data to mask`,
    );
  }
  if (masked && kind !== 'binary' && charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && !LATIN1_CHARSETS.has(charset)) {
    return refusal(502, 'unmaskable_response', `the upstream of ${resource.name} answered in charset ${charset}, which Sluice cannot mask; ask for UTF-8 (Accept-Charset: utf-8)`);
  }
  const rewrite = (masked && !passed) || scrub;
  if (rewrite && coding === null) {
    return refusal(502, 'unmaskable_response', `the upstream of ${resource.name} answered with content-encoding ${headerValue(upstream.headers, 'content-encoding') ?? '?'}, which Sluice cannot decode to check it`);
  }
  return { rewrite, kind, contentType, coding: coding ?? undefined, masked: masked && !passed, encoding };
}

/**
 * Masks, scrubs and samples a decoded body, chunk by chunk. Throws (JsonMaskError) for a body that
 * cannot be masked: the caller fails closed.
 */
export class BodyRewriter {
  readonly #masker: { write(chunk: Buffer): Buffer[]; end(): Buffer[] } | undefined;
  readonly #scrubber: ByteScrubber | undefined;
  readonly #sample: BodySample;

  /** `scrub.bytes`: the credential's forms, found in the bytes; `scrub.escaped`: found in JSON strings written with escapes. */
  constructor(plan: ResponsePlan, profile: MaskingProfile, hits: Map<string, number>, sample: BodySample, scrub?: { readonly bytes: ByteScrubber; readonly escaped: (text: string) => string | undefined }) {
    this.#scrubber = scrub?.bytes;
    this.#sample = sample;
    if (plan.kind === 'json' && (plan.masked || scrub)) {
      this.#masker = new JsonStreamMasker({
        ...(plan.masked && profile.jsonPaths ? { paths: profile.jsonPaths } : {}),
        content: plan.masked ? profile.content : NO_DETECTORS,
        hits,
        ...(scrub ? { scrubEscaped: scrub.escaped } : {}),
      });
    } else if (plan.kind === 'text' && plan.masked) {
      this.#masker = new TextStreamMasker({ content: profile.content, hits, encoding: plan.encoding });
    }
  }

  /** The bytes to send for this chunk (undefined: none yet). */
  write(chunk: Buffer): Buffer | undefined {
    return this.#emit(this.#masker ? this.#masker.write(chunk) : [chunk], false);
  }

  /** The body ended: the last bytes to send. */
  end(): Buffer | undefined {
    return this.#emit(this.#masker ? this.#masker.end() : [], true);
  }

  #emit(pieces: Buffer[], last: boolean): Buffer | undefined {
    let out = pieces;
    if (this.#scrubber) {
      out = out.flatMap((piece) => this.#scrubber!.write(piece));
      if (last) out.push(...this.#scrubber.end());
    }
    if (out.length === 0) return undefined;
    // One write per chunk received: many small writes would each be a chunk on the wire.
    const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
    if (bytes.length === 0) return undefined;
    this.#sample.add(bytes);
    return bytes;
  }
}

/** A BodyRewriter as a stream stage (between a decoder and an encoder). */
export function rewritingStream(rewriter: BodyRewriter): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        callback(null, rewriter.write(chunk));
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        callback(null, rewriter.end());
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
