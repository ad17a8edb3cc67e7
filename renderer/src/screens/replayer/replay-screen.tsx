// PLACEHOLDER: this screen lands in this change.
export function ReplayScreen(_props: Record<string, unknown>) {
  return <p>ReplayScreen</p>;
}
