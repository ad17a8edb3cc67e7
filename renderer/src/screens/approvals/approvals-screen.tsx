// PLACEHOLDER: this screen lands in this change.
export function ApprovalsScreen(_props: Record<string, unknown>) {
  return <p>ApprovalsScreen</p>;
}
