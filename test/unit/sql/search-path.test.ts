import { describe, expect, it } from 'vitest';
import { defaultSchema, parseSearchPath, RelationNames } from '../../../proxy/sql/search-path.js';

describe('search_path', () => {
  it('splits the list as PostgreSQL reports it, folding unquoted names', () => {
    expect(parseSearchPath('"$user", public')).toEqual(['$user', 'public']);
    expect(parseSearchPath('App ,  "My ""Q"" Schema",x')).toEqual(['app', 'My "Q" Schema', 'x']);
    expect(parseSearchPath('"a,b", c')).toEqual(['a,b', 'c']);
    expect(parseSearchPath('')).toEqual([]);
    expect(parseSearchPath(' , ')).toEqual([]);
  });

  it('takes the first schema that is not $user, pg_catalog or pg_temp', () => {
    expect(defaultSchema('"$user", public', 'alice')).toBe('public');
    expect(defaultSchema('pg_temp, pg_catalog, app, public', 'alice')).toBe('app');
    expect(defaultSchema('"$user"', 'alice')).toBe('alice');
    expect(defaultSchema('', 'alice')).toBe('pg_catalog');
    expect(defaultSchema('pg_catalog', 'alice')).toBe('pg_catalog');
  });

  it('qualifies relation names: explicit schema, temporary, catalog, then the default', () => {
    const names = new RelationNames('app');
    expect(names.qualify('sales', 'orders')).toBe('sales.orders');
    expect(names.qualify(undefined, 'orders')).toBe('app.orders');
    expect(names.qualify(undefined, 'scratch', true)).toBe('pg_temp.scratch');
    expect(names.qualify(undefined, 'pg_authid')).toBe('pg_catalog.pg_authid');
    expect(names.qualify(undefined, 'pg_stat_statements')).toBe('app.pg_stat_statements'); // an extension's view
    expect(names.qualify(undefined, 'pg_my_table')).toBe('app.pg_my_table');
    expect(names.qualifyParts(['db', 'sales', 'orders'])).toBe('sales.orders');
    expect(names.qualifyParts([])).toBeUndefined();
  });
});
