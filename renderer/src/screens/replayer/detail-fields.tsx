import type { ReactNode } from 'react';

// The side panel's building blocks: a definition list of fields that leaves out what was not recorded.

export function EffectBadge({ effect }: { effect: string | undefined }) {
  if (!effect) return null;
  const label = effect === 'approve' ? 'needs approval' : effect;
  return <span className={`badge badge-${effect}`}>{label}</span>;
}

export function Fields({ children }: { children: ReactNode }) {
  return <dl className="fields">{children}</dl>;
}

/** A name and its value; nothing when the value was not recorded. */
export function Field({ name, children }: { name: string; children: ReactNode }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <div className="field">
      <dt>{name}</dt>
      <dd>{children}</dd>
    </div>
  );
}
