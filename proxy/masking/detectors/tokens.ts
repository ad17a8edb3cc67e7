import type { Detector, DetectorMatch } from '../masking-types.js';
import { forEachAssignment, KeyNames } from './assignments.js';
import { isAsciiAlnum, isWordChar } from './chars.js';

// Credentials with a recognisable shape: JWTs, cloud and SaaS tokens. Each is found from a
// literal prefix with indexOf (much faster than a RegExp scan over every character), then read
// with a sticky RegExp at that position whose repetitions are all bounded.

interface TokenShape {
  /**
   * Literal strings a token starts with, each with its offset in the token: searching for
   * `yJ` (offset 1) rather than `eyJ` is several times faster, because indexOf stops at every
   * occurrence of the first character and `e` is everywhere in text.
   */
  readonly anchors: readonly (readonly [string, number])[];
  /** Matches the whole token at an anchor (sticky: `y`). */
  readonly shape: RegExp;
  /** A character before the anchor that would make it the tail of a longer token. */
  readonly joins: (c: number) => boolean;
  /** The token's end given the shape's match end, or -1 to reject. */
  readonly accept?: (text: string, start: number, end: number) => number;
}

function tokenDetector(name: string, token: TokenShape): Detector {
  const { anchors, shape, joins, accept } = token;
  return {
    name,
    find(text: string, out: DetectorMatch[]): void {
      for (let a = 0; a < anchors.length; a++) {
        const [anchor, offset] = anchors[a]!;
        let found = text.indexOf(anchor, offset);
        while (found >= 0) {
          const at = found - offset;
          let next = found + 1;
          if (at === 0 || !joins(text.charCodeAt(at - 1))) {
            shape.lastIndex = at;
            if (shape.test(text)) {
              const end = accept ? accept(text, at, shape.lastIndex) : shape.lastIndex;
              if (end > at) {
                out.push({ start: at, end, detector: name });
                next = end + offset;
              }
            }
          }
          found = text.indexOf(anchor, next);
        }
      }
    },
  };
}

const isBase64UrlChar = (c: number): boolean => isWordChar(c) || c === 45;

/**
 * JSON Web Tokens (and JWE): base64url segments joined by dots (header, payload, signature,
 * empty for `alg: none`, and two more for JWE) whose first segment decodes to a JSON object
 * with an `alg` member. A base64 blob that merely starts with `eyJ` is not one; a dot after the
 * last segment is punctuation.
 */
export const jwtDetector = tokenDetector('jwt', {
  anchors: [['yJ', 1]],
  shape: /eyJ[\w-]+\.[\w-]{2,}\.[\w-]*(?:\.[\w-]+){0,2}/y,
  joins: isBase64UrlChar,
  accept: (text, start, end) => (jwtHeaderValid(text.slice(start, text.indexOf('.', start))) ? end : -1),
});

// Verdicts on recent headers: the tokens in one result usually share a few headers (one issuer,
// one key), and decoding and parsing each again would cost more than the rest of the scan.
const headerVerdicts = new Map<string, boolean>();

function jwtHeaderValid(segment: string): boolean {
  let valid = headerVerdicts.get(segment);
  if (valid === undefined) {
    valid = decodesToJoseHeader(segment);
    if (headerVerdicts.size >= 64) headerVerdicts.clear();
    headerVerdicts.set(segment, valid);
  }
  return valid;
}

function decodesToJoseHeader(segment: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** AWS access key ids: a long-term (`AKIA`), temporary (`ASIA`) or other key type prefix and 16 more characters. */
export const awsAccessKeyIdDetector = tokenDetector('aws_access_key_id', {
  anchors: [['AKIA', 0], ['ASIA', 0], ['ABIA', 0], ['ACCA', 0]],
  shape: /A[A-Z]{3}[A-Z0-9]{16}(?![A-Za-z0-9])/y,
  joins: isAsciiAlnum,
});

const AWS_SECRET_KEYS = new KeyNames(['secret_access_key', 'secretaccesskey', 'secret-access-key']);
// Exactly 40 base64 characters, after an optional (maybe escaped) quote.
const AWS_SECRET_VALUE = /(?:\\?["'])?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/y;

/**
 * AWS secret access keys, which have no prefix: only a 40-character value assigned to a key
 * name (`aws_secret_access_key=`, `SecretAccessKey:`, `"secret_access_key": "..."`).
 */
export const awsSecretAccessKeyDetector: Detector = {
  name: 'aws_secret_access_key',
  find(text: string, out: DetectorMatch[]): void {
    forEachAssignment(text, AWS_SECRET_KEYS, readAwsSecret, out);
  },
};

function readAwsSecret(text: string, at: number, out: DetectorMatch[]): number {
  AWS_SECRET_VALUE.lastIndex = at;
  if (!AWS_SECRET_VALUE.test(text)) return at;
  const end = AWS_SECRET_VALUE.lastIndex;
  out.push({ start: end - 40, end, detector: 'aws_secret_access_key' });
  return end;
}

/** GitHub tokens: classic `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36 or more alphanumerics, and fine-grained `github_pat_` ones. */
export const githubTokenDetector = tokenDetector('github_token', {
  anchors: [['gh', 0], ['_pat_', 6]],
  shape: /g(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,244})(?![A-Za-z0-9_])/y,
  joins: isWordChar,
});

/**
 * GitLab tokens: personal (`glpat-`) and the other documented prefixes (OAuth secrets, deploy,
 * runner, CI job, trigger, feed, incoming mail, agent, SCIM, feature-flag tokens) + 20 or more
 * characters. A trailing dot is sentence punctuation, not token.
 */
export const gitlabTokenDetector = tokenDetector('gitlab_token', {
  anchors: [['gl', 0]],
  shape: /gl(?:pat|oas|dt|rt|cbt|ptt|ft|imt|agent|soat|ffct)-[\w-]{20}[\w.-]{0,235}/y,
  joins: isBase64UrlChar,
  accept: (text, start, end) => {
    while (text.charCodeAt(end - 1) === 46) end--;
    return end;
  },
});

/**
 * Slack tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxo-`, `xoxs-`, `xoxr-`, app-level `xapp-`) and
 * incoming-webhook URLs (`https://hooks.slack.com/services/...`, also workflows and triggers).
 */
export const slackTokenDetector = tokenDetector('slack_token', {
  anchors: [['xox', 0], ['xapp-', 0], ['//hooks.slack.com/', 6]],
  shape: /x(?:ox[abposr]-[A-Za-z0-9-]{10,250}|app-\d-[A-Za-z0-9-]{10,250})|https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{8,250}/y,
  joins: isBase64UrlChar,
  accept: (text, start, end) => {
    while (text.charCodeAt(end - 1) === 45 || text.charCodeAt(end - 1) === 47) end--;
    return end;
  },
});
