import { ApiFailure } from '../api/api-result.js';
import type { MaskingPreviewRequest } from '../api/api-contract.js';
import type { Identity } from '../identity/identity.js';
import type { CatalogCache } from '../masking/catalog-types.js';
import { previewMasking, type PreviewColumn, type PreviewResult } from '../masking/masking-preview.js';
import { denialMessage } from '../policy/gateway-decisions.js';
import { explainSql, type SqlClassifying } from '../policy/explain-sql.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { CatalogConnection } from '../postgres/catalog-connection.js';
import type { UpstreamTarget } from '../postgres/upstream-connect.js';

export interface PreviewDependencies {
  readonly policy: PolicyEngine;
  readonly classifier: SqlClassifying;
  readonly targets: ReadonlyMap<string, UpstreamTarget>;
  readonly catalogs: ReadonlyMap<string, CatalogCache>;
  readonly key: Buffer;
}

/**
 * `masking.preview`: a draft rule set over sample rows, or over the first rows of a live query.
 * The live query is the caller's own: policy must allow it for them as one SELECT, and it runs in
 * a read-only transaction on a connection of its own, through a cursor, so only `limit` rows are
 * ever fetched. Its columns are resolved to source columns as the gateway resolves results.
 */
export function maskingPreviewService(deps: PreviewDependencies): (request: MaskingPreviewRequest, caller: Identity) => Promise<PreviewResult> {
  return async (request, caller) => {
    const groups = request.groups ?? [];
    if (request.sample) return previewMasking({ rules: request.rules, groups, columns: request.sample.columns, rows: request.sample.rows }, deps.key);
    const query = request.query!;
    const target = deps.targets.get(query.resource);
    const catalog = deps.catalogs.get(query.resource);
    if (!target || !catalog || !deps.policy.resourcesFor(caller).includes(query.resource)) {
      throw new ApiFailure('not_found', `resource "${query.resource}" does not exist or you may not use it`);
    }
    const explanation = explainSql(deps.policy, deps.classifier, { identity: caller, resource: query.resource, sql: query.sql });
    const [only, ...more] = explanation.statements;
    if (!only || more.length > 0 || only.class.kind !== 'select') {
      throw new ApiFailure('invalid_input', explanation.statements.length === 0 ? denialMessage(explanation.decision) : 'a live preview runs exactly one SELECT');
    }
    if (explanation.decision.effect !== 'allow') {
      throw new ApiFailure('forbidden', `policy does not let you run this query: ${denialMessage(explanation.decision)}`);
    }
    // A newline after the caller's text, so a trailing `--` comment cannot swallow the FETCH.
    const connection = new CatalogConnection(target, { purpose: 'preview query' });
    let answer: Awaited<ReturnType<CatalogConnection['result']>>;
    try {
      // The side connection reads the catalog with search_path = pg_catalog; the caller's SQL gets the default back.
      answer = await connection.result(`BEGIN READ ONLY; SET LOCAL search_path TO DEFAULT; DECLARE sluice_preview NO SCROLL CURSOR FOR ${only.class.text}
; FETCH ${query.limit ?? 20} FROM sluice_preview; ROLLBACK`);
    } catch (error) {
      throw new ApiFailure('invalid_input', (error as Error).message);
    } finally {
      await connection.close();
    }
    await catalog.load([...new Set(answer.fields.filter((field) => field.tableOid !== 0).map((field) => field.tableOid))], []);
    const columns = answer.fields.map((field): PreviewColumn => {
      const origin = field.tableOid === 0 ? undefined : catalog.origin(field.tableOid, field.attnum);
      return { name: field.name, sources: origin?.sources.map((source) => `${source.schema}.${source.table}.${source.column}`) ?? [] };
    });
    return previewMasking({ rules: request.rules, groups, columns, rows: answer.rows }, deps.key);
  };
}
