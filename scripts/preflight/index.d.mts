export type PreflightResult = {
  problems: string[];
  passed: string[];
  skipped: string[];
  notes: string[];
};
export function preflight(options: {
  root: string;
  envName: string;
  configPath?: string;
  env?: Record<string, string | undefined>;
  remote?: boolean;
  pendingMigrationsOk?: boolean;
}): Promise<PreflightResult>;

export type Secret = {
  name: string;
  required: (vars: Record<string, unknown>) => boolean;
  standIn: (vars: Record<string, unknown>) => string | Promise<string>;
};
export const SECRETS: Secret[];
export function requiredSecrets(vars: Record<string, unknown>): string[];

export function registrableDomain(host: string): string;
export function sameSite(a: string, b: string): boolean;

export function parseSecretList(stdout: string): string[];
export function parseMigrationsList(stdout: string): string[];
export function pendingMigrations(
  root: string,
  options: {
    envName?: string;
    configPath: string;
    env: Record<string, string | undefined>;
    where?: '--remote' | '--local';
  },
): Promise<string[]>;

export function loadConfigProblems(root: string, env: Record<string, unknown>): Promise<string[]>;
export const MIN_CPU_MS: number;
