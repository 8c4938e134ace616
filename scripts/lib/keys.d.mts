export function generateSigningKey(): Promise<Record<string, string> & { kid: string }>;
export function generateSecret(): string;
export const offlineEnv: Record<string, string>;
