export const LEGACY_KINDS: string[];
export function pythonHashes(password: string): Record<string, string>;
