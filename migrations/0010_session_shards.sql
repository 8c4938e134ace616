ALTER TABLE `users` ADD `session_shard` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `last_session_id` text;