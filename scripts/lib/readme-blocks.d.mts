export function quickStarts(path: string): Record<string, string>;
