import { useMemo } from 'react';
import { sqlTokens } from './sql-tokens.js';

/** A statement, highlighted, wrapped and selectable; long statements scroll inside their box. */
export function SqlCode({ sql, className }: { readonly sql: string; readonly className?: string }) {
  const tokens = useMemo(() => sqlTokens(sql), [sql]);
  return (
    <pre className={`sql-code ${className ?? ''}`} data-testid="sql">
      <code>
        {tokens.map((token, index) =>
          token.kind === 'space' || token.kind === 'other' || token.kind === 'identifier' ? (
            token.text
          ) : (
            <span key={index} className={`sql-${token.kind}`}>
              {token.text}
            </span>
          ),
        )}
      </code>
    </pre>
  );
}
