import type { ValueShape } from './masking-types.js';

// The shapes of PostgreSQL's built-in types, known without asking the catalog. OIDs below
// FirstNormalObjectId are fixed by pg_type.dat and never reused, so one table serves every
// server version; types created later (extensions such as citext, domains, user arrays) get
// OIDs from 16384 up and are the catalog's to describe.

/** PostgreSQL's FirstNormalObjectId: OIDs from here up belong to objects created after initdb. */
export const FIRST_NORMAL_OID = 16384;

const TEXT: ValueShape = { kind: 'text' };
const JSON_SHAPE: ValueShape = { kind: 'json' };
const JSONB: ValueShape = { kind: 'jsonb' };
const OTHER: ValueShape = { kind: 'other' };

/** Element types by OID (pg_type.dat). */
const ELEMENTS: ReadonlyMap<number, ValueShape> = new Map<number, ValueShape>([
  [25, TEXT], // text
  [1043, TEXT], // varchar
  [1042, TEXT], // bpchar
  [19, TEXT], // name
  [142, TEXT], // xml
  [705, TEXT], // unknown (an untyped literal, e.g. SELECT 'x')
  [114, JSON_SHAPE], // json
  [3802, JSONB], // jsonb
]);

/** Array types by OID and their element's OID (pg_type.dat `array_type_oid`). unknown has none. */
const ARRAYS: ReadonlyMap<number, ValueShape> = new Map<number, ValueShape>(
  (
    [
      [1009, 25], // _text
      [1015, 1043], // _varchar
      [1014, 1042], // _bpchar
      [1003, 19], // _name
      [143, 142], // _xml
      [199, 114], // _json
      [3807, 3802], // _jsonb
    ] as const
  ).map(([oid, elementOid]) => [oid, { kind: 'array', element: ELEMENTS.get(elementOid)!, elementOid }]),
);

/**
 * The shape of a built-in type: every OID below 16384 is answered (`other` for the types that
 * hold no text masking reaches); undefined for user types, which the catalog describes.
 */
export function builtinShape(typeOid: number): ValueShape | undefined {
  if (!(typeOid >= 0 && typeOid < FIRST_NORMAL_OID)) return undefined;
  return ELEMENTS.get(typeOid) ?? ARRAYS.get(typeOid) ?? OTHER;
}
