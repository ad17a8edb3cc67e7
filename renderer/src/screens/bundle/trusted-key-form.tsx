import { useId, useState, type FormEvent } from 'react';
import { parsePublicKey, type Ed25519PublicJwk } from '../../../../proxy/common/checkpoint-verify.js';

// The gateway's public key, from someone who knows it (`sluice key show` on the gateway prints
// it): with it, a verified bundle also proves where it came from.

export function TrustedKeyForm({
  text,
  onText,
  trusted,
  busy,
  onVerify,
}: {
  /** Kept by the screen, so the key stays in the field while a bundle is checked again with it. */
  readonly text: string;
  readonly onText: (text: string) => void;
  readonly trusted: boolean;
  readonly busy: boolean;
  readonly onVerify: (key: Ed25519PublicJwk | undefined) => void;
}) {
  const id = useId();
  const [problem, setProblem] = useState<string | undefined>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === '') {
      setProblem("Paste the key line that 'sluice key show' prints on the gateway (sluice-ed25519:…)");
      return;
    }
    let key: Ed25519PublicJwk;
    try {
      key = parsePublicKey(text);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
      return;
    }
    setProblem(undefined);
    onVerify(key);
  };

  return (
    <form className="trusted-key card" onSubmit={submit} noValidate>
      <label htmlFor={`${id}-key`}>Trusted public key of the gateway {trusted ? '(in use)' : '(optional)'}</label>
      <div className="trusted-key-row">
        <input
          id={`${id}-key`}
          className="mono"
          value={text}
          spellCheck={false}
          autoComplete="off"
          placeholder="sluice-ed25519:…  (from 'sluice key show' on the gateway)"
          onChange={(event) => onText(event.target.value)}
          aria-invalid={problem !== undefined}
          {...(problem !== undefined && { 'aria-describedby': `${id}-problem` })}
        />
        <button type="submit" className="button button-primary" disabled={busy}>
          Verify with this key
        </button>
        {trusted && (
          <button
            type="button"
            className="button button-quiet"
            disabled={busy}
            onClick={() => {
              onText('');
              setProblem(undefined);
              onVerify(undefined);
            }}
          >
            Forget key
          </button>
        )}
      </div>
      {problem !== undefined && (
        <p className="field-error" id={`${id}-problem`} role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
