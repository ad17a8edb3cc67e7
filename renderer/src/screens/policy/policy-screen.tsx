// PLACEHOLDER: this screen lands in this change.
export function PolicyScreen(_props: Record<string, unknown>) {
  return <p>PolicyScreen</p>;
}
