CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`public_jwk` text,
	`private_sealed` text,
	`sealing_version` integer,
	`origin` text NOT NULL,
	`created_at` integer NOT NULL,
	`activates_at` integer NOT NULL,
	`retired_at` integer,
	`gone_at` integer,
	`removed` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_one_next` ON `signing_keys` (`state`) WHERE state = 'next';--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_one_current` ON `signing_keys` (`state`) WHERE state = 'current';