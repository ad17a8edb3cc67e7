import type { Effect } from './explanation.js';
import { EFFECT_WORDS } from './policy-words.js';

// An effect is never told by colour alone: each has its own icon and word as well.

export function EffectIcon({ effect, size = 14 }: { readonly effect: Effect; readonly size?: number }) {
  return (
    <svg className="effect-icon" width={size} height={size} viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      {effect === 'allow' && <path d="M3 8.5l3.2 3.2L13 4.8" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />}
      {effect === 'approve' && (
        <g fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
          <circle cx="8" cy="8" r="6" />
          <path d="M8 4.6V8l2.4 1.6" />
        </g>
      )}
      {effect === 'deny' && (
        <g fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round">
          <circle cx="8" cy="8" r="6" />
          <path d="M3.8 12.2l8.4-8.4" />
        </g>
      )}
    </svg>
  );
}

export function EffectBadge({ effect }: { readonly effect: Effect }) {
  return (
    <span className={`effect-badge effect-${effect}`} data-effect={effect}>
      <EffectIcon effect={effect} size={12} />
      {EFFECT_WORDS[effect].badge}
    </span>
  );
}
