import type { ApiError } from '../../../proxy/api/api-contract.js';

/** An API error as the user reads it: what failed and the gateway's words. */
export function ErrorBanner({ error, action }: { readonly error: ApiError | string; readonly action?: string }) {
  const message = typeof error === 'string' ? error : error.message;
  return (
    <div className="error-banner" role="alert">
      {action && <strong>{action}: </strong>}
      {message}
    </div>
  );
}
