import type { IncomingMessage } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { BodyFields } from '../policy/http-request.js';
import { codingOf } from './content-coding.js';
import { headerValue } from './forward-headers.js';

// A request body the gateway holds: to read the fields a policy rule names, or to keep the exact
// bytes an approval is bound to. Held up to the resource's buffer_limit; past it the request is
// refused (413) rather than decided without its body.

export type HeldBody = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly received: number };

/** True when the request carries a body (a Content-Length above 0, or chunked framing). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads the whole body, up to `limit` bytes; past it stops reading and says so. */
export function readBody(req: IncomingMessage, limit: number): Promise<HeldBody> {
  const declared = req.headers['content-length'];
  // Refused before a byte is read when the caller says it is too large.
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ ok: false, received: 0 });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        req.pause();
        resolve({ ok: false, received });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ ok: true, bytes: Buffer.concat(chunks, received) });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (!req.complete) onError(new Error('the client went away while sending its request body'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const JSON_TYPE = /^(?:application\/(?:[\w.+-]+\+)?json|text\/json)$/;

/** What a held body tells policy about its fields. */
export function bodyFields(req: IncomingMessage, bytes: Buffer, limit: number): BodyFields {
  if (bytes.length === 0) return { kind: 'empty' };
  const type = (headerValue(req.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_TYPE.test(type)) return { kind: 'unknown', why: `the body is ${type || 'of no declared type'}, not JSON` };
  const coding = codingOf(headerValue(req.headers, 'content-encoding'));
  if (coding === null) return { kind: 'unknown', why: 'the body has a content-encoding the gateway cannot read' };
  let text: string;
  try {
    const decoded = coding === undefined ? bytes : inflate(coding, bytes, limit);
    text = decoded.toString('utf8');
  } catch {
    return { kind: 'unknown', why: `the ${coding} body cannot be decoded within the buffer limit` };
  }
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'unknown', why: 'the body is not valid JSON' };
  }
}

/** Decodes a request body; a body inflating past `limit` throws (a decompression bomb is not read). */
function inflate(coding: 'gzip' | 'deflate' | 'br', bytes: Buffer, limit: number): Buffer {
  const options = { maxOutputLength: limit };
  switch (coding) {
    case 'gzip':
      return gunzipSync(bytes, options);
    case 'br':
      return brotliDecompressSync(bytes, options);
    case 'deflate':
      try {
        return inflateSync(bytes, options);
      } catch {
        return inflateRawSync(bytes, options);
      }
  }
}
