/** A parameter value as the user wrote it, for error messages. */
export function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
