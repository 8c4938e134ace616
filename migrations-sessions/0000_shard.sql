-- A session shard (docs/sharding.md): the sessions, refresh tokens and session audit events of
-- the users assigned to it. The same columns as the main database's tables (src/db/schema.ts), so
-- the same queries serve both, but no foreign key to `users`: that table lives in the main
-- database. Apply with `wrangler d1 migrations apply SESSIONS_<n>` for every shard.
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`revoke_reason` text,
	`ip` text,
	`user_agent` text
);
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`,`revoked_at`);
CREATE TABLE `refresh_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`parent_id` text,
	`replaced_by` text,
	`created_at` integer NOT NULL,
	`used_at` integer,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
CREATE UNIQUE INDEX `refresh_tokens_hash_unique` ON `refresh_tokens` (`token_hash`);
CREATE INDEX `refresh_tokens_session_idx` ON `refresh_tokens` (`session_id`);
CREATE INDEX `refresh_tokens_expiry_idx` ON `refresh_tokens` (`expires_at`);
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`type` text NOT NULL,
	`user_id` text,
	`ip` text,
	`user_agent` text,
	`request_id` text,
	`detail` text NOT NULL
);
CREATE INDEX `audit_events_user_idx` ON `audit_events` (`user_id`,`id`);
CREATE INDEX `audit_events_type_idx` ON `audit_events` (`type`,`id`);
CREATE INDEX `audit_events_at_idx` ON `audit_events` (`at`);
