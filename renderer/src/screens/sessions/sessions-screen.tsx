// PLACEHOLDER: this screen lands in this change.
export function SessionsScreen(_props: Record<string, unknown>) {
  return <p>SessionsScreen</p>;
}
