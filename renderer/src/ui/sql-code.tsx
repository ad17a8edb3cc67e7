import { useMemo } from 'react';
import { sqlTokens } from './sql-tokens.js';

/**
 * A statement, highlighted, wrapped and selectable; long statements scroll inside their box.
 * `plain`: the same box without SQL highlighting (an HTTP request line is not SQL).
 */
export function SqlCode({ sql, className, plain }: { readonly sql: string; readonly className?: string; readonly plain?: boolean }) {
  const tokens = useMemo(() => (plain ? [{ kind: 'other' as const, text: sql }] : sqlTokens(sql)), [sql, plain]);
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
