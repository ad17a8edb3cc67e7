// PLACEHOLDER: this screen lands in this change.
export function BundleScreen(_props: Record<string, unknown>) {
  return <p>BundleScreen</p>;
}
