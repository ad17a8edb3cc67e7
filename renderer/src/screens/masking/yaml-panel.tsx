import { useEffect, useRef } from 'react';
import type { SectionYaml } from './section-yaml.js';

// The whole `masking:` section as it will be written, updated as the form changes; the rule
// open in the editor is marked. Read-only: the form is the one place rules are edited.

export function YamlPanel({ yaml, selected, file, dirty }: { readonly yaml: SectionYaml; readonly selected: number; readonly file: string; readonly dirty: boolean }) {
  const mark = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    // Keep the open rule in view inside the panel without scrolling the page.
    const node = mark.current;
    const box = node?.closest('pre');
    if (!node || !box) return;
    const top = node.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top + node.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - 16);
  }, [selected, yaml]);

  return (
    <section className="yaml-panel card" aria-labelledby="yaml-title">
      <header className="yaml-head">
        <h2 id="yaml-title">YAML</h2>
        <span className={dirty ? 'badge badge-warn' : 'badge'}>{dirty ? 'unsaved draft' : 'as saved'}</span>
      </header>
      <p className="muted yaml-file" title={file}>
        <code>{file}</code>
      </p>
      <pre className="yaml-code" aria-label="YAML of the masking section" tabIndex={0}>
        <span className="yaml-key">{yaml.head}</span>
        {yaml.rules.map((text, index) => (
          <span key={index} ref={index === selected ? mark : undefined} className={index === selected ? 'yaml-rule yaml-rule-selected' : 'yaml-rule'}>
            {text}
          </span>
        ))}
      </pre>
    </section>
  );
}
