// PLACEHOLDER: this screen lands in this change.
export function MaskingScreen(_props: Record<string, unknown>) {
  return <p>MaskingScreen</p>;
}
