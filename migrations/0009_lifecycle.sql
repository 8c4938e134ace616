-- An email change's token is bound to the address asked for and to the account's address when
-- it was asked (src/lifecycle/email-change.ts). Purposes `email_change` and `invite` need no
-- schema change: `purpose` is free text.
ALTER TABLE `one_time_tokens` ADD `new_email` text;--> statement-breakpoint
ALTER TABLE `one_time_tokens` ADD `old_email` text;
