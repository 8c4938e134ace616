export const MIN_SKELETON_LENGTH: number;
export function letters(lowered: string): string;
export function skeleton(lowered: string): string;
export function lookupForms(lowered: string): string[];
